import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { DIRECT, expectStatus, get, type Route, type Scheme, type Upstream } from './clients.js';
import { median, quantile } from './stats.js';
import { UPSTREAM_TLS_HOST, type UpstreamCredentials } from './upstream.js';

const WARM_UP_EVENTS = 30;

/**
 * An SSE upstream inside the bench process, so the time stamped into each event and the time the
 * client sees it come from one monotonic clock (performance.now()).
 */
export async function startSseUpstream(
  credentials: UpstreamCredentials,
): Promise<{ upstream: Upstream; close(): Promise<void> }> {
  const plain = http.createServer(sendEvents);
  const secure = https.createServer({ key: credentials.key, cert: credentials.cert }, sendEvents);
  const listen = (server: http.Server): Promise<number> =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const close = (server: http.Server): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    upstream: {
      httpPort: await listen(plain),
      httpsPort: await listen(secure),
      tlsHost: UPSTREAM_TLS_HOST,
      caPem: credentials.caPem,
    },
    close: async () => {
      await Promise.all([close(plain), close(secure)]);
    },
  };
}

/** GET /sse?count=N&intervalMs=M: N events M ms apart, each carrying the time it was written. */
function sendEvents(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://bench.invalid');
  const count = Math.min(10_000, Number(url.searchParams.get('count')) || 0);
  const intervalMs = Number(url.searchParams.get('intervalMs')) || 5;
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let seq = 0;
  const sendNext = (): void => {
    if (res.destroyed) return;
    if (seq >= count) {
      res.end();
      return;
    }
    res.write(`id: ${seq}\nevent: tick\ndata: {"seq":${seq},"sentAt":${performance.now()}}\n\n`);
    seq++;
    setTimeout(sendNext, intervalMs);
  };
  sendNext();
}

/** Receives a stream of `count` events and returns each one's delivery latency in ms. */
async function eventLatencies(
  route: Route,
  upstream: Upstream,
  scheme: Scheme,
  count: number,
  intervalMs: number,
): Promise<number[]> {
  const res = await get(route, upstream, scheme, `/sse?count=${count}&intervalMs=${intervalMs}`);
  expectStatus(res, `${route.via} ${scheme} SSE`);
  const timeoutMs = count * intervalMs * 4 + 10_000;
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let pending = '';
    const timer = setTimeout(() => {
      res.destroy();
      reject(new Error(`SSE: ${latencies.length} of ${count} events within ${timeoutMs} ms`));
    }, timeoutMs);
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      const arrivedAt = performance.now();
      pending += text;
      let end = pending.indexOf('\n\n');
      // Bounded: each pass consumes one complete event from `pending`.
      while (end >= 0) {
        const data = /^data: (.*)$/m.exec(pending.slice(0, end));
        if (data?.[1]) latencies.push(arrivedAt - (JSON.parse(data[1]) as { sentAt: number }).sentAt);
        pending = pending.slice(end + 2);
        end = pending.indexOf('\n\n');
      }
    });
    res.once('end', () => {
      clearTimeout(timer);
      if (latencies.length === count) resolve(latencies);
      else reject(new Error(`SSE: stream ended after ${latencies.length} of ${count} events`));
    });
    res.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface SseLatencyResult {
  readonly scheme: Scheme;
  readonly events: number;
  readonly intervalMs: number;
  readonly direct: { readonly p50: number; readonly p99: number };
  readonly proxy: { readonly p50: number; readonly p99: number };
  /** Per event: its latency via the proxy minus the median direct latency. */
  readonly added: { readonly p50: number; readonly p99: number };
  /** The same from the distributions alone: proxy quantile minus direct quantile. */
  readonly addedByQuantileDifference: { readonly p50: number; readonly p99: number };
}

/**
 * Added latency, method: the same stream is received directly and then through the proxy. Each
 * proxied event's latency minus the median direct latency is what the proxy added to it (the
 * direct median is the fixed cost of loopback plus this event loop waking). We report p50 and p99
 * of those per-event differences. This is the stricter reading: scheduling jitter that would have
 * hit a direct event too is charged to the proxy. The quantile difference (proxy p99 - direct
 * p99) is kept in the JSON as the lenient reading.
 */
export async function measureSseLatency(
  proxy: Route,
  upstream: Upstream,
  scheme: Scheme,
  events: number,
  intervalMs: number,
): Promise<SseLatencyResult> {
  // Warm-ups let both paths JIT their hot code and open (and pool) their connections first.
  await eventLatencies(DIRECT, upstream, scheme, WARM_UP_EVENTS, intervalMs);
  await eventLatencies(proxy, upstream, scheme, WARM_UP_EVENTS, intervalMs);
  const direct = await eventLatencies(DIRECT, upstream, scheme, events, intervalMs);
  const proxied = await eventLatencies(proxy, upstream, scheme, events, intervalMs);
  const directMedian = median(direct);
  const added = proxied.map((latency) => latency - directMedian);
  const summary = (values: number[]): { p50: number; p99: number } => ({
    p50: quantile(values, 0.5),
    p99: quantile(values, 0.99),
  });
  const directSummary = summary(direct);
  const proxySummary = summary(proxied);
  return {
    scheme,
    events,
    intervalMs,
    direct: directSummary,
    proxy: proxySummary,
    added: summary(added),
    addedByQuantileDifference: {
      p50: proxySummary.p50 - directSummary.p50,
      p99: proxySummary.p99 - directSummary.p99,
    },
  };
}
