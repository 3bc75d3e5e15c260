import { fillerPath } from './body-source.js';
import { countBody, DIRECT, expectStatus, get, type Route, type Upstream } from './clients.js';
import { proxiedFigures, type H2Shape, type ProxiedH2 } from './h2-throughput.js';
import { RssSampler } from './proc.js';
import { bestRate, timeTransfer, TRANSFER_TIMEOUT_MS, type Pids, type TransferRun } from './throughput.js';

export interface ConcurrentH1Result {
  /** The HTTP/2 row's shape: `streams` bodies at once, here each on its own HTTPS connection. */
  readonly shape: H2Shape;
  readonly bytes: number;
  readonly directRuns: TransferRun[];
  readonly direct: number;
  readonly proxied: ProxiedH2;
}

/** Fetches every body of `shape` at once, one HTTPS connection each; resolves with the bytes received. */
async function downloadAll(route: Route, upstream: Upstream, shape: H2Shape): Promise<number> {
  const received = await Promise.all(
    Array.from({ length: shape.streams }, async () => {
      const res = await get(route, upstream, 'https', fillerPath(shape.bytesPerStream, 'length'));
      expectStatus(res, `${route.via} https x${shape.streams}`);
      return countBody(res, TRANSFER_TIMEOUT_MS);
    }),
  );
  return received.reduce((sum, bytes) => sum + bytes, 0);
}

/**
 * The HTTP/1.1 counterpart of an HTTP/2 row with many streams: the same bodies over HTTPS, each
 * on a connection of its own (as HTTP/1.1 has to), direct and through the proxy alternately.
 * Issue 11 asks HTTP/2 through Sluice to do as well as HTTP/1.1 over TLS; the 1 GiB HTTPS rows
 * capture 64 MiB of their body (the per-body cap), these capture all of it, as the HTTP/2 row does.
 */
export async function measureConcurrentH1(
  proxy: Route & { via: 'proxy' },
  pids: Pids,
  upstream: Upstream,
  shape: H2Shape,
  repeats: number,
): Promise<ConcurrentH1Result> {
  const bytes = shape.streams * shape.bytesPerStream;
  const directRuns: TransferRun[] = [];
  const proxyRuns: TransferRun[] = [];
  let proxyPeakRssBytes = 0;
  for (let run = 0; run < repeats; run++) {
    const what = (route: Route): string => `${route.via} https x${shape.streams}`;
    directRuns.push(await timeTransfer(pids, bytes, what(DIRECT), () => downloadAll(DIRECT, upstream, shape)));
    const sampler = new RssSampler(pids.proxy);
    try {
      proxyRuns.push(await timeTransfer(pids, bytes, what(proxy), () => downloadAll(proxy, upstream, shape)));
    } finally {
      proxyPeakRssBytes = Math.max(proxyPeakRssBytes, await sampler.stop());
    }
  }
  const direct = bestRate(directRuns);
  return { shape, bytes, directRuns, direct, proxied: proxiedFigures(proxyRuns, direct, bytes, proxyPeakRssBytes) };
}
