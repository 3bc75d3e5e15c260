import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { ExchangeOpenedEvent, RawHeaders } from '../../app/proxy-events.js';
import { heldForReplay } from '../../main/host/held-replay.js';
import {
  applyEvent,
  applyOwnEvent,
  emptyTraffic,
  replaceExchange,
  type Traffic,
} from '../../renderer/src/store/apply-event.js';
import { rowState } from '../../renderer/src/store/exchange-row.js';
import { filterIds, NO_FILTER } from '../../renderer/src/store/filter.js';
import { sseEvent } from '../helpers/host-events.js';

function open(id: number, url: string): HostEvent {
  return {
    type: 'exchange-opened',
    id,
    t: id * 10,
    wallTime: 0,
    kind: 'http',
    intercepted: false,
    clientAddress: '127.0.0.1',
    request: { method: 'GET', url, httpVersion: '1.1', headers: [] },
  };
}

function head(id: number, status: number, headers: RawHeaders): HostEvent {
  return {
    type: 'response-head',
    id,
    t: id * 10 + 1,
    response: { status, statusText: '', httpVersion: '1.1', headers },
    timings: { dns: -1, connect: 1, ssl: -1 },
    requestSentAt: id * 10,
  };
}

function apply(traffic: Traffic, ...events: HostEvent[]): void {
  for (const event of events) applyEvent(traffic, event);
}

