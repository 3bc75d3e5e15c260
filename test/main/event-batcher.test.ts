import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventBatch, HostEvent } from '../../app/contract.js';
import type { ChunkEvent, ExchangeClosedEvent, ExchangeOpenedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { EventBatcher, thinChunks } from '../../main/host/event-batcher.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import { summarize } from '../../renderer/src/timeline/timeline-model.js';
import { fetchViaProxy } from '../helpers/client.js';
import { sseEvent } from '../helpers/host-events.js';
import { useRig } from '../helpers/schemes.js';

/** Upstream writes per second; each write is one small SSE event, so one chunk and one sse-event. */
const RATE = 10_000;
const TICK_MS = 10;

interface FloodRecord {
  readonly bytes: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

const floods = new Map<string, FloodRecord>();

function floodPiece(n: number): string {
  // 32 bytes on the wire before chunked framing.
  return `data: ${String(n).padStart(8, '0')} flood-pad-pad\n\n`;
}

/**
 * Writes `RATE` separate small SSE events per second for `seconds`, as 100 writes every 10 ms
 * (catching up by the clock if a tick runs late), each write a chunk of its own on the wire.
 */
function flood(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const total = RATE * Number(url.searchParams.get('seconds') ?? '1');
  const key = url.searchParams.get('key') ?? '';
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const startedAt = performance.now();
  let written = 0;
  let bytes = 0;
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) * RATE) / 1000));
    for (; written < due; written++) {
      const piece = floodPiece(written);
      res.write(piece);
      bytes += piece.length;
    }
    if (written < total) return;
    clearInterval(timer);
    res.end();
    floods.set(key, { bytes, startedAt, endedAt: performance.now() });
  };
  const timer = setInterval(tick, TICK_MS);
  res.on('close', () => clearInterval(timer));
}

interface Consumer {
  readonly batches: EventBatch[];
  /** Every event delivered, events-dropped included, in order. */
  delivered(): HostEvent[];
}

function collectingConsumer(): Consumer & { send: (batch: EventBatch) => void } {
  const batches: EventBatch[] = [];
  return { batches, send: (batch) => batches.push(batch), delivered: () => batches.flatMap((b) => b.events) };
}

function expectSeqFromZero(batches: readonly EventBatch[]): void {
  expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i));
}

function droppedCounts(events: readonly HostEvent[]): number[] {
  return events.flatMap((e) => (e.type === 'events-dropped' ? [e.count] : []));
}

/** Not a display event: what the renderer's model of exchanges is built from. */
function isStructural(event: HostEvent): boolean {
  return event.type !== 'chunk' && event.type !== 'sse-event' && event.type !== 'sse-retry';
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every few ms, failing after `ms`: timer tests stay correct on a loaded machine. */
async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(5);
  }
}

