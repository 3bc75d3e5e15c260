import { DIRECT, type FloorRoute, type Route, type Scheme, type Upstream } from './clients.js';
import { closeLanes, openLanes, sendRequests, type RequestBatch } from './keep-alive-lanes.js';
import type { LoopDelay, LoopDelayProbe } from './loop-delay.js';
import { RssSampler } from './proc.js';
import { cpuNow, cpuSpent, type CpuSeconds, type Pids } from './throughput.js';

/** Enough for both paths to JIT their hot code before anything is timed. */
const WARM_UP_REQUESTS = 1_000;
/** Per run: even a proxy at a tenth of today's rate finishes 20,000 requests in this time. */
const RUN_TIMEOUT_MS = 120_000;

export interface RequestRun extends RequestBatch {
  readonly requestsPerSecond: number;
  /** Connections the run's requests went out on: `connections` unless one was lost. */
  readonly connectionsUsed: number;
  readonly cpuSeconds: CpuSeconds;
}

export interface RequestRateResult {
  readonly scheme: Scheme;
  readonly requests: number;
  readonly connections: number;
  readonly directRuns: RequestRun[];
  readonly proxyRuns: RequestRun[];
  /** Requests per second of the best run of each (noise only ever slows a run down). */
  readonly direct: number;
  readonly proxy: number;
  readonly ratio: number;
  /** The proxy's CPU seconds per 1,000 requests, from its cheapest run. */
  readonly proxyCpuPerThousand: number;
  /** The same requests through the minimal relay (keep-alive, nothing recorded): Node's floor. */
  readonly floor: { readonly runs: RequestRun[]; readonly rate: number; readonly cpuPerThousand: number } | undefined;
  /** The proxy's loop over its worst proxied run (highest p99). */
  readonly proxyLoop: LoopDelay | undefined;
  readonly proxyPeakRssBytes: number;
}

/**
 * Small requests (100 to 1,000 byte bodies, echoed back) on `connections` keep-alive connections
 * at once, as fast as they are answered: direct and through the proxy alternately, `repeats`
 * times each.
 */
export async function measureRequestRate(
  proxy: Route & { via: 'proxy' },
  pids: Pids,
  loopProbe: LoopDelayProbe | undefined,
  upstream: Upstream,
  scheme: Scheme,
  requests: number,
  connections: number,
  repeats: number,
  floor?: FloorRoute,
): Promise<RequestRateResult> {
  const run = (route: Route, total: number, proxyPid = pids.proxy): Promise<RequestRun> =>
    timeRequests(route, { ...pids, proxy: proxyPid }, upstream, scheme, total, connections);
  await run(DIRECT, WARM_UP_REQUESTS);
  await run(proxy, WARM_UP_REQUESTS);
  if (floor) await run(floor.route, WARM_UP_REQUESTS, floor.pid);
  const directRuns: RequestRun[] = [];
  const proxyRuns: RequestRun[] = [];
  const floorRuns: RequestRun[] = [];
  let proxyLoop: LoopDelay | undefined;
  const sampler = new RssSampler(pids.proxy);
  try {
    for (let round = 0; round < repeats; round++) {
      directRuns.push(await run(DIRECT, requests));
      await loopProbe?.restart();
      proxyRuns.push(await run(proxy, requests));
      const loop = await loopProbe?.read();
      if (loop && (!proxyLoop || loop.p99Ms > proxyLoop.p99Ms)) proxyLoop = loop;
      if (floor) floorRuns.push(await run(floor.route, requests, floor.pid));
    }
  } finally {
    await sampler.stop();
  }
  const best = (runs: RequestRun[]): number => Math.max(...runs.map((r) => r.requestsPerSecond));
  const cheapest = (runs: RequestRun[]): number =>
    Math.min(...runs.map((r) => r.cpuSeconds.proxy)) / (requests / 1_000);
  const direct = best(directRuns);
  const proxied = best(proxyRuns);
  return {
    scheme,
    requests,
    connections,
    directRuns,
    proxyRuns,
    direct,
    proxy: proxied,
    ratio: proxied / direct,
    proxyCpuPerThousand: cheapest(proxyRuns),
    floor: floor ? { runs: floorRuns, rate: best(floorRuns), cpuPerThousand: cheapest(floorRuns) } : undefined,
    proxyLoop,
    proxyPeakRssBytes: sampler.peak,
  };
}

/** Opens the lanes, sends `total` requests over them and times it, with each process's CPU. */
async function timeRequests(
  route: Route,
  pids: Pids,
  upstream: Upstream,
  scheme: Scheme,
  total: number,
  connections: number,
): Promise<RequestRun> {
  const lanes = await openLanes(route, upstream, scheme, connections);
  try {
    const before = await cpuNow(pids);
    const batch = await sendRequests(lanes, total, RUN_TIMEOUT_MS);
    const after = await cpuNow(pids);
    return {
      ...batch,
      requestsPerSecond: batch.completed / batch.seconds,
      connectionsUsed: lanes.reduce((sum, lane) => sum + lane.sockets.size, 0),
      cpuSeconds: cpuSpent(before, after),
    };
  } finally {
    closeLanes(lanes);
  }
}
