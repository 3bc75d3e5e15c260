/**
 * What does the proxy cost the event loop of the process it runs in? In Electron, the main
 * process's loop is also the browser's UI thread: window moves, menus, the tray and IPC wait on it.
 * This runs the same download four ways and reports this process's loop delay
 * (perf_hooks.monitorEventLoopDelay) and utilisation (the share of time the loop was busy):
 *
 * - idle: the host and proxy in this process, listening, no traffic;
 * - in-process http / https: a SluiceHost in this process forwards the download, with one feed
 *   whose batches are structured-cloned, as an IPC send would (the "host in the main process" design);
 * - child-process http / https: the same download through the real CLI in a child process, as a
 *   utility process would run it; this process only watches its own loop. (The CLI has no event
 *   listener here, so its MB/s is not comparable with the in-process rows; its loop is what counts.)
 *
 *   npm run build && node dist/bench/event-loop-lag.js
 *
 * Knobs (environment): LAG_BODY_MIB (default 1024), LAG_IDLE_MS (3000). The upstream and the
 * client are child processes, so their work lands on this loop in neither design.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SluiceHost } from '../main/host/sluice-host.js';
import { fillerPath } from './body-source.js';
import { NodeChild, stopAllChildren } from './children.js';
import { countBody, expectStatus, get, type Scheme, type Upstream } from './clients.js';
import { fixed } from './report.js';
import { startSluice } from './sluice-process.js';
import { megabytesPerSecond, MiB } from './stats.js';
import { makeUpstreamCredentials, startBulkUpstream } from './upstream.js';
import { errorMessage } from '../app/error-message.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const THIS_SCRIPT = fileURLToPath(import.meta.url);
const UPSTREAM_SCRIPT = fileURLToPath(new URL('./upstream-server.js', import.meta.url));
const CLI = join(ROOT, 'bin', 'sluice.js');
/** Sampling period of the delay monitor; each sample is at least this long, so it is the floor. */
const RESOLUTION_MS = 1;
const TRANSFER_TIMEOUT_MS = 300_000;

interface ClientJob {
  readonly proxyPort: number;
  readonly caPem: string;
  readonly upstream: Upstream;
  readonly scheme: Scheme;
  readonly bytes: number;
}

interface LoopReport {
  readonly scenario: string;
  readonly megabytesPerSecond: number | undefined;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Share of wall time this process's loop was busy, 0..1. */
  readonly utilisation: number;
}

/** Watches this process's loop while `work` runs. */
async function watchLoop<T>(work: () => Promise<T>): Promise<{ result: T; loop: Omit<LoopReport, 'scenario'> }> {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const eluBefore: EventLoopUtilization = performance.eventLoopUtilization();
  histogram.enable();
  const result = await work();
  histogram.disable();
  const elu = performance.eventLoopUtilization(eluBefore);
  const ms = (ns: number): number => ns / 1e6;
  return {
    result,
    loop: {
      megabytesPerSecond: undefined,
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      utilisation: elu.utilization,
    },
  };
}

/** Runs one download in a child process (this script with --client) and waits for its result. */
async function downloadInChild(job: ClientJob): Promise<number> {
  const child = new NodeChild(THIS_SCRIPT, ['--client', JSON.stringify(job)]);
  const line = await child.waitForLine(/^\{"megabytesPerSecond":.*\}$/, TRANSFER_TIMEOUT_MS);
  await child.stop();
  return (JSON.parse(line[0]) as { megabytesPerSecond: number }).megabytesPerSecond;
}

async function runClient(job: ClientJob): Promise<void> {
  const started = performance.now();
  const res = await get(
    { via: 'proxy', port: job.proxyPort, caPem: job.caPem },
    job.upstream,
    job.scheme,
    fillerPath(job.bytes, 'length'),
  );
  expectStatus(res, `${job.scheme} via proxy`);
  const received = await countBody(res, TRANSFER_TIMEOUT_MS);
  if (received !== job.bytes) throw new Error(`got ${received} of ${job.bytes} bytes`);
  process.stdout.write(
    `${JSON.stringify({ megabytesPerSecond: megabytesPerSecond(received, performance.now() - started) })}\n`,
  );
}

async function main(): Promise<void> {
  const bytes = Number(process.env['LAG_BODY_MIB'] ?? 1024) * MiB;
  const idleMs = Number(process.env['LAG_IDLE_MS'] ?? 3000);
  const work = await mkdtemp(join(tmpdir(), 'sluice-lag-'));
  const reports: LoopReport[] = [];
  try {
    const credentials = await makeUpstreamCredentials(join(work, 'upstream-ca'));
    const { upstream } = await startBulkUpstream(UPSTREAM_SCRIPT, credentials);

    const host = await SluiceHost.create({
      dataDir: join(work, 'in-process'),
      upstreamCaPems: [credentials.caPem],
      overrides: { proxyPort: 0 },
    });
    // What the main-process design would do per window: clone each batch for IPC.
    const closeFeed = host.openFeed({ send: (batch) => void structuredClone(batch) });
    const status = await host.call('proxy.start', {});
    const { certPem } = await host.call('ca.get', {});

    const idle = await watchLoop(() => new Promise((resolve) => setTimeout(resolve, idleMs)));
    reports.push({ scenario: 'idle (host in this process)', ...idle.loop });
    for (const scheme of ['http', 'https'] as const) {
      process.stderr.write(`in-process ${scheme}...\n`);
      const run = await watchLoop(() =>
        downloadInChild({ proxyPort: status.port, caPem: certPem, upstream, scheme, bytes }),
      );
      reports.push({ scenario: `in-process ${scheme}`, ...run.loop, megabytesPerSecond: run.result });
    }
    closeFeed();
    await host.close();

    const sluice = await startSluice({
      cliPath: CLI,
      dataDir: join(work, 'child'),
      upstreamCaFile: credentials.caFile,
      tmpDir: work,
      events: false,
    });
    for (const scheme of ['http', 'https'] as const) {
      process.stderr.write(`child-process ${scheme}...\n`);
      const run = await watchLoop(() =>
        downloadInChild({ proxyPort: sluice.port, caPem: sluice.caPem, upstream, scheme, bytes }),
      );
      reports.push({ scenario: `child-process ${scheme}`, ...run.loop, megabytesPerSecond: run.result });
    }
  } finally {
    await stopAllChildren();
    await rm(work, { recursive: true, force: true });
  }
  printReports(reports, bytes);
}

function printReports(reports: readonly LoopReport[], bytes: number): void {
  const header = ['scenario', 'MB/s', 'delay p50 ms', 'p99 ms', 'max ms', 'loop busy'];
  const rows = reports.map((r) => [
    r.scenario,
    r.megabytesPerSecond === undefined ? '—' : fixed(r.megabytesPerSecond, 0),
    fixed(r.p50Ms, 2),
    fixed(r.p99Ms, 2),
    fixed(r.maxMs, 2),
    `${fixed(r.utilisation * 100, 0)}%`,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `Event-loop delay of this process, ${fixed(bytes / MiB, 0)} MiB per download, sampled every ${RESOLUTION_MS} ms\n`,
  );
  process.stdout.write(
    `${[line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`,
  );
}

const fail = (err: unknown): void => {
  process.stderr.write(`event-loop-lag: ${errorMessage(err)}\n`);
  process.exitCode = 1;
};
if (process.argv[2] === '--client') runClient(JSON.parse(process.argv[3] ?? '{}') as ClientJob).catch(fail);
else main().catch(fail);
