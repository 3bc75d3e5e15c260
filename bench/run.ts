/**
 * Sluice benchmark: direct vs through the proxy, in one run, reported as ratios to direct (the
 * machine's noise moves both sides alike, so the ratio is what compares across machines).
 *
 *   npm run bench        (builds, then runs dist/bench/run.js)
 *
 * Processes: the proxy is the real CLI (bin/sluice.js) in a child process, the bulk upstream
 * (HTTP/1.1, HTTPS and HTTP/2) is another child (upstream-server.js), and the client is this
 * process; none shares an event loop with another. The SSE upstream alone lives here, because
 * its event stamps and the client's arrival times must come from the same monotonic clock. The
 * h2 rows and the slow-client, streams, requests and exchanges sections each start a fresh proxy
 * of their own; for streams and requests it carries loop-delay-probe.js (node --import), which reports the
 * proxy's event-loop delay without the proxy's code knowing.
 *
 * Knobs (environment): BENCH_BODY_MIB (default 1024), BENCH_REPEATS (2), BENCH_SLOW_MIB (64),
 * BENCH_H2_STREAMS (HTTP/2 concurrent streams per row, comma list, "1,100"), BENCH_STREAMS (concurrent SSE streams per case, comma list, "300,1000"), BENCH_STREAM_EVENTS
 * (events per stream, 40), BENCH_REQUESTS (small requests per run, 20000), BENCH_EXCHANGES
 * (exchanges for the memory row, 200000), BENCH_ONLY (comma list of
 * throughput,h2,sse,handshake,slow,streams,requests,exchanges,spill), BENCH_PROXY_NODE_ARGS (extra node
 * flags for the proxy, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_PROXY_BARE=1 (start the
 * proxy without the node flags on bin/sluice.js's first line, which it otherwise runs with, as
 * `sluice` does).
 * Results: a table on stdout and .bench/results.json; progress on stderr.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Framing } from './body-source.js';
import { NodeChild, stopAllChildren } from './children.js';
import type { FloorRoute, Route, Scheme, Upstream } from './clients.js';
import { measureH2Throughput, h2Shapes, type H2Shape, type H2ThroughputResult } from './h2-throughput.js';
import { measureExchangeMemory, type ExchangeMemoryResult } from './exchange-memory.js';
import { measureConcurrentH1, type ConcurrentH1Result } from './h1-concurrent.js';
import { measureHandshakes, type HandshakeResult } from './handshake.js';
import { exchangeMemoryRows, requestRateRows, streamsRows } from './load-rows.js';
import { fixed, formatTable, mebibytes, NONE, type Row } from './report.js';
import { readPeakRss } from './proc.js';
import { measureRequestRate, type RequestRateResult, type RequestRun } from './request-rate.js';
import { measureSlowClient, type SlowClientResult } from './slow-client.js';
import { startSluice, type SluiceProcess } from './sluice-process.js';
import { measureSpillCost, type SpillCost, type SpillShape } from './spill-cost.js';
import { measureSseLatency, type SseLatencyResult } from './sse-latency.js';
import { measureSseStreams, type StreamsResult } from './sse-streams.js';
import { startSseUpstream } from './sse-upstream.js';
import { MiB } from './stats.js';
import { TARGETS, verdict } from './targets.js';
import {
  measureRelayFloor,
  measureThroughput,
  proxyCpuPerGiB,
  type Pids,
  type RelayFloor,
  type ThroughputResult,
  type Way,
  type TransferRun,
} from './throughput.js';
import { makeUpstreamCredentials, startBulkUpstream, type BulkUpstream, type UpstreamCredentials } from './upstream.js';
import { errorMessage } from '../app/error-message.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'sluice.js');
const UPSTREAM_SCRIPT = fileURLToPath(new URL('./upstream-server.js', import.meta.url));
const RELAY_SCRIPT = fileURLToPath(new URL('./minimal-relay.js', import.meta.url));
const RESULTS_FILE = join(ROOT, '.bench', 'results.json');

const SECTIONS = ['throughput', 'h2', 'sse', 'handshake', 'slow', 'streams', 'requests', 'exchanges', 'spill'] as const;
type Section = (typeof SECTIONS)[number];
/** The sections measured on the one long-lived proxy; the others start their own. */
const SHARED_PROXY_SECTIONS: readonly Section[] = ['throughput', 'sse', 'handshake'];

