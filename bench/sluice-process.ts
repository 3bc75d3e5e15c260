import { readFile } from 'node:fs/promises';
import { NodeChild } from './children.js';
import { LoopDelayProbe, loopProbeNodeArgs } from './loop-delay.js';

export interface SluiceProcess {
  readonly child: NodeChild;
  readonly pid: number;
  readonly port: number;
  /** Sluice's own CA certificate, which intercepted-https clients must trust. */
  readonly caPem: string;
  /** Reads the proxy's event-loop delay; present when launched with `loopProbe`. */
  readonly loopProbe: LoopDelayProbe | undefined;
}

export interface SluiceLaunch {
  /** bin/sluice.js: the command users run. */
  readonly cliPath: string;
  readonly dataDir: string;
  readonly upstreamCaFile: string;
  /** The proxy's TMPDIR, so its spill files land in a folder the bench removes whatever happens. */
  readonly tmpDir: string;
  readonly events: boolean;
  /** Extra node flags, e.g. --cpu-prof when profiling the proxy. */
  readonly nodeArgs?: string[];
  /** Leave out the flags on the command's first line (BENCH_PROXY_BARE=1), to see what they change. */
  readonly bare?: boolean;
  /** Load loop-delay-probe.js into the proxy's process, so its event-loop delay can be read. */
  readonly loopProbe?: boolean;
}

const START_TIMEOUT_MS = 30_000;

/** Starts the Sluice CLI on a free port and waits for its `ca:` and `proxy:` lines. */
export async function startSluice(launch: SluiceLaunch): Promise<SluiceProcess> {
  const args = ['--port', '0', '--data-dir', launch.dataDir, '--upstream-ca', launch.upstreamCaFile];
  if (launch.events) args.push('--events', 'ndjson');
  const child = new NodeChild(launch.cliPath, args, {
    env: { ...process.env, TMPDIR: launch.tmpDir },
    nodeArgs: [
      ...(launch.bare ? [] : await shebangNodeFlags(launch.cliPath)),
      ...(launch.nodeArgs ?? []),
      ...(launch.loopProbe ? loopProbeNodeArgs() : []),
    ],
  });
  try {
    const caLine = await child.waitForLine(/^ca: (.+)$/, START_TIMEOUT_MS);
    const proxyLine = await child.waitForLine(/^proxy: http:\/\/127\.0\.0\.1:(\d+)$/, START_TIMEOUT_MS);
    const caPem = await readFile(caLine[1]!, 'utf8');
    const loopProbe = launch.loopProbe ? await LoopDelayProbe.attach(child, START_TIMEOUT_MS) : undefined;
    return { child, pid: child.pid, port: Number(proxyLine[1]), caPem, loopProbe };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/**
 * The node flags on the command's first line (`#!/usr/bin/env -S node --flag ...`): what `sluice`
 * runs with when started as itself, which the bench's `node <script>` would otherwise leave out.
 */
async function shebangNodeFlags(cliPath: string): Promise<string[]> {
  const [first = ''] = (await readFile(cliPath, 'utf8')).split('\n', 1);
  return first.startsWith('#!') ? first.split(/\s+/).filter((word) => word.startsWith('--')) : [];
}