describe('event batching under a real flood', () => {
  const rig = useRig('http', (req, res) => {
    if (req.url?.startsWith('/flood')) flood(req, res);
    else res.writeHead(404).end();
  });
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  /** Subscribes a counting listener and the batcher, runs one flood, and waits for its close. */
  async function runFlood(batcher: EventBatcher, seconds: number, onEvent?: () => void) {
    const emitted: ProxyEvent[] = [];
    cleanups.push(rig.proxy.proxy.subscribe((e) => emitted.push(e)));
    cleanups.push(
      rig.proxy.proxy.subscribe((e) => {
        batcher.push(e);
        onEvent?.();
      }),
    );
    cleanups.push(() => batcher.close());
    const key = `${seconds}-${Math.random()}`;
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/flood?seconds=${seconds}&key=${key}`);
    const opened = await rig.proxy.waitFor(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.includes(key),
    );
    const closed = await rig.proxy.waitFor(
      (e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === opened.id,
    );
    const sent = floods.get(key);
    if (!sent) throw new Error('the upstream did not finish its flood');
    const chunks = emitted.filter((e) => e.type === 'chunk' && e.id === opened.id && e.direction === 'response');
    return { res, emitted, opened, closed, sent, chunks };
  }

  it(
    'delivers a 10 s flood of 10,000 chunks/s whole, in at most one batch per 16 ms',
    { timeout: 25_000 },
    async () => {
      const consumer = collectingConsumer();
      const batcher = new EventBatcher({ send: consumer.send });
      const { res, emitted, opened, closed, sent, chunks } = await runFlood(batcher, 10);
      batcher.flushNow();

      expect(res.status).toBe(200);
      expect(res.complete).toBe(true);
      expect(res.body.length).toBe(sent.bytes);
      expect(closed.outcome).toBe('completed');

      const floodSeconds = (sent.endedAt - sent.startedAt) / 1000;
      const chunksPerSecond = chunks.length / floodSeconds;
      expect(chunksPerSecond).toBeGreaterThan(5000);

      const { batches } = consumer;
      const spanMs = closed.t - sent.startedAt;
      expect(batches.length).toBeLessThanOrEqual(spanMs / 16 + 10);
      expect(Math.max(...batches.map((b) => b.events.length))).toBeLessThanOrEqual(2000);
      expectSeqFromZero(batches);

      // Nothing lost. A batch that came late (a busy machine) may have had a body's neighbouring
      // chunks merged past 500 (see thinChunks): the byte ranges must still cover the body exactly.
      expect(batcher.dropped).toBe(0);
      const delivered = consumer.delivered();
      const notChunks = (events: readonly HostEvent[]) => events.filter((e) => e.type !== 'chunk');
      const others = notChunks(delivered);
      const emittedOthers = notChunks(emitted);
      expect(others.length).toBe(emittedOthers.length);
      expect(others.findIndex((e, i) => e !== emittedOthers[i])).toBe(-1);
      const deliveredChunks = delivered.filter(
        (e): e is ChunkEvent => e.type === 'chunk' && e.id === opened.id && e.direction === 'response',
      );
      let covered = 0;
      let gaps = 0;
      for (const chunk of deliveredChunks) {
        if (chunk.offset !== covered) gaps++;
        covered = chunk.offset + chunk.size;
      }
      expect(gaps).toBe(0);
      expect(covered).toBe(sent.bytes);
      expect(deliveredChunks.length + batcher.merged).toBe(chunks.length);

      console.log(
        `flood: ${Math.round(chunksPerSecond)} chunk events/s, ${Math.round(emitted.length / floodSeconds)} ` +
          `events/s in all over ${floodSeconds.toFixed(1)} s; ${(batches.length / (spanMs / 1000)).toFixed(1)} ` +
          `batches/s, largest ${Math.max(...batches.map((b) => b.events.length))} events, ${batcher.merged} merged`,
      );
    },
  );

  it('summarises and drops display events for a slow renderer, never slowing the proxy', async () => {
    const consumer = collectingConsumer();
    // The renderer takes one batch per 500 ms while slow: far below the flood's 20,000 events/s.
    let slow = true;
    let nextReadyAt = 0;
    const ready = (): boolean => {
      if (!slow) return true;
      const at = performance.now();
      if (at < nextReadyAt) return false;
      nextReadyAt = at + 500;
      return true;
    };
    const batcher = new EventBatcher({ send: consumer.send, ready, maxBatch: 500, maxQueued: 5000 });
    let peak = 0;
    const { res, emitted, opened, closed, sent } = await runFlood(batcher, 3, () => {
      peak = Math.max(peak, batcher.queued);
    });
    const batchesWhileSlow = consumer.batches.length;
    slow = false;
    batcher.flushNow();

    expect(res.body.length).toBe(sent.bytes);
    expect(closed.outcome).toBe('completed');
    expect(closed.t - sent.endedAt).toBeLessThan(1500);

    expect(peak).toBeLessThanOrEqual(batcher.hardCap);
    expect(batchesWhileSlow).toBeLessThanOrEqual(Math.ceil((sent.endedAt - sent.startedAt) / 500) + 2);
    expect(Math.max(...consumer.batches.map((b) => b.events.length))).toBeLessThanOrEqual(500);
    expectSeqFromZero(consumer.batches);

    const delivered = consumer.delivered();
    const counts = droppedCounts(delivered);
    expect(sum(counts)).toBeGreaterThan(0);
    expect(sum(counts)).toBe(batcher.dropped);
    const kept = delivered.filter((e) => e.type !== 'events-dropped');
    expect(kept.length + batcher.merged + batcher.dropped).toBe(emitted.length);

    const structuralEmitted = emitted.filter(isStructural);
    expect(structuralEmitted.filter((e) => 'id' in e && e.id === opened.id).map((e) => e.type)).toEqual(
      expect.arrayContaining(['exchange-opened', 'response-head', 'exchange-closed']),
    );
    expect(kept.filter(isStructural)).toEqual(structuralEmitted);

    console.log(
      `slow renderer: ${emitted.length} events, ${batcher.merged} merged, ${batcher.dropped} dropped, ` +
        `peak queue ${peak}, closed ${(closed.t - sent.endedAt).toFixed(0)} ms after the upstream's last write`,
    );
  });
});

