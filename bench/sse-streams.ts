import type http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DIRECT, expectStatus, get, type FloorRoute, type Route, type Scheme } from './clients.js';
import type { LoopDelay, LoopDelayProbe } from './loop-delay.js';
import { readCpuSeconds, readOpenFileLimit, RssSampler } from './proc.js';
import { compareLatencies, type LatencyComparison } from './sse-latency.js';
import { readStampedEvents, type SseUpstream } from './sse-upstream.js';

/** Connections being opened at once: the listen backlog (511) must not overflow into SYN retries. */
const OPEN_CONCURRENCY = 64;
const OPEN_TIMEOUT_MS = 120_000;
/** Beyond the streams' own length, how long the last events may take before the run gives up. */
const FINISH_SLACK_MS = 30_000;
/** File descriptors a process needs besides the two per stream (its own files, listeners, pipes). */
const SPARE_FDS = 200;
const WARM_UP = { streams: 20, eventsPerStream: 5 };
/**
 * Events sent this long after the streams began are also read on their own: in the first moments
 * every stream sends its first event at once, and that burst can set the whole run's p99 (in some
 * runs it does, in others the flow after it is as slow); read apart, the two can be told apart.
 */
const OPENING_MS = 1_000;

export interface StreamsShape {
  readonly scheme: Scheme;
  readonly streams: number;
  readonly eventsPerStream: number;
  readonly intervalMs: number;
}

/** How many events reached the clients, of how many sent. */
export interface Delivery {
  readonly expected: number;
  readonly delivered: number;
  /** Streams that ended, broke or timed out before their last event. */
  readonly shortStreams: number;
  /** The first thing that went wrong on a short stream, if any said. */
  readonly firstError: string | undefined;
}

