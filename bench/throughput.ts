import { performance } from 'node:perf_hooks';
import { fillerPath, type Framing } from './body-source.js';
import { countBody, DIRECT, expectStatus, get, type Route, type Scheme, type Upstream } from './clients.js';
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

export interface ThroughputResult {
  readonly scheme: Scheme;
  readonly framing: Framing;
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

/** Downloads `bytes` and times it, from sending the request to the body's end. */
function transfer(
  route: Route,
  upstream: Upstream,
  pids: Pids,
  scheme: Scheme,
  framing: Framing,
  bytes: number,
): Promise<TransferRun> {
  const what = `${route.via} ${scheme} ${framing}`;
  return timeTransfer(pids, bytes, what, async () => {
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
  bytes: number,
  repeats: number,
): Promise<ThroughputResult> {
  const directRuns: TransferRun[] = [];
  const proxyRuns: TransferRun[] = [];
  let proxyPeakRssBytes = 0;
  for (let run = 0; run < repeats; run++) {
    directRuns.push(await transfer(DIRECT, upstream, pids, scheme, framing, bytes));
    const sampler = new RssSampler(pids.proxy);
    try {
      proxyRuns.push(await transfer(proxy, upstream, pids, scheme, framing, bytes));
    } finally {
      proxyPeakRssBytes = Math.max(proxyPeakRssBytes, await sampler.stop());
    }
  }
  const direct = bestRate(directRuns);
  const proxied = bestRate(proxyRuns);
  return {
    scheme,
    framing,
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
  bytes: number,
  repeats: number,
): Promise<RelayFloor> {
  const runs: TransferRun[] = [];
  for (let run = 0; run < repeats; run++) runs.push(await transfer(relay, upstream, pids, scheme, framing, bytes));
  return {
    scheme,
    framing,
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