describe('EventBatcher overflow, exactly', () => {
  let at = 0;
  function chunk(
    id: number,
    index: number,
    offset: number,
    size = 10,
    direction: 'request' | 'response' = 'response',
  ): ChunkEvent {
    at += 1;
    return { type: 'chunk', id, direction, offset, size, readAt: at, flushedAt: at + 0.5, index };
  }
  function sse(id: number, index: number): HostEvent {
    return sseEvent(id, index, { data: `${index}`, t: ++at });
  }
  function notice(n: number): HostEvent {
    return { type: 'host-notice', t: ++at, level: 'info', message: `n${n}` };
  }
  function closedEvent(id: number): HostEvent {
    return {
      type: 'exchange-closed',
      id,
      t: ++at,
      outcome: 'completed',
      requestBytes: 0,
      responseBytes: 0,
      pausedMs: 0,
    };
  }

  const made: EventBatcher[] = [];
  function closeAfterTest(batcher: EventBatcher): void {
    made.push(batcher);
  }
  afterEach(() => {
    for (const batcher of made.splice(0)) batcher.close();
  });

  /** A batcher whose consumer is not ready until `open()`, so pushes only queue. */
  function gatedBatcher(options: { maxQueued: number; maxBatch?: number }) {
    const consumer = collectingConsumer();
    let isReady = false;
    const batcher = new EventBatcher({ ...options, send: consumer.send, ready: () => isReady });
    closeAfterTest(batcher);
    const open = (): HostEvent[] => {
      isReady = true;
      batcher.flushNow();
      batcher.close();
      return consumer.delivered();
    };
    return { batcher, consumer, open };
  }

  it('merges contiguous chunks of one body into one covering their range, counting none as dropped', () => {
    const { batcher, open } = gatedBatcher({ maxQueued: 8 });
    const head = notice(0);
    const first = chunk(1, 0, 0);
    const request = chunk(1, 0, 0, 5, 'request');
    const rest = [chunk(1, 1, 10), sse(1, 1), chunk(1, 2, 20), chunk(2, 0, 0), chunk(1, 3, 30), chunk(1, 5, 50)];
    for (const e of [head, first, request, ...rest]) batcher.push(e);
    expect(batcher.queued).toBe(6);
    const gap = rest[5] as ChunkEvent;
    const last = rest[4] as ChunkEvent;
    // The ninth push overflows: chunks 1..3 fold into chunk 0; the gap at offset 40 stops merging.
    expect(batcher.merged).toBe(3);
    expect(batcher.dropped).toBe(0);
    const delivered = open();
    expect(delivered).toEqual([
      head,
      { ...first, size: 40, flushedAt: last.flushedAt, reads: 4 },
      request,
      rest[1],
      rest[3],
      gap,
    ]);
  });

  it('drops the oldest chunks, then the oldest SSE events, and says how many first', () => {
    const { batcher, open } = gatedBatcher({ maxQueued: 8 });
    // Chunks of different exchanges cannot merge, so overflow must drop.
    const events = [
      notice(0),
      chunk(2, 0, 0),
      sse(1, 0),
      sse(1, 1),
      chunk(3, 0, 0),
      sse(1, 2),
      sse(1, 3),
      sse(1, 4),
      closedEvent(1),
    ];
    for (const e of events) batcher.push(e);
    // 9 > 8: down to 6 by dropping both chunks, then the oldest sse-event.
    expect(batcher.dropped).toBe(3);
    expect(batcher.merged).toBe(0);
    const delivered = open();
    expect(delivered[0]).toMatchObject({ type: 'events-dropped', count: 3 });
    expect(delivered.slice(1)).toEqual([events[0], events[3], events[5], events[6], events[7], events[8]]);
  });

  it('gives a burst pushed in one go to a consumer that is ready, rather than dropping it at the cap', () => {
    // The proxy records a loop turn's chunks together, after forwarding them: an LLM stream read in
    // one go arrives as thousands of events before the batcher's next turn.
    const consumer = collectingConsumer();
    // Ready until it holds 30 events unread, as a WebSocket is until its buffer fills.
    const batcher = new EventBatcher({
      send: consumer.send,
      ready: () => consumer.delivered().length < 30,
      maxQueued: 8,
      maxBatch: 5,
    });
    closeAfterTest(batcher);
    const events = Array.from({ length: 36 }, (_, i) => sse(1, i));
    for (const e of events) batcher.push(e);
    expect(batcher.dropped).toBe(0);
    const delivered = consumer.delivered();
    expect(delivered.length).toBeGreaterThanOrEqual(30);
    expect(delivered).toEqual(events.slice(0, delivered.length));
    expect(delivered.length + batcher.queued).toBe(events.length);
    // Past what the consumer can take, the cap holds as before: the oldest SSE events go.
    for (let i = 36; i < 60; i++) batcher.push(sse(1, i));
    expect(batcher.dropped).toBeGreaterThan(0);
    expect(batcher.queued).toBeLessThanOrEqual(batcher.hardCap);
  });

  it('keeps structural events up to the hard cap, then drops the oldest, in batches of maxBatch', () => {
    const { batcher, consumer, open } = gatedBatcher({ maxQueued: 8, maxBatch: 5 });
    const events = Array.from({ length: 20 }, (_, n) => notice(n));
    let peak = 0;
    for (const e of events) {
      batcher.push(e);
      peak = Math.max(peak, batcher.queued);
      // Ticks that find the consumer not ready must not move the bounds.
      batcher.flushNow();
      expect(batcher.queued).toBeLessThanOrEqual(batcher.hardCap);
    }
    // Compactions at 9 and 12 events drop nothing; at 15 one and at 17 three, down to 14 (cap - slack).
    expect(batcher.hardCap).toBe(16);
    expect(peak).toBe(16);
    expect(batcher.dropped).toBe(4);
    const delivered = open();
    expect(consumer.batches.map((b) => b.events.length)).toEqual([5, 5, 5, 2]);
    expectSeqFromZero(consumer.batches);
    expect(delivered[0]).toMatchObject({ type: 'events-dropped', count: 4 });
    expect(delivered.slice(1)).toEqual(events.slice(4));
  });

  it('reports events a throwing send lost in the next batch', () => {
    let fail = true;
    const batches: EventBatch[] = [];
    const batcher = new EventBatcher({
      send: (batch) => {
        if (fail) throw new Error('channel closed');
        batches.push(batch);
      },
    });
    closeAfterTest(batcher);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    batcher.push(notice(1));
    batcher.push(notice(2));
    batcher.flushNow();
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
    fail = false;
    const third = notice(3);
    batcher.push(third);
    batcher.flushNow();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.seq).toBe(0);
    expect(batches[0]!.events[0]).toMatchObject({ type: 'events-dropped', count: 2 });
    expect(batches[0]!.events.slice(1)).toEqual([third]);
  });

  it('waits for the interval, sends a full batch at once, and retries while the consumer is not ready', async () => {
    const consumer = collectingConsumer();
    let isReady = true;
    const batcher = new EventBatcher({ send: consumer.send, ready: () => isReady, intervalMs: 40, maxBatch: 10 });
    closeAfterTest(batcher);
    const sizes = (): number[] => consumer.batches.map((b) => b.events.length);

    const pushedAt = performance.now();
    batcher.push(notice(1));
    expect(sizes()).toEqual([]);
    await until(() => sizes().length === 1);
    expect(performance.now() - pushedAt).toBeGreaterThanOrEqual(39);

    for (let n = 0; n < 10; n++) batcher.push(notice(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sizes()).toEqual([1, 10]);

    isReady = false;
    batcher.push(notice(11));
    await sleep(150);
    expect(sizes()).toEqual([1, 10]);
    isReady = true;
    await until(() => sizes().length === 3);
    expect(sizes()).toEqual([1, 10, 1]);
  });

  it('sends history read page by page before anything pushed meanwhile, asking for a page only when one is needed', async () => {
    const consumer = collectingConsumer();
    const batcher = new EventBatcher({ send: consumer.send, maxBatch: 4 });
    closeAfterTest(batcher);
    const asked: number[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* pages(): AsyncGenerator<HostEvent[]> {
      for (let page = 0; page < 3; page++) {
        asked.push(page);
        if (page === 1) await gate;
        yield [
          notice(page * 10),
          notice(page * 10 + 1),
          notice(page * 10 + 2),
          notice(page * 10 + 3),
          notice(page * 10 + 4),
        ];
      }
    }
    batcher.prime({ [Symbol.asyncIterator]: pages });
    batcher.push(notice(100));
    await until(() => consumer.delivered().length === 5);
    // The second page is still being read: the live event waits behind it.
    await sleep(50);
    expect(asked).toEqual([0, 1]);
    expect(consumer.delivered().length).toBe(5);
    release();
    await until(() => consumer.delivered().length === 16);
    const messages = consumer.delivered().map((e) => (e.type === 'host-notice' ? e.message : e.type));
    expect(messages).toEqual([...[0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24].map((n) => `n${n}`), 'n100']);
    expectSeqFromZero(consumer.batches);
  });

  it('reads history page after page on an idle host, without waiting for other work to wake it', async () => {
    const consumer = collectingConsumer();
    // Its own timer far off: only the batcher's reaction to each page can move the replay on.
    const batcher = new EventBatcher({ send: consumer.send, intervalMs: 10_000 });
    closeAfterTest(batcher);
    async function* pages(): AsyncGenerator<HostEvent[]> {
      for (let page = 0; page < 8; page++) {
        // As a page read from the store's worker arrives: an event of the loop, then nothing else.
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield [notice(page)];
      }
    }
    batcher.prime({ [Symbol.asyncIterator]: pages });
    // One wait, no polling: a poll would wake the loop and hide a replay that only moves when woken.
    await sleep(400);
    expect(consumer.delivered().length).toBe(8);
  });

  it('goes on with live events when a history page cannot be read', async () => {
    const consumer = collectingConsumer();
    const batcher = new EventBatcher({ send: consumer.send });
    closeAfterTest(batcher);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      async function* pages(): AsyncGenerator<HostEvent[]> {
        yield [notice(1)];
        throw new Error('store worker stopped');
      }
      batcher.prime({ [Symbol.asyncIterator]: pages });
      batcher.push(notice(2));
      await until(() => consumer.delivered().length === 2);
      expect(consumer.delivered().map((e) => (e.type === 'host-notice' ? e.message : e.type))).toEqual(['n1', 'n2']);
      await until(() => warnings.some((w) => w.includes('store worker stopped')));
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('thinning a batch', () => {
  const chunk = (id: number, index: number): HostEvent => ({
    type: 'chunk',
    id,
    direction: 'response',
    offset: index * 4,
    size: 4,
    readAt: index,
    flushedAt: index + 0.5,
    index,
  });

  it('merges neighbours only for bodies over the cap, keeping byte ranges and other events in place', () => {
    const events: HostEvent[] = [];
    for (let i = 0; i < 10; i++) events.push(chunk(1, i));
    events.splice(5, 0, { type: 'sse-retry', id: 1, t: 5, retryMs: 100 });
    events.push(chunk(2, 0), chunk(2, 1));
    const folded = thinChunks(events, 3);
    const ones = events.filter((e) => e.type === 'chunk' && e.id === 1) as ChunkEvent[];
    // Ten chunks, at most three: groups of four, the sse-retry between members left where it was.
    expect(ones.map((c) => [c.offset, c.size, c.index, c.readAt, c.flushedAt])).toEqual([
      [0, 16, 0, 0, 3.5],
      [16, 16, 4, 4, 7.5],
      [32, 8, 8, 8, 9.5],
    ]);
    expect(events.map((e) => e.type).indexOf('sse-retry')).toBe(2);
    expect(events.filter((e) => e.type === 'chunk' && e.id === 2)).toHaveLength(2);
    expect(events.some((e) => e.type === 'sse-retry')).toBe(true);
    expect(folded).toBe(12 - events.filter((e) => e.type === 'chunk').length);
  });
});

describe('what the renderer makes of thinned batches', () => {
  it("counts a body's real chunks when neighbours were merged on the way (801 kept as 401 events)", () => {
    const traffic = emptyTraffic();
    const chunks: HostEvent[] = Array.from({ length: 801 }, (_, i) => ({
      type: 'chunk',
      id: 1,
      direction: 'response',
      offset: i * 10,
      size: 10,
      readAt: 100 + i,
      flushedAt: 100 + i,
      index: i,
    }));
    // What a batch with more than 500 chunks of one body goes through before the renderer sees it.
    thinChunks(chunks, 500);
    expect(chunks.length).toBe(401);
    for (const event of [opened(1), ...chunks]) applyEvent(traffic, event);
    const body = traffic.exchanges.get(1)!.responseBody;
    expect(summarize(body, 2000)).toMatchObject({ chunks: 801, bytes: 8010 });
  });
});

function opened(id: number): HostEvent {
  return {
    type: 'exchange-opened',
    id,
    t: 0,
    wallTime: 0,
    kind: 'http',
    intercepted: false,
    clientAddress: '127.0.0.1',
    request: { method: 'GET', url: 'http://x/', httpVersion: '1.1', headers: [] },
  };
}