describe('the renderer traffic model', () => {
  it('builds an exchange from its events: chunks, pauses (open ones closed by the end), SSE, outcome', () => {
    const traffic = emptyTraffic();
    apply(
      traffic,
      open(1, 'https://api.test/v1/stream'),
      head(1, 200, [['Content-Type', 'text/event-stream; charset=utf-8']]),
    );
    expect(rowState(traffic.exchanges.get(1)!)).toBe('streaming');
    apply(
      traffic,
      { type: 'chunk', id: 1, direction: 'response', offset: 0, size: 5, readAt: 12, flushedAt: 12.1, index: 0 },
      { type: 'backpressure-paused', id: 1, direction: 'response', t: 13, queuedBytes: 4096 },
      { type: 'backpressure-resumed', id: 1, direction: 'response', t: 15, pausedAt: 13, queuedBytes: 8192 },
      { type: 'backpressure-paused', id: 1, direction: 'response', t: 16, queuedBytes: 100 },
      { type: 'sse-event', id: 1, index: 0, eventId: '1', event: undefined, data: 'hi', t: 12, chunkRange: [0, 0] },
      { type: 'chunk', id: 1, direction: 'response', offset: 5, size: 7, readAt: 17, flushedAt: 18, index: 1 },
      {
        type: 'exchange-closed',
        id: 1,
        t: 20,
        outcome: 'client-closed',
        requestBytes: 0,
        responseBytes: 12,
        pausedMs: 6,
      },
    );
    const x = traffic.exchanges.get(1)!;
    expect(x.responseBody.bytes).toBe(12);
    expect(x.responseBody.chunks).toHaveLength(2);
    expect(x.responseBody.pauses).toEqual([
      { direction: 'response', start: 13, end: 15, queuedBytes: 8192 },
      { direction: 'response', start: 16, end: 20, queuedBytes: 100 },
    ]);
    expect(x.sse.map((e) => e.data)).toEqual(['hi']);
    expect(rowState(x)).toBe('client-closed');
    expect(x.revision).toBeGreaterThan(5);
  });

  it("drops a long stream's oldest events past its cap, counting them and keeping the first for timing", () => {
    const traffic = emptyTraffic();
    const limits = { maxChunksPerBody: 100, maxExchanges: 10, maxMessagesPerExchange: 10 };
    applyEvent(traffic, open(1, 'http://a.test/feed'), limits);
    const sent = Array.from({ length: 12 }, (_, index) => sseEvent(1, index, { t: 100 + index }));
    for (const event of sent) applyEvent(traffic, event, limits);
    const x = traffic.exchanges.get(1)!;
    // Past 10 the oldest beyond 90 % go: 11 → 9 kept, 2 dropped; the 12th makes 10.
    expect(x.sse).toHaveLength(10);
    expect(x.sseDropped).toBe(2);
    expect(x.sse[0]).toBe(sent[2]);
    expect(x.sseFirst).toBe(sent[0]);
  });

  it('merges chunks past its per-body cap and forgets the oldest finished exchanges past its cap', () => {
    const traffic = emptyTraffic();
    const limits = { maxChunksPerBody: 2, maxExchanges: 10 };
    applyEvent(traffic, open(1, 'http://a.test/'), limits);
    for (let i = 0; i < 5; i++) {
      applyEvent(
        traffic,
        { type: 'chunk', id: 1, direction: 'response', offset: i * 3, size: 3, readAt: i, flushedAt: i, index: i },
        limits,
      );
    }
    expect(traffic.exchanges.get(1)!.responseBody.chunks.map((c) => c.size)).toEqual([3, 12]);
    expect(traffic.exchanges.get(1)!.responseBody.bytes).toBe(15);
    for (let id = 2; id <= 12; id++) {
      applyEvent(traffic, open(id, `http://a.test/${id}`), limits);
      applyEvent(
        traffic,
        { type: 'exchange-closed', id, t: 1, outcome: 'completed', requestBytes: 0, responseBytes: 0, pausedMs: 0 },
        limits,
      );
    }
    expect(traffic.order.length).toBeLessThanOrEqual(10);
    // Exchange 1 is still open: it stays.
    expect(traffic.order[0]).toBe(1);
  });

  it('filters by text, host suffix, status class, type and streaming, keeping arrival order', () => {
    const traffic = emptyTraffic();
    apply(
      traffic,
      open(1, 'https://api.example.com/users'),
      head(1, 200, [['content-type', 'application/json']]),
      open(2, 'https://cdn.other.net/app.js'),
      head(2, 404, [['content-type', 'text/javascript']]),
      open(3, 'https://api.example.com/events'),
      head(3, 200, [['content-type', 'text/event-stream']]),
      open(4, 'http://example.com/pending'),
    );
    const ids = (filter: Partial<typeof NO_FILTER>) =>
      filterIds(traffic.order, traffic.exchanges, { ...NO_FILTER, ...filter });
    expect(ids({})).toEqual([1, 2, 3, 4]);
    expect(ids({ text: 'USERS' })).toEqual([1]);
    expect(ids({ host: 'example.com' })).toEqual([1, 3, 4]);
    expect(ids({ status: '4xx' })).toEqual([2]);
    expect(ids({ status: 'pending' })).toEqual([4]);
    expect(ids({ type: 'js' })).toEqual([2]);
    expect(ids({ streamingOnly: true })).toEqual([3]);
    expect(ids({ host: 'example.com', status: '2xx', type: 'sse' })).toEqual([3]);
  });

  it('empties on capture-cleared but keeps notices and status', () => {
    const traffic = emptyTraffic();
    apply(
      traffic,
      open(1, 'http://a.test/'),
      { type: 'host-notice', t: 1, level: 'warning', message: 'settings were reset' },
      { type: 'capture-cleared', t: 2 },
    );
    expect(traffic.order).toEqual([]);
    expect(traffic.exchanges.size).toBe(0);
    expect(traffic.notices).toHaveLength(1);
  });
});

