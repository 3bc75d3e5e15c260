import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Upstream } from './clients.js';
import { UPSTREAM_TLS_HOST, type UpstreamCredentials } from './upstream.js';

export interface SseUpstream {
  readonly upstream: Upstream;
  /** Holds back the streams asked for with `gated=1` until opened. */
  readonly gate: StreamGate;
  close(): Promise<void>;
}

/** What every event carries: its place in the stream and when it was written (performance.now()). */
export interface EventStamp {
  readonly seq: number;
  readonly sentAt: number;
}

/**
 * An SSE upstream inside the bench process, so the time stamped into each event and the time the
 * client sees it come from one monotonic clock (performance.now()).
 */
export async function startSseUpstream(credentials: UpstreamCredentials): Promise<SseUpstream> {
  const gate = new StreamGate();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => sendEvents(req, res, gate);
  const plain = http.createServer(handler);
  const secure = https.createServer({ key: credentials.key, cert: credentials.cert }, handler);
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
    gate,
    close: async () => {
      gate.drop();
      await Promise.all([close(plain), close(secure)]);
    },
  };
}

/**
 * Streams that have sent their head and wait to begin, so that many can be connected first and
 * then all run at once: the load is then the streams, not the connecting.
 */
export class StreamGate {
  private waiting = new Set<(openedAt: number) => void>();

  /** Starts every waiting stream; returns how many. */
  open(): number {
    const starts = [...this.waiting];
    this.waiting.clear();
    const openedAt = performance.now();
    for (const start of starts) start(openedAt);
    return starts.length;
  }

  /** Forgets the waiting streams (their connections are closed by whoever holds them). */
  drop(): void {
    this.waiting.clear();
  }

  hold(start: (openedAt: number) => void, res: http.ServerResponse): void {
    this.waiting.add(start);
    res.once('close', () => this.waiting.delete(start));
  }
}

/**
 * GET /sse?count=N&intervalMs=M: N events M ms apart, each carrying the time it was written.
 * With `gated=1` the head goes out at once and the events wait for the gate; each stream then
 * starts at a random point within one interval, so a thousand streams do not all write in the
 * same millisecond, and keeps to a schedule (event k at start + k * M) so timers made late by
 * the load do not lower the rate.
 */
function sendEvents(req: http.IncomingMessage, res: http.ServerResponse, gate: StreamGate): void {
  const url = new URL(req.url ?? '/', 'http://bench.invalid');
  const count = Math.min(10_000, Number(url.searchParams.get('count')) || 0);
  const intervalMs = Number(url.searchParams.get('intervalMs')) || 5;
  const gated = url.searchParams.get('gated') === '1';
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let seq = 0;
  let firstAt = 0;
  const sendNext = (): void => {
    if (res.destroyed) return;
    if (seq >= count) {
      res.end();
      return;
    }
    res.write(`id: ${seq}\nevent: tick\ndata: {"seq":${seq},"sentAt":${performance.now()}}\n\n`);
    seq++;
    const delayMs = gated ? Math.max(0, firstAt + seq * intervalMs - performance.now()) : intervalMs;
    setTimeout(sendNext, delayMs);
  };
  if (!gated) {
    sendNext();
    return;
  }
  res.flushHeaders();
  gate.hold((openedAt) => {
    firstAt = openedAt + Math.random() * intervalMs;
    setTimeout(sendNext, firstAt - performance.now());
  }, res);
}

/**
 * Calls `onEvent` for each event of an SSE response with the time its last byte arrived, taken
 * once per chunk read (events that came in one read arrived together).
 */
export function readStampedEvents(
  res: http.IncomingMessage,
  onEvent: (stamp: EventStamp, arrivedAt: number) => void,
): void {
  let pending = '';
  res.setEncoding('utf8');
  res.on('data', (text: string) => {
    const arrivedAt = performance.now();
    pending += text;
    let end = pending.indexOf('\n\n');
    // Bounded: each pass consumes one complete event from `pending`.
    while (end >= 0) {
      const data = /^data: (.*)$/m.exec(pending.slice(0, end));
      if (data?.[1]) onEvent(JSON.parse(data[1]) as EventStamp, arrivedAt);
      pending = pending.slice(end + 2);
      end = pending.indexOf('\n\n');
    }
  });
}
