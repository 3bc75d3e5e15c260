/** What each row must reach; printed beside the figures and saved with them in results.json. */
export const TARGETS = {
  httpThroughputRatio: 0.8,
  httpsThroughputRatio: 0.45,
  /** HTTP/1.1-over-TLS's ratio when HTTP/2 was added: h2 through Sluice should do no worse. */
  h2ThroughputRatio: 0.45,
  sseAddedP99Ms: 2,
  peakRssMiB: 150,
  slowClientGrowthMiB: 8,
  /** Added p99 latency with 300, and with 1,000, concurrent SSE streams through the proxy. */
  streams300AddedP99Ms: 5,
  streams1000AddedP99Ms: 10,
  /** The proxy's event-loop delay p99 under the streams and request-rate loads. */
  proxyLoopDelayMs: 50,
  requestRateRatio: 0.65,
  /** A day of traffic, 1,000,000 exchanges, must fit in this much proxy RSS. */
  dayOfExchangesRssMiB: 500,
};

/** A figure passes only if it is a number at all: NaN from a broken run is a failure. */
export function verdict(value: number, passes: (v: number) => boolean): boolean {
  return Number.isFinite(value) && passes(value);
}