describe('an exchange the replay sent in short', () => {
  /** What the store's `restore` does a frame's worth at a time, in one go. */
  function restoreExchange(traffic: Traffic, id: number, events: readonly HostEvent[]): boolean {
    const scratch = emptyTraffic();
    for (const event of events) applyOwnEvent(scratch, id, event);
    const whole = scratch.exchanges.get(id);
    return whole !== undefined && replaceExchange(traffic, whole);
  }

  /** A gRPC server stream: one request message, three answers, then its status. */
  function serverStream(id: number): HostEvent[] {
    const opened: HostEvent = {
      ...(open(id, `http://api.test/pkg.Feed/Watch`) as ExchangeOpenedEvent),
      request: {
        method: 'POST',
        url: 'http://api.test/pkg.Feed/Watch',
        httpVersion: '2',
        headers: [['content-type', 'application/grpc']],
      },
    };
    const message = (direction: 'request' | 'response', index: number): HostEvent => ({
      type: 'rpc-message',
      id,
      direction,
      index,
      kind: 'message',
      t: id * 10 + index,
      wireBytes: 5,
      size: 5,
      compressed: false,
      data: 'AAAAAAA=',
      binary: true,
      chunkRange: [index, index],
    });
    const chunk = (direction: 'request' | 'response', index: number): HostEvent => ({
      type: 'chunk',
      id,
      direction,
      offset: index * 10,
      size: 10,
      readAt: id * 10 + index * 50,
      flushedAt: id * 10 + index * 50,
      index,
    });
    return [
      opened,
      chunk('request', 0),
      message('request', 0),
      head(id, 200, [['content-type', 'application/grpc']]),
      ...[0, 1, 2].flatMap((index) => [chunk('response', index), message('response', index)]),
      {
        type: 'rpc-status',
        id,
        t: id * 10 + 200,
        protocol: 'grpc',
        source: 'trailers',
        code: 0,
        name: 'OK',
        trailers: [['grpc-status', '0']],
      },
      {
        type: 'exchange-closed',
        id,
        t: id * 10 + 201,
        outcome: 'completed',
        requestBytes: 10,
        responseBytes: 30,
        pausedMs: 0,
      },
    ];
  }

  it('is still a stream in the list, and is swapped whole, in its place, for its events', () => {
    const traffic = emptyTraffic();
    const whole = serverStream(2);
    for (const event of [...serverStream(1), ...heldForReplay(whole), ...serverStream(3)]) applyEvent(traffic, event);
    const short = traffic.exchanges.get(2)!;
    expect(short.held).toBe(4);
    expect(short.rpcMessages).toEqual([]);
    expect(short.responseBody.bytes).toBe(30);
    expect(short.responseBody.rpcTotals.messages).toBe(3);
    expect(filterIds(traffic.order, traffic.exchanges, { ...NO_FILTER, streamingOnly: true })).toEqual([1, 2, 3]);
    expect(rowState(short)).toBe('completed');

    const listRevision = traffic.listRevision;
    expect(restoreExchange(traffic, 2, whole)).toBe(true);
    const restored = traffic.exchanges.get(2)!;
    expect(restored.held).toBeUndefined();
    expect(restored.rpcMessages).toHaveLength(4);
    expect(restored.responseBody.chunks).toHaveLength(3);
    expect(restored.rpcStatus?.name).toBe('OK');
    expect(restored.revision).toBeGreaterThan(short.revision);
    expect(traffic.order).toEqual([1, 2, 3]);
    expect(traffic.listRevision).toBeGreaterThan(listRevision);
    // Gone meanwhile, or no events for it: nothing swapped.
    expect(restoreExchange(traffic, 9, whole)).toBe(false);
    expect(restoreExchange(traffic, 1, [])).toBe(false);
  });

  it('keeps that rules matched in a window’s replay, and what they did for when it is shown', () => {
    const ruled = (action: 'match' | 'latency', t: number): HostEvent => ({
      type: 'rule-applied',
      id: 4,
      t,
      rule: 'slow',
      action,
      direction: 'response',
      detail: action === 'match' ? 'matched' : `held event ${t} for 100 ms`,
      ...(action === 'latency' ? { heldMs: 100 } : {}),
    });
    const whole: HostEvent[] = [
      open(4, 'http://api.test/sse'),
      head(4, 200, [['Content-Type', 'text/event-stream']]),
      ruled('match', 41),
      ruled('latency', 42),
      ruled('latency', 43),
      ruled('latency', 44),
      { type: 'exchange-closed', id: 4, t: 50, outcome: 'completed', requestBytes: 0, responseBytes: 0, pausedMs: 0 },
    ];
    const traffic = emptyTraffic();
    apply(traffic, ...heldForReplay(whole));
    const short = traffic.exchanges.get(4)!;
    // One event a delay: detail, left out and counted; the match stays, for the list's mark.
    expect(short.rules.map((e) => e.action)).toEqual(['match']);
    expect(short.held).toBe(3);
    expect(restoreExchange(traffic, 4, whole)).toBe(true);
    const restored = traffic.exchanges.get(4)!;
    expect(restored.rules).toHaveLength(4);
    expect(restored.responseBody.ruleHolds).toHaveLength(3);
  });
});
