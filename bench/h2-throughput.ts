import { fillerPath } from './body-source.js';
import { DIRECT, type Route } from './clients.js';
import { closeH2Session, downloadAll, openH2Session, type H2Upstream } from './h2-clients.js';
import { RssSampler } from './proc.js';
import {
  bestRate,
  proxyCpuPerGiB,
  timeTransfer,
  TRANSFER_TIMEOUT_MS,
  type Pids,
  type TransferRun,
} from './throughput.js';
import { errorMessage } from '../app/error-message.js';

/** How a body is fetched over one HTTP/2 connection: `streams` GETs at once, each of `bytesPerStream`. */
export interface H2Shape {
  readonly streams: number;
  readonly bytesPerStream: number;
}

/** One body on one stream, and the same bytes split over `streams` concurrent streams. */
/** The body split over each count of concurrent streams on one connection. */
export function h2Shapes(bodyBytes: number, streamCounts: readonly number[]): H2Shape[] {
  // Rounded down, so every stream asks for the same size; the total is at most streams-1 bytes short.
  return streamCounts.map((streams) => ({ streams, bytesPerStream: Math.floor(bodyBytes / streams) }));
}

export function totalBytes(shape: H2Shape): number {
  return shape.streams * shape.bytesPerStream;
}

export interface ProxiedH2 {
  readonly runs: TransferRun[];
  /** MB/s of the best run, as for the direct side. */
  readonly megabytesPerSecond: number;
  readonly ratio: number;
  /** The proxy's CPU seconds per GiB moved, from its cheapest run. */
  readonly proxyCpuSecondsPerGiB: number;
  /** Highest proxy RSS seen while its bodies streamed. */
  readonly proxyPeakRssBytes: number;
}

export interface H2ThroughputResult {
  readonly shape: H2Shape;
  readonly bytes: number;
  readonly directRuns: TransferRun[];
  /** MB/s of the best direct run. */
  readonly direct: number;
  /**
   * The proxied side, or why there is none (the proxy did not negotiate h2, or a proxied
   * transfer failed): the direct figures stand either way.
   */
  readonly proxied: ProxiedH2 | { readonly unavailable: string };
}

/** Opens a session along `route`, fetches every stream of `shape` on it, and closes it: one timed run. */
async function download(route: Route, upstream: H2Upstream, shape: H2Shape): Promise<number> {
  const session = await openH2Session(route, upstream);
  try {
    const paths = Array.from({ length: shape.streams }, () => fillerPath(shape.bytesPerStream, 'length'));
    return await downloadAll(session, paths, TRANSFER_TIMEOUT_MS);
  } finally {
    await closeH2Session(session);
  }
}

/** The proxied side's figures from its runs of `bytes` each, against the best direct rate. */
export function proxiedFigures(
  runs: TransferRun[],
  direct: number,
  bytes: number,
  proxyPeakRssBytes: number,
): ProxiedH2 {
  const megabytesPerSecond = bestRate(runs);
  return {
    runs,
    megabytesPerSecond,
    ratio: megabytesPerSecond / direct,
    proxyCpuSecondsPerGiB: proxyCpuPerGiB(runs, bytes),
    proxyPeakRssBytes,
  };
}

/**
 * Direct and proxied runs alternate, as for HTTP/1.1. Once a proxied run fails (an HTTP/2 proxy
 * that does not negotiate h2 fails them all), only direct runs are made: the row says why.
 */
export async function measureH2Throughput(
  proxy: Route & { via: 'proxy' },
  pids: Pids,
  upstream: H2Upstream,
  shape: H2Shape,
  repeats: number,
): Promise<H2ThroughputResult> {
  const bytes = totalBytes(shape);
  const directRuns: TransferRun[] = [];
  const proxyRuns: TransferRun[] = [];
  let unavailable: string | undefined;
  let proxyPeakRssBytes = 0;
  for (let run = 0; run < repeats; run++) {
    directRuns.push(
      await timeTransfer(pids, bytes, `direct h2 x${shape.streams}`, () => download(DIRECT, upstream, shape)),
    );
    if (unavailable !== undefined) continue;
    const sampler = new RssSampler(pids.proxy);
    try {
      proxyRuns.push(
        await timeTransfer(pids, bytes, `proxy h2 x${shape.streams}`, () => download(proxy, upstream, shape)),
      );
    } catch (err) {
      unavailable = errorMessage(err);
    } finally {
      proxyPeakRssBytes = Math.max(proxyPeakRssBytes, await sampler.stop());
    }
  }
  const direct = bestRate(directRuns);
  if (unavailable !== undefined) return { shape, bytes, directRuns, direct, proxied: { unavailable } };
  return { shape, bytes, directRuns, direct, proxied: proxiedFigures(proxyRuns, direct, bytes, proxyPeakRssBytes) };
}
