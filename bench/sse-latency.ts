import { DIRECT, expectStatus, get, type Route, type Scheme, type Upstream } from './clients.js';
import { readStampedEvents } from './sse-upstream.js';
import { median, quantile } from './stats.js';

const WARM_UP_EVENTS = 30;

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
    const timer = setTimeout(() => {
      res.destroy();
      reject(new Error(`SSE: ${latencies.length} of ${count} events within ${timeoutMs} ms`));
    }, timeoutMs);
    readStampedEvents(res, (stamp, arrivedAt) => latencies.push(arrivedAt - stamp.sentAt));
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

export interface SseLatencyResult extends LatencyComparison {
  readonly scheme: Scheme;
  readonly events: number;
  readonly intervalMs: number;
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
  return { scheme, events, intervalMs, ...compareLatencies(direct, proxied) };
}

export interface Quantiles {
  readonly p50: number;
  readonly p99: number;
}

export interface LatencyComparison {
  readonly direct: Quantiles;
  readonly proxy: Quantiles;
  /** Per event: its latency via the proxy minus the median direct latency. */
  readonly added: Quantiles;
  /** The same from the distributions alone: proxy quantile minus direct quantile. */
  readonly addedByQuantileDifference: Quantiles;
}

/** Direct against proxied event latencies, read as described at measureSseLatency. */
export function compareLatencies(direct: readonly number[], proxied: readonly number[]): LatencyComparison {
  const directMedian = median(direct);
  const summary = (values: readonly number[]): Quantiles => ({
    p50: quantile(values, 0.5),
    p99: quantile(values, 0.99),
  });
  const directSummary = summary(direct);
  const proxySummary = summary(proxied);
  return {
    direct: directSummary,
    proxy: proxySummary,
    added: summary(proxied.map((latency) => latency - directMedian)),
    addedByQuantileDifference: {
      p50: proxySummary.p50 - directSummary.p50,
      p99: proxySummary.p99 - directSummary.p99,
    },
  };
}