/** This process's (the clients' and the SSE upstream's) loop while events flowed. */
export interface BenchLoop {
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface StreamsResult extends LatencyComparison {
  readonly shape: StreamsShape;
  readonly directDelivery: Delivery;
  readonly proxyDelivery: Delivery;
  /** The most any proxied event's latency exceeded the direct median by. */
  readonly addedMaxMs: number;
  /** The same comparison for the events sent OPENING_MS or more after the streams began. */
  readonly afterOpening: LatencyComparison;
  readonly openingMs: number;
  readonly proxyPeakRssBytes: number;
  /**
   * The proxy's CPU seconds per 1,000 events delivered, from the gate's opening to the last event
   * (connecting not included): unlike latency, this hardly moves when other work on the machine
   * starves the proxy of a core, and times the event rate it says whether one core can keep up.
   */
  readonly proxyCpuPerThousandEvents: number;
  /** The proxy's loop, from opening the first proxied stream to the last event. */
  readonly proxyLoop: LoopDelay | undefined;
  readonly benchLoop: { readonly direct: BenchLoop; readonly proxied: BenchLoop };
  readonly openSeconds: { readonly direct: number; readonly proxied: number };
  /** The same streams through the minimal relay, against the same direct run: Node's floor. */
  readonly floor: StreamsFloor | undefined;
}

export interface StreamsFloor extends LatencyComparison {
  readonly afterOpening: LatencyComparison;
  readonly delivery: Delivery;
  readonly cpuPerThousandEvents: number;
}

interface StreamsRun {
  readonly latencies: number[];
  /** Of `latencies`, those of the events sent OPENING_MS or more after the streams began. */
  readonly afterOpening: number[];
  readonly delivery: Delivery;
  readonly benchLoop: BenchLoop;
  readonly openSeconds: number;
  /** CPU the proxy (when `proxyPid` was given) spent while the events flowed. */
  readonly proxyCpuSeconds: number | undefined;
}

/**
 * Many SSE streams at once, each on its own HTTP/1.1 connection: all are connected first (held
 * at the upstream's gate), then all run together, `eventsPerStream` events each, `intervalMs`
 * apart. Direct first, then through the proxy, in the same run; latency is read as in
 * measureSseLatency (each proxied event against the direct median). A missing event is not an
 * error here but a count: the table shows the shortfall. With `floor`, the streams then run
 * through the minimal relay too, read against the same direct run.
 */
export async function measureSseStreams(
  proxy: Route & { via: 'proxy' },
  proxyPid: number,
  loopProbe: LoopDelayProbe | undefined,
  sse: SseUpstream,
  shape: StreamsShape,
  floor?: FloorRoute,
): Promise<StreamsResult> {
  await checkFileLimits(proxyPid, shape.streams);
  if (floor) await checkFileLimits(floor.pid, shape.streams);
  const warmUp = { ...shape, ...WARM_UP };
  await receiveStreams(DIRECT, sse, warmUp);
  await receiveStreams(proxy, sse, warmUp);
  if (floor) await receiveStreams(floor.route, sse, warmUp);

  const direct = await receiveStreams(DIRECT, sse, shape);
  await loopProbe?.restart();
  const sampler = new RssSampler(proxyPid);
  let proxied: StreamsRun;
  try {
    proxied = await receiveStreams(proxy, sse, shape, proxyPid);
  } finally {
    await sampler.stop();
  }
  const proxyLoop = await loopProbe?.read();
  const relayed = floor ? await receiveStreams(floor.route, sse, shape, floor.pid) : undefined;
  const comparison = compareLatencies(direct.latencies, proxied.latencies);
  const directMedian = comparison.direct.p50;
  return {
    shape,
    ...comparison,
    directDelivery: direct.delivery,
    proxyDelivery: proxied.delivery,
    addedMaxMs: proxied.latencies.reduce((max, latency) => Math.max(max, latency - directMedian), -Infinity),
    afterOpening: compareLatencies(direct.afterOpening, proxied.afterOpening),
    openingMs: OPENING_MS,
    proxyPeakRssBytes: sampler.peak,
    proxyCpuPerThousandEvents: cpuPerThousandEvents(proxied),
    proxyLoop,
    benchLoop: { direct: direct.benchLoop, proxied: proxied.benchLoop },
    openSeconds: { direct: direct.openSeconds, proxied: proxied.openSeconds },
    floor: relayed && {
      ...compareLatencies(direct.latencies, relayed.latencies),
      afterOpening: compareLatencies(direct.afterOpening, relayed.afterOpening),
      delivery: relayed.delivery,
      cpuPerThousandEvents: cpuPerThousandEvents(relayed),
    },
  };
}

/** The measured proxy's CPU seconds per 1,000 events delivered in `run`. */
function cpuPerThousandEvents(run: StreamsRun): number {
  return (run.proxyCpuSeconds ?? Number.NaN) / (run.delivery.delivered / 1_000);
}

/** Two descriptors per stream in this process (client and upstream ends) and in a proxy (its two legs). */
async function checkFileLimits(proxyPid: number, streams: number): Promise<void> {
  const needed = 2 * streams + SPARE_FDS;
  for (const [who, pid] of [
    ['the bench', 'self'],
    ['the proxy', proxyPid],
  ] as const) {
    const limit = await readOpenFileLimit(pid);
    if (limit < needed) {
      throw new Error(`${who} may open ${limit} files, ${streams} streams need ${needed}: raise ulimit -n and rerun`);
    }
  }
}

/** One stream's end: how many events it got, and why it stopped short if it did. */
interface StreamEnd {
  readonly received: number;
  readonly error: string | undefined;
}

async function receiveStreams(
  route: Route,
  sse: SseUpstream,
  shape: StreamsShape,
  proxyPid?: number,
): Promise<StreamsRun> {
  const path = `/sse?count=${shape.eventsPerStream}&intervalMs=${shape.intervalMs}&gated=1`;
  const latencies: number[] = [];
  const openStarted = performance.now();
  const responses = await openAll(shape.streams, async () => {
    const res = await get(route, sse.upstream, shape.scheme, path);
    expectStatus(res, `${route.via} ${shape.scheme} SSE stream`);
    return res;
  });
  const openSeconds = (performance.now() - openStarted) / 1000;

  const cpuBefore = proxyPid === undefined ? undefined : await readCpuSeconds(proxyPid);
  const benchLoop = monitorEventLoopDelay({ resolution: 1 });
  benchLoop.enable();
  const afterOpening: number[] = [];
  const steadyFrom = performance.now() + OPENING_MS;
  const ends = responses.map((res) =>
    receive(res, shape.eventsPerStream, (sentAt, latency) => {
      latencies.push(latency);
      if (sentAt >= steadyFrom) afterOpening.push(latency);
    }),
  );
  const started = sse.gate.open();
  const deadline = setTimeout(
    () => responses.forEach((res) => res.destroy(new Error('timed out'))),
    shape.eventsPerStream * shape.intervalMs + FINISH_SLACK_MS,
  );
  const results = await Promise.all(ends);
  clearTimeout(deadline);
  benchLoop.disable();
  const proxyCpuSeconds =
    proxyPid === undefined || cpuBefore === undefined ? undefined : (await readCpuSeconds(proxyPid)) - cpuBefore;

  const short = results.filter((end) => end.received < shape.eventsPerStream);
  const gateShortfall = started >= shape.streams ? undefined : `${started} of ${shape.streams} streams at the gate`;
  return {
    latencies,
    afterOpening,
    delivery: {
      expected: shape.streams * shape.eventsPerStream,
      delivered: results.reduce((sum, end) => sum + end.received, 0),
      shortStreams: short.length,
      firstError: gateShortfall ?? short.find((end) => end.error)?.error,
    },
    benchLoop: { p99Ms: benchLoop.percentile(99) / 1e6, maxMs: benchLoop.max / 1e6 },
    openSeconds,
    proxyCpuSeconds,
  };
}

/**
 * Opens `count` streams, OPEN_CONCURRENCY at a time. If one fails or the whole takes too long,
 * every stream opened (or opened later) is closed and the error thrown.
 */
async function openAll(count: number, open: () => Promise<http.IncomingMessage>): Promise<http.IncomingMessage[]> {
  const opened: http.IncomingMessage[] = [];
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // Bounded: each pass takes one of `count` slots, and a failure anywhere stops every worker.
    while (next < count && !failed) {
      next++;
      const res = await open();
      opened.push(res);
      if (failed) res.destroy();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${opened.length} of ${count} streams open after ${OPEN_TIMEOUT_MS} ms`)),
      OPEN_TIMEOUT_MS,
    );
  });
  try {
    const workers = Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker);
    await Promise.race([Promise.all(workers), timeout]);
    return opened;
  } catch (err) {
    failed = true;
    for (const res of opened) res.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Receives one stream to its end, telling `onLatency` when each event was sent and how late it came. */
function receive(
  res: http.IncomingMessage,
  expected: number,
  onLatency: (sentAt: number, latency: number) => void,
): Promise<StreamEnd> {
  return new Promise((resolve) => {
    let received = 0;
    let error: string | undefined;
    readStampedEvents(res, (stamp, arrivedAt) => {
      if (stamp.seq !== received) error ??= `event ${stamp.seq} came where ${received} was due`;
      received++;
      onLatency(stamp.sentAt, arrivedAt - stamp.sentAt);
    });
    res.once('error', (err) => {
      error ??= err.message;
    });
    res.once('close', () => {
      if (received < expected) error ??= `closed after ${received} of ${expected} events`;
      resolve({ received, error });
    });
  });
}
