import { performance } from 'node:perf_hooks';
import { fillerPath, SINK_PATH, uploadHeaders, writeFiller, type Framing } from './body-source.js';
import {
  countBody,
  DIRECT,
  expectStatus,
  get,
  post,
  readText,
  type Route,
  type Scheme,
  type Upstream,
} from './clients.js';
import { ownCpuSeconds, readCpuSeconds, RssSampler } from './proc.js';
import { GiB, megabytesPerSecond } from './stats.js';

/** Generous: even a badly regressed proxy moves a gigabyte in this time; a hung one does not. */
export const TRANSFER_TIMEOUT_MS = 180_000;

/** CPU seconds each process spent during one transfer. */
export interface CpuSeconds {
  readonly client: number;
  readonly upstream: number;
  readonly proxy: number;
}

export interface TransferRun {
  readonly megabytesPerSecond: number;
  readonly seconds: number;
  /** Where the time went: with 2 cores and 3 busy processes, the proxy's share explains the ratio. */
  readonly cpuSeconds: CpuSeconds;
}

/** Which way the body goes: from the upstream to the client, or from the client up. */
export type Way = 'download' | 'upload';

export interface ThroughputResult {
  readonly scheme: Scheme;
  readonly framing: Framing;
  readonly way: Way;
  readonly bytes: number;
  readonly directRuns: TransferRun[];
  readonly proxyRuns: TransferRun[];
  /** MB/s of the best run of each: noise only ever slows a run down, so the best is the least disturbed. */
  readonly direct: number;
  readonly proxy: number;
  readonly ratio: number;
  /** Highest proxy RSS seen while its bodies streamed. */
  readonly proxyPeakRssBytes: number;
}

export interface Pids {
  readonly proxy: number;
  readonly upstream: number;
}

/** CPU seconds each process has used so far; subtract two readings for what a run cost. */
export async function cpuNow(pids: Pids): Promise<CpuSeconds> {
  const [upstream, proxy] = await Promise.all([readCpuSeconds(pids.upstream), readCpuSeconds(pids.proxy)]);
  return { client: ownCpuSeconds(), upstream, proxy };
}

export function cpuSpent(before: CpuSeconds, after: CpuSeconds): CpuSeconds {
  return {
    client: after.client - before.client,
    upstream: after.upstream - before.upstream,
    proxy: after.proxy - before.proxy,
  };
}

/**
 * Runs `download` (which resolves with the bytes it received) and times it, with the CPU each
 * process spent meanwhile; a run that did not receive `bytes` is an error, not a fast result.
 */
export async function timeTransfer(
  pids: Pids,
  bytes: number,
  what: string,
  download: () => Promise<number>,
): Promise<TransferRun> {
  const cpuBefore = await cpuNow(pids);
  const started = performance.now();
  const received = await download();
  const ms = performance.now() - started;
  const cpuAfter = await cpuNow(pids);
  if (received !== bytes) throw new Error(`${what}: got ${received} of ${bytes} bytes`);
  return {
    megabytesPerSecond: megabytesPerSecond(bytes, ms),
    seconds: ms / 1000,
    cpuSeconds: cpuSpent(cpuBefore, cpuAfter),
  };
}

/**
 * Moves `bytes` one `way` and times it: a download from sending the request to the body's end,
 * an upload from sending the request to the upstream's answer, which says how much it read.
 */
function transfer(
  route: Route,
  upstream: Upstream,
  pids: Pids,
  scheme: Scheme,
  framing: Framing,
  way: Way,
  bytes: number,
): Promise<TransferRun> {
  const what = `${route.via} ${scheme} ${framing} ${way}`;
  return timeTransfer(pids, bytes, what, async () => {
    if (way === 'upload') {
      const res = await post(route, upstream, scheme, SINK_PATH, uploadHeaders(bytes, framing), (req) =>
        writeFiller(req, bytes),
      );
      expectStatus(res, what);
      return Number(await readText(res, TRANSFER_TIMEOUT_MS));
    }
    const res = await get(route, upstream, scheme, fillerPath(bytes, framing));
    expectStatus(res, what);
    return countBody(res, TRANSFER_TIMEOUT_MS);
  });
}

/**
 * Direct and proxied runs alternate, so a burst of noise from elsewhere on the machine hits both
 * sides rather than skewing one.
 */
export async function measureThroughput(
  proxy: Route & { via: 'proxy' },
  pids: Pids,
  upstream: Upstream,
  scheme: Scheme,
  framing: Framing,
  way: Way,
  bytes: number,
  repeats: number,
): Promise<ThroughputResult> {
  const directRuns: TransferRun[] = [];
  const proxyRuns: TransferRun[] = [];
  let proxyPeakRssBytes = 0;
  for (let run = 0; run < repeats; run++) {
    directRuns.push(await transfer(DIRECT, upstream, pids, scheme, framing, way, bytes));
    const sampler = new RssSampler(pids.proxy);
    try {
      proxyRuns.push(await transfer(proxy, upstream, pids, scheme, framing, way, bytes));
    } finally {
      proxyPeakRssBytes = Math.max(proxyPeakRssBytes, await sampler.stop());
    }
  }
  const direct = bestRate(directRuns);
  const proxied = bestRate(proxyRuns);
  return {
    scheme,
    framing,
    way,
    bytes,
    directRuns,
    proxyRuns,
    direct,
    proxy: proxied,
    ratio: proxied / direct,
    proxyPeakRssBytes,
  };
}

/** What the floor (a relay that only pipes) costs and moves, for one case. */
export interface RelayFloor {
  readonly scheme: Scheme;
  readonly framing: Framing;
  readonly way: Way;
  /** CPU seconds per GiB of the relay's process, from its cheapest run. */
  readonly cpuSecondsPerGiB: number;
  readonly megabytesPerSecond: number;
}

/** The same transfers through `relay` alone (the direct runs are the proxy's to make). */
export async function measureRelayFloor(
  relay: Route & { via: 'proxy' },
  pids: Pids,
  upstream: Upstream,
  scheme: Scheme,
  framing: Framing,
  way: Way,
  bytes: number,
  repeats: number,
): Promise<RelayFloor> {
  const runs: TransferRun[] = [];
  for (let run = 0; run < repeats; run++) {
    runs.push(await transfer(relay, upstream, pids, scheme, framing, way, bytes));
  }
  return {
    scheme,
    framing,
    way,
    cpuSecondsPerGiB: proxyCpuPerGiB(runs, bytes),
    megabytesPerSecond: bestRate(runs),
  };
}

/** MB/s of the best of `runs`: noise only ever slows a run down, so the best is the least disturbed. */
export function bestRate(runs: readonly TransferRun[]): number {
  return Math.max(...runs.map((r) => r.megabytesPerSecond));
}

/** The proxy's CPU seconds per GiB moved, from its cheapest of `runs` of `bytes` each. */
export function proxyCpuPerGiB(runs: readonly TransferRun[], bytes: number): number {
  return Math.min(...runs.map((r) => r.cpuSeconds.proxy)) / (bytes / GiB);
}