interface Config {
  readonly bodyBytes: number;
  readonly repeats: number;
  readonly slowBytes: number;
  /** Concurrent streams on one HTTP/2 connection, sharing BENCH_BODY_MIB between them. */
  readonly h2Streams: readonly number[];
  readonly sseEvents: number;
  readonly sseIntervalMs: number;
  readonly handshakeSamples: number;
  /** Concurrent SSE streams, one connection each, per streams case. */
  readonly streamCounts: number[];
  readonly streamSchemes: Scheme[];
  readonly streamEvents: number;
  readonly streamIntervalMs: number;
  readonly requests: number;
  readonly requestConnections: number;
  readonly exchanges: number;
  readonly exchangeConnections: number;
  readonly sections: ReadonlySet<Section>;
  readonly proxyNodeArgs: string[];
  readonly proxyBare: boolean;
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const positive = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const positiveList = (name: string, fallback: string): number[] => {
    const values = (env[name] ?? fallback).split(',').map((s) => Number(s.trim()));
    if (values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`${name} must list positive integers`);
    return values;
  };
  const only = env.BENCH_ONLY?.split(',').map((s) => s.trim()) ?? [...SECTIONS];
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown section(s) ${unknown.join(', ')}`);
  return {
    bodyBytes: positive('BENCH_BODY_MIB', 1024) * MiB,
    repeats: positive('BENCH_REPEATS', 2),
    slowBytes: positive('BENCH_SLOW_MIB', 64) * MiB,
    h2Streams: positiveList('BENCH_H2_STREAMS', '1,100'),
    sseEvents: 500,
    sseIntervalMs: 5,
    handshakeSamples: 20,
    streamCounts: positiveList('BENCH_STREAMS', '300,1000'),
    streamSchemes: ['http', 'https'],
    streamEvents: positive('BENCH_STREAM_EVENTS', 40),
    streamIntervalMs: 100,
    requests: positive('BENCH_REQUESTS', 20_000),
    requestConnections: 20,
    exchanges: positive('BENCH_EXCHANGES', 200_000),
    exchangeConnections: 50,
    sections: new Set(only as Section[]),
    proxyNodeArgs: env.BENCH_PROXY_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
    proxyBare: env.BENCH_PROXY_BARE === '1',
  };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface Results {
  throughput: ThroughputResult[];
  /** The same cases through a relay that only pipes: the CPU floor Node allows. */
  relayFloor: RelayFloor[];
  /** Of the downloads, read before any upload. */
  peakRss: { sampledBytes: number; kernelHighWaterBytes: number } | undefined;
  /** Of the uploads, which Node's server reads (a fresh 64 KiB buffer per read). */
  uploadPeakRssBytes: number | undefined;
  h2: H2ThroughputResult[];
  /** The same HTTP/2 shapes through the minimal relay: the floor Node's http2 allows. */
  h2Floor: H2ThroughputResult[];
  /** Shapes of many streams as HTTP/1.1 over TLS: the same bodies, a connection each. */
  h2AsH1: ConcurrentH1Result[];
  sse: SseLatencyResult[];
  handshake: HandshakeResult | undefined;
  slowClient: SlowClientResult[];
  streams: StreamsResult[];
  requestRate: RequestRateResult[];
  exchangeMemory: ExchangeMemoryResult | undefined;
  spill: SpillCost[];
  failures: Failure[];
}

/** Everything this run made, so it can all be undone on the way out whatever happened. */
class Workspace {
  private constructor(readonly path: string) {}

  static async create(): Promise<Workspace> {
    return new Workspace(await mkdtemp(join(tmpdir(), 'sluice-bench-')));
  }

  /** Where a proxy keeps its CA, and its TMPDIR (spill files): inside our folder, so removed with it. */
  async proxyDirs(name: string): Promise<{ dataDir: string; tmpDir: string }> {
    const tmpDir = join(this.path, `${name}-tmp`);
    await mkdir(tmpDir, { recursive: true });
    return { dataDir: join(this.path, 'proxy-data'), tmpDir };
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

interface ProxyKind {
  /** Print NDJSON events (the slow-client rows count its backpressure pauses). */
  readonly events: boolean;
  /** Carry loop-delay-probe.js, for the rows that report the proxy's event-loop delay. */
  readonly loopProbe: boolean;
}

async function launchSluice(
  workspace: Workspace,
  credentials: UpstreamCredentials,
  config: Config,
  kind: ProxyKind,
): Promise<SluiceProcess> {
  const dirs = await workspace.proxyDirs(kind.events ? 'proxy-events' : 'proxy');
  return startSluice({
    cliPath: CLI,
    ...dirs,
    upstreamCaFile: credentials.caFile,
    events: kind.events,
    loopProbe: kind.loopProbe,
    nodeArgs: config.proxyNodeArgs,
    bare: config.proxyBare,
  });
}

/** Runs `measure` against a proxy started for it alone, stopped afterwards whatever happened. */
async function withFreshSluice<T>(
  workspace: Workspace,
  credentials: UpstreamCredentials,
  config: Config,
  kind: ProxyKind,
  measure: (sluice: SluiceProcess) => Promise<T>,
): Promise<T> {
  const sluice = await launchSluice(workspace, credentials, config, kind);
  try {
    return await measure(sluice);
  } finally {
    await sluice.child.stop();
  }
}

/** A measurement that could not be made; the run goes on and the table says why. */
interface Failure {
  readonly measure: string;
  readonly error: string;
}

/** Runs one measurement; a failure is recorded, not thrown, so one broken path does not hide the rest. */
async function attempt<T>(failures: Failure[], measure: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    const error = errorMessage(err);
    failures.push({ measure, error });
    progress(`${measure} FAILED: ${error}`);
    return undefined;
  }
}

function describeRuns(runs: readonly TransferRun[]): string {
  const speeds = runs.map((r) => fixed(r.megabytesPerSecond, 0)).join('/');
  const cpu = runs.map(({ cpuSeconds: c }) => `${fixed(c.client)}/${fixed(c.upstream)}/${fixed(c.proxy)}`).join(', ');
  return `${speeds} MB/s (CPU s client/upstream/proxy ${cpu})`;
}

const THROUGHPUT_CASES: readonly (readonly [Scheme, Framing, Way])[] = [
  ['http', 'length', 'download'],
  ['http', 'chunked', 'download'],
  ['https', 'length', 'download'],
  ['https', 'chunked', 'download'],
  ['http', 'length', 'upload'],
  ['http', 'chunked', 'upload'],
  ['https', 'length', 'upload'],
  ['https', 'chunked', 'upload'],
];

async function runThroughput(
  config: Config,
  results: Results,
  sluice: SluiceProcess,
  bulk: BulkUpstream,
): Promise<void> {
  const route = proxyRoute(sluice);
  const { upstream } = bulk;
  const pids: Pids = { proxy: sluice.pid, upstream: bulk.child.pid };
  const peakOf = (way: Way): number | undefined => {
    const runs = results.throughput.filter((r) => r.way === way);
    return runs.length > 0 ? Math.max(...runs.map((r) => r.proxyPeakRssBytes)) : undefined;
  };
  for (const [scheme, framing, way] of THROUGHPUT_CASES) {
    if (way === 'upload' && results.peakRss === undefined) {
      const sampledBytes = peakOf('download');
      if (sampledBytes !== undefined) {
        results.peakRss = { sampledBytes, kernelHighWaterBytes: await readPeakRss(sluice.pid) };
      }
    }
    const measure = `throughput ${scheme} ${framing}${way === 'upload' ? ' upload' : ''}`;
    const result = await attempt(results.failures, measure, () =>
      measureThroughput(route, pids, upstream, scheme, framing, way, config.bodyBytes, config.repeats),
    );
    if (!result) continue;
    results.throughput.push(result);
    progress(`${measure}: direct ${describeRuns(result.directRuns)}; via Sluice ${describeRuns(result.proxyRuns)}`);
  }
  results.uploadPeakRssBytes = peakOf('upload');
}

/**
 * Runs `measure` through a minimal relay started for it, stopped afterwards whatever happened;
 * `parseTls`: it parses the HTTP/1.1 requests inside TLS, as it does outside (see minimal-relay.ts).
 */
async function withMinimalRelay<T>(
  credentials: UpstreamCredentials,
  measure: (route: Route & { via: 'proxy' }, relayPid: number) => Promise<T>,
  parseTls = false,
): Promise<T> {
  const relay = new NodeChild(RELAY_SCRIPT, [
    credentials.keyFile,
    credentials.certFile,
    credentials.caFile,
    ...(parseTls ? ['parse-tls'] : []),
  ]);
  try {
    const port = Number((await relay.waitForLine(/^relay: (\d+)$/, 30_000))[1]);
    // The relay presents the upstream's own certificate, so the client trusts the upstream's CA.
    return await measure({ via: 'proxy', port, caPem: credentials.caPem }, relay.pid);
  } finally {
    await relay.stop();
  }
}

/** The throughput cases again through the minimal relay, for its CPU per GiB. */
async function runRelayFloor(
  config: Config,
  results: Results,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
): Promise<void> {
  await withMinimalRelay(credentials, async (route, relayPid) => {
    const pids: Pids = { proxy: relayPid, upstream: bulk.child.pid };
    for (const [scheme, framing, way] of THROUGHPUT_CASES) {
      const measure = `minimal relay ${scheme} ${framing}${way === 'upload' ? ' upload' : ''}`;
      const floor = await attempt(results.failures, measure, () =>
        measureRelayFloor(route, pids, bulk.upstream, scheme, framing, way, config.bodyBytes, config.repeats),
      );
      if (!floor) continue;
      results.relayFloor.push(floor);
      progress(`${measure}: ${fixed(floor.megabytesPerSecond, 0)} MB/s, ${fixed(floor.cpuSecondsPerGiB, 2)} CPU s/GiB`);
    }
  });
}

function h2ShapeLabel(shape: H2Shape): string {
  if (shape.streams === 1) return `1 stream, ${mebibytes(shape.bytesPerStream)} MiB`;
  return `${shape.streams} streams x ${mebibytes(shape.bytesPerStream)} MiB on one connection`;
}

/**
 * A fresh proxy per shape: its peak RSS is then what HTTP/2 streams cost, not what the gigabytes
 * of an earlier section left in the heap and the allocator (30-60 MiB when they ran first).
 */
async function runH2(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
): Promise<void> {
  for (const shape of h2Shapes(config.bodyBytes, config.h2Streams)) {
    const measure = `h2 ${h2ShapeLabel(shape)}`;
    const result = await attempt(results.failures, measure, () =>
      withFreshSluice(workspace, credentials, config, { events: false, loopProbe: false }, (sluice) => {
        const pids: Pids = { proxy: sluice.pid, upstream: bulk.child.pid };
        return measureH2Throughput(proxyRoute(sluice), pids, bulk.h2, shape, config.repeats);
      }),
    );
    if (result) {
      results.h2.push(result);
      progressH2(measure, result, 'Sluice');
    }
    const floor = await attempt(results.failures, `${measure}, minimal relay`, () =>
      withMinimalRelay(credentials, (route, relayPid) =>
        measureH2Throughput(route, { proxy: relayPid, upstream: bulk.child.pid }, bulk.h2, shape, config.repeats),
      ),
    );
    if (floor) {
      results.h2Floor.push(floor);
      progressH2(measure, floor, 'the minimal relay');
    }
    if (shape.streams > 1) await runH2AsH1(config, results, workspace, credentials, bulk, shape);
  }
}

/** The HTTP/2 shape's bodies over HTTP/1.1 and TLS, a connection each, in a fresh proxy of its own. */
async function runH2AsH1(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
  shape: H2Shape,
): Promise<void> {
  const measure = h2AsH1Label(shape);
  const result = await attempt(results.failures, measure, () =>
    withFreshSluice(workspace, credentials, config, { events: false, loopProbe: false }, (sluice) => {
      const pids: Pids = { proxy: sluice.pid, upstream: bulk.child.pid };
      return measureConcurrentH1(proxyRoute(sluice), pids, bulk.upstream, shape, config.repeats);
    }),
  );
  if (!result) return;
  results.h2AsH1.push(result);
  progress(`${measure}: direct ${describeRuns(result.directRuns)}; via Sluice ${describeRuns(result.proxied.runs)}`);
}

function h2AsH1Label(shape: H2Shape): string {
  return `https (HTTP/1.1) ${shape.streams} bodies x ${mebibytes(shape.bytesPerStream)} MiB, a connection each`;
}

function progressH2(measure: string, result: H2ThroughputResult, via: string): void {
  const { proxied } = result;
  const runs = 'unavailable' in proxied ? proxied.unavailable : describeRuns(proxied.runs);
  progress(`${measure}: direct ${describeRuns(result.directRuns)}; via ${via} ${runs}`);
}

async function runSse(
  config: Config,
  results: Results,
  sluice: SluiceProcess,
  credentials: UpstreamCredentials,
): Promise<void> {
  const sseUpstream = await startSseUpstream(credentials);
  try {
    for (const scheme of ['http', 'https'] as const) {
      const result = await attempt(results.failures, `SSE latency ${scheme}`, () =>
        measureSseLatency(proxyRoute(sluice), sseUpstream.upstream, scheme, config.sseEvents, config.sseIntervalMs),
      );
      if (!result) continue;
      results.sse.push(result);
      progress(`SSE ${scheme}: added p50 ${fixed(result.added.p50, 3)} ms, p99 ${fixed(result.added.p99, 3)} ms`);
    }
  } finally {
    await sseUpstream.close();
  }
}

/**
 * A fresh proxy per scheme, no warm-up: the baseline is the proxy as it started, so whatever a
 * first slow download costs it (first-use costs included) counts as growth, as a user would see.
 */
async function runSlowClient(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  upstream: Upstream,
): Promise<void> {
  for (const scheme of ['http', 'https'] as const) {
    const measure = `slow client ${scheme}`;
    // A proxy printing NDJSON events: its backpressure-paused lines are what we count.
    const result = await attempt(results.failures, measure, () =>
      withFreshSluice(workspace, credentials, config, { events: true, loopProbe: false }, (sluice) =>
        measureSlowClient(sluice, upstream, scheme, config.slowBytes),
      ),
    );
    if (!result) continue;
    results.slowClient.push(result);
    progress(
      `${measure}: RSS ${mebibytes(result.rssBeforeBytes)} -> ${mebibytes(result.rssPeakBytes)} MiB, ` +
        `${result.backpressurePauses} pauses, ${fixed(result.seconds)} s`,
    );
  }
}

async function runStreams(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
): Promise<void> {
  const sse = await startSseUpstream(credentials);
  // Parsing inside TLS, as Sluice must: an SSE event is a chunk of an HTTP/1.1 body to it too.
  const measureAll = (floor: FloorRoute): Promise<void> =>
    withFreshSluice(workspace, credentials, config, { events: false, loopProbe: true }, async (sluice) => {
      for (const streams of config.streamCounts) {
        for (const scheme of config.streamSchemes) {
          const shape = { scheme, streams, eventsPerStream: config.streamEvents, intervalMs: config.streamIntervalMs };
          const measure = `${streams} SSE streams ${scheme}`;
          const result = await attempt(results.failures, measure, () =>
            measureSseStreams(proxyRoute(sluice), sluice.pid, sluice.loopProbe, sse, shape, floor),
          );
          if (!result) continue;
          results.streams.push(result);
          progress(
            `${measure}: added p50 ${fixed(result.added.p50, 2)} ms, p99 ${fixed(result.added.p99, 2)} ms; ` +
              `delivered ${result.directDelivery.delivered}/${result.proxyDelivery.delivered} of ` +
              `${result.proxyDelivery.expected}; proxy RSS ${mebibytes(result.proxyPeakRssBytes)} MiB, ` +
              `loop p99 ${fixed(result.proxyLoop?.p99Ms ?? Number.NaN)} ms; ` +
              `bench loop p99 ${fixed(result.benchLoop.direct.p99Ms)}/${fixed(result.benchLoop.proxied.p99Ms)} ms; ` +
              `proxy ${fixed(result.proxyCpuPerThousandEvents, 3)} CPU s per 1,000 events; minimal relay added p99 ` +
              `${fixed(result.floor?.added.p99 ?? Number.NaN, 2)} ms, ` +
              `${fixed(result.floor?.cpuPerThousandEvents ?? Number.NaN, 3)} CPU s per 1,000 events`,
          );
        }
      }
    });
  try {
    await withMinimalRelay(credentials, (route, pid) => measureAll({ route, pid }), true);
  } finally {
    await sse.close();
  }
}

function describeRequestRuns(runs: readonly RequestRun[]): string {
  return runs.map((r) => fixed(r.requestsPerSecond, 0)).join('/');
}

async function runRequestRate(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
): Promise<void> {
  // Parsing each request inside TLS too: piped as bytes, TLS requests cost a relay next to nothing.
  await withMinimalRelay(
    credentials,
    (route, relayPid) =>
      runRequestRateThroughSluice(config, results, workspace, credentials, bulk, { route, pid: relayPid }),
    true,
  );
}

async function runRequestRateThroughSluice(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
  floor: FloorRoute,
): Promise<void> {
  await withFreshSluice(workspace, credentials, config, { events: false, loopProbe: true }, async (sluice) => {
    const pids: Pids = { proxy: sluice.pid, upstream: bulk.child.pid };
    for (const scheme of ['http', 'https'] as const) {
      const measure = `${scheme} ${config.requests} requests`;
      const result = await attempt(results.failures, measure, () =>
        measureRequestRate(
          proxyRoute(sluice),
          pids,
          sluice.loopProbe,
          bulk.upstream,
          scheme,
          config.requests,
          config.requestConnections,
          config.repeats,
          floor,
        ),
      );
      if (!result) continue;
      results.requestRate.push(result);
      const broken = [...result.directRuns, ...result.proxyRuns].find((r) => r.firstError);
      if (broken) results.failures.push({ measure: `${measure}: a request failed`, error: broken.firstError! });
      progress(
        `${measure}: direct ${describeRequestRuns(result.directRuns)}, via Sluice ` +
          `${describeRequestRuns(result.proxyRuns)} req/s (best ${fixed(result.ratio, 2)}x), ` +
          `proxy ${fixed(result.proxyCpuPerThousand, 3)} CPU s per 1,000, loop p99 ` +
          `${fixed(result.proxyLoop?.p99Ms ?? Number.NaN)} ms; minimal relay ` +
          `${describeRequestRuns(result.floor?.runs ?? [])} req/s, ${fixed(result.floor?.cpuPerThousand ?? Number.NaN, 3)} CPU s per 1,000`,
      );
    }
  });
}

async function runExchangeMemory(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
): Promise<void> {
  const measure = `RSS over ${config.exchanges} exchanges`;
  results.exchangeMemory = await attempt(results.failures, measure, () =>
    withFreshSluice(workspace, credentials, config, { events: false, loopProbe: false }, (sluice) =>
      measureExchangeMemory(
        proxyRoute(sluice),
        sluice.pid,
        bulk.upstream,
        config.exchanges,
        config.exchangeConnections,
        (c) => progress(`${measure}: ${c.exchanges} in ${fixed(c.seconds)} s, RSS ${mebibytes(c.rssBytes)} MiB`),
      ),
    ),
  );
  const memory = results.exchangeMemory;
  if (!memory) return;
  if (memory.firstError) {
    const error = `${memory.failed} of ${memory.requested} not answered whole, the first: ${memory.firstError}`;
    results.failures.push({ measure, error });
  }
  progress(
    `${measure}: ${[memory.rssStartBytes, ...memory.checkpoints.map((c) => c.rssBytes)].map(mebibytes).join(' -> ')} MiB; ` +
      `projected ${mebibytes(memory.projectedDayBytes)} MiB at 1,000,000`,
  );
}

function proxyRoute(sluice: SluiceProcess): Route & { via: 'proxy' } {
  return { via: 'proxy', port: sluice.port, caPem: sluice.caPem };
}

async function runBench(config: Config, workspace: Workspace): Promise<Results> {
  const results: Results = {
    throughput: [],
    relayFloor: [],
    peakRss: undefined,
    uploadPeakRssBytes: undefined,
    h2: [],
    h2Floor: [],
    h2AsH1: [],
    sse: [],
    handshake: undefined,
    slowClient: [],
    streams: [],
    requestRate: [],
    exchangeMemory: undefined,
    spill: [],
    failures: [],
  };
  const credentials = await makeUpstreamCredentials(join(workspace.path, 'upstream-ca'));
  const bulk = await startBulkUpstream(UPSTREAM_SCRIPT, credentials);
  const { httpPort, httpsPort } = bulk.upstream;
  progress(`upstream http ${httpPort}, https ${httpsPort}, h2 ${bulk.h2.port}`);
  if (SHARED_PROXY_SECTIONS.some((section) => config.sections.has(section))) {
    await runOnSharedProxy(config, results, workspace, credentials, bulk);
  }
  if (config.sections.has('h2')) await runH2(config, results, workspace, credentials, bulk);
  if (config.sections.has('slow')) await runSlowClient(config, results, workspace, credentials, bulk.upstream);
  if (config.sections.has('streams')) await runStreams(config, results, workspace, credentials);
  if (config.sections.has('requests')) await runRequestRate(config, results, workspace, credentials, bulk);
  if (config.sections.has('exchanges')) await runExchangeMemory(config, results, workspace, credentials, bulk);
  if (config.sections.has('spill')) await runSpillCost(results, workspace);
  await bulk.child.stop();
  return results;
}

/** The sections that share one proxy, started once for them all. */
async function runOnSharedProxy(
  config: Config,
  results: Results,
  workspace: Workspace,
  credentials: UpstreamCredentials,
  bulk: BulkUpstream,
): Promise<void> {
  await withFreshSluice(workspace, credentials, config, { events: false, loopProbe: false }, async (sluice) => {
    progress(`proxy pid ${sluice.pid} on port ${sluice.port}`);
    if (config.sections.has('throughput')) {
      await runThroughput(config, results, sluice, bulk);
      await runRelayFloor(config, results, credentials, bulk);
    }
    if (config.sections.has('sse')) await runSse(config, results, sluice, credentials);
    if (config.sections.has('handshake')) {
      results.handshake = await attempt(results.failures, 'TLS handshakes', () =>
        measureHandshakes(sluice.port, sluice.caPem, credentials, config.handshakeSamples),
      );
      if (results.handshake) progress(`handshakes: ${JSON.stringify(results.handshake)}`);
    }
  });
}

/**
 * Per case, the proxy's CPU seconds per GiB beside the minimal relay's (in the "direct" column:
 * the floor), and how many times the floor Sluice costs.
 */
function cpuRows(results: Results): Row[] {
  return results.throughput.map((r) => {
    const floor = results.relayFloor.find((f) => f.scheme === r.scheme && f.framing === r.framing && f.way === r.way);
    const sluice = proxyCpuPerGiB(r.proxyRuns, r.bytes);
    return {
      measure: `${caseLabel(r)}: proxy CPU s per GiB (minimal pipe relay, Sluice)`,
      direct: floor ? fixed(floor.cpuSecondsPerGiB, 2) : NONE,
      viaSluice: fixed(sluice, 2),
      ratio: floor ? `${fixed(sluice / floor.cpuSecondsPerGiB, 2)}x` : NONE,
      target: NONE,
      ok: undefined,
    };
  });
}

/** `https chunked`, `http Content-Length upload`: a throughput case as its rows name it. */
function caseLabel(r: { scheme: Scheme; framing: Framing; way: Way }): string {
  const framing = r.framing === 'length' ? 'Content-Length' : 'chunked';
  return `${r.scheme} ${framing}${r.way === 'upload' ? ' upload' : ''}`;
}

/** Downloads have the targets; uploads (the request path) are shown beside them. */
function throughputRows(results: readonly ThroughputResult[], bodyBytes: number): Row[] {
  return results.map((r) => {
    const target = r.scheme === 'http' ? TARGETS.httpThroughputRatio : TARGETS.httpsThroughputRatio;
    const targeted = r.way === 'download';
    return {
      measure: `${caseLabel(r)} ${mebibytes(bodyBytes)} MiB, MB/s (best of ${r.directRuns.length})`,
      direct: fixed(r.direct, 0),
      viaSluice: fixed(r.proxy, 0),
      ratio: fixed(r.ratio, 2),
      target: targeted ? `>= ${fixed(target, 2)}` : NONE,
      ok: targeted ? verdict(r.ratio, (v) => v >= target) : undefined,
    };
  });
}

/**
 * Per shape: throughput against direct, the proxy's CPU per GiB (beside the minimal relay's, in
 * the "direct" column, as for HTTP/1.1), its peak RSS, and the minimal relay's own throughput
 * ratio (its direct runs are its own): what Node's http2 allows on this machine; for many
 * streams, the same bodies over HTTP/1.1 and TLS beside them.
 */
function h2Rows(
  results: readonly H2ThroughputResult[],
  floors: readonly H2ThroughputResult[],
  asH1: readonly ConcurrentH1Result[],
): Row[] {
  return results.flatMap((r) => [...h2ShapeRows(r, floors), ...h2AsH1Rows(asH1, r.shape)]);
}

/**
 * The same bodies over HTTP/1.1 and TLS, for the HTTP/2 row above them: what the target's
 * "no worse than HTTP/1.1 over TLS" means when the capture does the same work on both.
 */
function h2AsH1Rows(asH1: readonly ConcurrentH1Result[], shape: H2Shape): Row[] {
  const r = asH1.find((h1) => h1.shape.streams === shape.streams);
  if (!r) return [];
  const name = h2AsH1Label(shape);
  return [
    {
      measure: `${name}, MB/s (best of ${r.directRuns.length})`,
      direct: fixed(r.direct, 0),
      viaSluice: fixed(r.proxied.megabytesPerSecond, 0),
      ratio: fixed(r.proxied.ratio, 2),
      target: NONE,
      ok: undefined,
    },
    {
      measure: `${name}: proxy CPU s per GiB; peak proxy RSS, MiB`,
      direct: NONE,
      viaSluice: `${fixed(r.proxied.proxyCpuSecondsPerGiB, 2)}; ${fixed(r.proxied.proxyPeakRssBytes / MiB)}`,
      ratio: NONE,
      target: NONE,
      ok: undefined,
    },
  ];
}

function h2ShapeRows(r: H2ThroughputResult, floors: readonly H2ThroughputResult[]): Row[] {
  const name = `h2 ${h2ShapeLabel(r.shape)}`;
  const floor = floors.find((f) => f.shape.streams === r.shape.streams);
  const floorProxied = floor && !('unavailable' in floor.proxied) ? floor.proxied : undefined;
  const floorRow: Row = {
    measure: `${name}: minimal h2 relay, MB/s (its own direct runs)`,
    direct: floor && floorProxied ? fixed(floor.direct, 0) : NONE,
    viaSluice: floorProxied ? fixed(floorProxied.megabytesPerSecond, 0) : NONE,
    ratio: floorProxied ? fixed(floorProxied.ratio, 2) : NONE,
    target: NONE,
    ok: undefined,
  };
  const throughput = {
    measure: `${name}, MB/s (best of ${r.directRuns.length})`,
    direct: fixed(r.direct, 0),
    target: `>= ${fixed(TARGETS.h2ThroughputRatio, 2)}`,
  };
  const cpu = {
    measure: `${name}: proxy CPU s per GiB (minimal h2 relay, Sluice)`,
    direct: floorProxied ? fixed(floorProxied.proxyCpuSecondsPerGiB, 2) : NONE,
    target: NONE,
  };
  const rss = { measure: `${name}: peak proxy RSS, MiB`, direct: NONE, target: `< ${TARGETS.peakRssMiB} MiB` };
  const { proxied } = r;
  if ('unavailable' in proxied) {
    const why = (proxied.unavailable.split('\n')[0] ?? '').slice(0, 100);
    return [
      { ...throughput, viaSluice: why, ratio: NONE, ok: false },
      { ...cpu, viaSluice: why, ratio: NONE, ok: undefined },
      { ...rss, viaSluice: why, ratio: NONE, ok: false },
      floorRow,
    ];
  }
  const peakMiB = proxied.proxyPeakRssBytes / MiB;
  return [
    {
      ...throughput,
      viaSluice: fixed(proxied.megabytesPerSecond, 0),
      ratio: fixed(proxied.ratio, 2),
      ok: verdict(proxied.ratio, (v) => v >= TARGETS.h2ThroughputRatio),
    },
    {
      ...cpu,
      viaSluice: fixed(proxied.proxyCpuSecondsPerGiB, 2),
      ratio: floorProxied ? `${fixed(proxied.proxyCpuSecondsPerGiB / floorProxied.proxyCpuSecondsPerGiB, 2)}x` : NONE,
      ok: undefined,
    },
    { ...rss, viaSluice: fixed(peakMiB), ratio: NONE, ok: verdict(peakMiB, (v) => v < TARGETS.peakRssMiB) },
    floorRow,
  ];
}

function sseRows(results: readonly SseLatencyResult[]): Row[] {
  return results.flatMap((r) => [
    {
      measure: `SSE ${r.scheme} event latency p50, ms (${r.events} events)`,
      direct: fixed(r.direct.p50, 3),
      viaSluice: `${fixed(r.proxy.p50, 3)} (added ${fixed(r.added.p50, 3)})`,
      ratio: fixed(r.proxy.p50 / r.direct.p50, 2),
      target: NONE,
      ok: undefined,
    },
    {
      measure: `SSE ${r.scheme} event latency p99, ms`,
      direct: fixed(r.direct.p99, 3),
      viaSluice: `${fixed(r.proxy.p99, 3)} (added ${fixed(r.added.p99, 3)})`,
      ratio: fixed(r.proxy.p99 / r.direct.p99, 2),
      target: `added < ${TARGETS.sseAddedP99Ms} ms`,
      ok: verdict(r.added.p99, (v) => v < TARGETS.sseAddedP99Ms),
    },
  ]);
}

function memoryRows(results: Results): Row[] {
  const rows: Row[] = [];
  if (results.peakRss) {
    const peakMiB = results.peakRss.sampledBytes / MiB;
    rows.push({
      measure: `peak proxy RSS while downloads stream, MiB (VmHWM ${mebibytes(results.peakRss.kernelHighWaterBytes)})`,
      direct: NONE,
      viaSluice: fixed(peakMiB),
      ratio: NONE,
      target: `< ${TARGETS.peakRssMiB} MiB`,
      ok: verdict(peakMiB, (v) => v < TARGETS.peakRssMiB),
    });
  }
  if (results.uploadPeakRssBytes !== undefined) {
    rows.push({
      measure: 'peak proxy RSS while uploads stream, MiB',
      direct: NONE,
      viaSluice: fixed(results.uploadPeakRssBytes / MiB),
      ratio: NONE,
      target: NONE,
      ok: undefined,
    });
  }
  for (const r of results.slowClient) {
    const growthMiB = r.growthBytes / MiB;
    rows.push(
      {
        measure: `slow client ${r.scheme} ${mebibytes(r.bytes)} MiB, fresh proxy, no warm-up: RSS at start -> peak (after), MiB`,
        direct: NONE,
        viaSluice:
          `${mebibytes(r.rssBeforeBytes)} -> ${mebibytes(r.rssPeakBytes)} (+${fixed(growthMiB)}) ` +
          `(${mebibytes(r.rssAfterBytes)})`,
        ratio: NONE,
        target: `growth < ${TARGETS.slowClientGrowthMiB} MiB`,
        ok: verdict(growthMiB, (v) => v < TARGETS.slowClientGrowthMiB),
      },
      {
        measure: `slow client ${r.scheme}: backpressure pauses (${fixed(r.seconds)} s)`,
        direct: NONE,
        viaSluice: String(r.backpressurePauses),
        ratio: NONE,
        target: '> 0',
        ok: r.backpressurePauses > 0,
      },
    );
  }
  return rows;
}

/**
 * The capture's cost per GiB it spills, measured in the bench's own process (nothing else runs
 * then): 100 bodies at once in HTTP/2 frames, and one body of whole 64 KiB reads.
 */
const SPILL_SHAPES: readonly SpillShape[] = [
  { bodies: 100, partBytes: 16 * 1024, totalBytes: 1024 * MiB },
  { bodies: 1, partBytes: 64 * 1024, totalBytes: 256 * MiB },
];

async function runSpillCost(results: Results, workspace: Workspace): Promise<void> {
  for (const shape of SPILL_SHAPES) {
    const result = await attempt(results.failures, `capture spill ${spillLabel(shape)}`, () =>
      measureSpillCost(workspace.path, shape),
    );
    if (!result) continue;
    results.spill.push(result);
    progress(`capture spill ${spillLabel(shape)}: ${fixed(result.cpuSecondsPerGiB, 2)} CPU s/GiB`);
  }
}

function spillLabel(shape: SpillShape): string {
  const body = shape.bodies === 1 ? '1 body' : `${shape.bodies} bodies at once`;
  return `${body} in ${shape.partBytes / 1024} KiB parts, ${mebibytes(shape.totalBytes)} MiB`;
}

function spillRows(results: readonly SpillCost[]): Row[] {
  return results.map((r) => ({
    measure: `capture spill, ${spillLabel(r.shape)}: CPU s per GiB spilled (all threads)`,
    direct: NONE,
    viaSluice:
      r.limited > 0 ? `${fixed(r.cpuSecondsPerGiB, 2)} (${r.limited} bodies limited)` : fixed(r.cpuSecondsPerGiB, 2),
    ratio: NONE,
    target: NONE,
    ok: undefined,
  }));
}

function handshakeRows(result: HandshakeResult | undefined): Row[] {
  if (!result) return [];
  const row = (what: string, via: { p50: number; p90: number }): Row => ({
    measure: `TLS handshake, ${what}, ms p50 (p90)`,
    direct: `${fixed(result.direct.p50, 2)} (${fixed(result.direct.p90, 2)})`,
    viaSluice: `${fixed(via.p50, 2)} (${fixed(via.p90, 2)})`,
    ratio: fixed(via.p50 / result.direct.p50, 2),
    target: NONE,
    ok: undefined,
  });
  return [row('new host', result.newHost), row('cached host', result.cachedHost)];
}

function failureRow(failure: Failure): Row {
  const firstLine = failure.error.split('\n')[0] ?? '';
  return {
    measure: failure.measure,
    direct: NONE,
    viaSluice: `FAILED: ${firstLine.slice(0, 100)}`,
    ratio: NONE,
    target: NONE,
    ok: false,
  };
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const workspace = await Workspace.create();
  let cleaningUp: Promise<void> | undefined;
  const cleanUp = (): Promise<void> => (cleaningUp ??= stopAllChildren().finally(() => workspace.remove()));
  const onSignal = (): void => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  let results: Results;
  try {
    results = await runBench(config, workspace);
  } finally {
    await cleanUp();
  }
  const rows = [
    ...throughputRows(results.throughput, config.bodyBytes),
    ...cpuRows(results),
    ...h2Rows(results.h2, results.h2Floor, results.h2AsH1),
    ...sseRows(results.sse),
    ...memoryRows(results),
    ...handshakeRows(results.handshake),
    ...streamsRows(results.streams),
    ...requestRateRows(results.requestRate),
    ...exchangeMemoryRows(results.exchangeMemory),
    ...spillRows(results.spill),
    ...results.failures.map(failureRow),
  ];
  const seconds = (performance.now() - started) / 1000;
  // Other work on the machine slows both paths alike only on average; a high load says the figures are noisy.
  const load = loadavg()
    .map((l) => fixed(l, 1))
    .join(' ');
  process.stdout.write(
    `\n${formatTable(rows)}\n\nTotal ${fixed(seconds)} s. MB = 10^6 bytes. Load average at the end: ${load} ` +
      `(${cpus().length} CPUs).\n`,
  );
  await mkdir(join(ROOT, '.bench'), { recursive: true });
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtEnd: loadavg(),
  };
  const json = { date: new Date().toISOString(), machine, seconds, config, targets: TARGETS, rows, results };
  await writeFile(
    RESULTS_FILE,
    `${JSON.stringify(json, (_key, value: unknown) => (value instanceof Set ? [...value] : value), 2)}\n`,
  );
  process.stdout.write(`Results: ${RESULTS_FILE}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
