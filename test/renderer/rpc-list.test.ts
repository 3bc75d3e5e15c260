import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { RawHeaders, RpcMessageEvent, RpcStatusEvent } from '../../app/proxy-events.js';
import { applyEvent, emptyTraffic, type Traffic, type TrafficLimits } from '../../renderer/src/store/apply-event.js';
import {
  isStreamed,
  pathLabel,
  protocolSummary,
  statusCell,
  typeCategory,
  typeLabel,
} from '../../renderer/src/store/exchange-row.js';
import { filterIds, NO_FILTER, type ExchangeFilter } from '../../renderer/src/store/filter.js';

function call(id: number, path: string, contentType: string, extra: RawHeaders = []): HostEvent {
  return {
    type: 'exchange-opened',
    id,
    t: 1000,
    wallTime: 0,
    kind: 'http',
    intercepted: true,
    clientAddress: '127.0.0.1',
    request: {
      method: 'POST',
      url: `https://api.test${path}`,
      httpVersion: '2',
      headers: [['content-type', contentType], ...extra],
    },
    connectionId: 3,
    streamId: 2 * id + 1,
  };
}

function head(id: number, status = 200, contentType = 'application/grpc'): HostEvent {
  return {
    type: 'response-head',
    id,
    t: 1001,
    response: { status, statusText: '', httpVersion: '2', headers: [['content-type', contentType]] },
    timings: { dns: -1, connect: 1, ssl: -1 },
    requestSentAt: 1000,
  };
}

function message(id: number, direction: 'request' | 'response', index: number, fields: Partial<RpcMessageEvent> = {}) {
  const event: RpcMessageEvent = {
    type: 'rpc-message',
    id,
    direction,
    index,
    kind: 'message',
    t: 1002 + index,
    wireBytes: 7,
    size: 7,
    compressed: false,
    data: 'CgVoZWxsbw==', // field 1: "hello"
    binary: true,
    chunkRange: [index, index],
    ...fields,
  };
  return event;
}

function status(id: number, code: number, name: string, message?: string): RpcStatusEvent {
  return {
    type: 'rpc-status',
    id,
    t: 1100,
    protocol: 'grpc',
    source: 'trailers',
    code,
    name,
    ...(message === undefined ? {} : { message }),
    trailers: [['grpc-status', `${code}`], ...(message === undefined ? [] : ([['grpc-message', message]] as const))],
  };
}

function closed(id: number, outcome: 'completed' | 'client-closed' | 'upstream-reset', reason?: string): HostEvent {
  return {
    type: 'exchange-closed',
    id,
    t: 1200,
    outcome,
    ...(reason === undefined ? {} : { reason }),
    requestBytes: 0,
    responseBytes: 0,
    pausedMs: 0,
  };
}

function apply(traffic: Traffic, events: readonly HostEvent[], limits?: TrafficLimits): void {
  for (const event of events) applyEvent(traffic, event, limits);
}

describe('RPC calls in the store', () => {
  it('keeps the messages of both directions in arrival order, with true totals past the cap', () => {
    const traffic = emptyTraffic();
    const limits = { maxChunksPerBody: 100, maxExchanges: 10, maxMessagesPerExchange: 10 };
    apply(traffic, [call(1, '/sluice.test.Echo/Bidi', 'application/grpc'), head(1)], limits);
    const events: HostEvent[] = [];
    for (let i = 0; i < 12; i++) events.push(message(1, i % 2 === 0 ? 'request' : 'response', i >> 1));
    apply(traffic, events, limits);
    const x = traffic.exchanges.get(1)!;
    // Past 10 the oldest tenth beyond 90 % goes: 11 → 9 kept, 2 dropped; the 12th makes 10.
    expect(x.rpcMessages).toHaveLength(10);
    expect(x.rpcMessagesDropped).toBe(2);
    expect(x.rpcMessages[0]).toBe(events[2]);
    expect(x.requestBody.rpcTotals).toEqual({ frames: 6, messages: 6, wireBytes: 42, bytes: 42 });
    expect(x.responseBody.rpcTotals.frames).toBe(6);
    expect(x.responseBody.messageEndChunks).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('keeps the status, bumping the list revision since the list shows it', () => {
    const traffic = emptyTraffic();
    apply(traffic, [call(1, '/sluice.test.Echo/Unary', 'application/grpc'), head(1)]);
    const before = traffic.listRevision;
    apply(traffic, [message(1, 'response', 0)]);
    expect(traffic.listRevision).toBe(before);
    apply(traffic, [status(1, 5, 'NOT_FOUND', 'no such echo')]);
    expect(traffic.listRevision).toBe(before + 1);
    expect(traffic.exchanges.get(1)!.rpcStatus?.name).toBe('NOT_FOUND');
  });

  it('notes frames that stopped parsing on their direction, apart from the body capture', () => {
    const traffic = emptyTraffic();
    apply(traffic, [
      call(1, '/sluice.test.Echo/Bidi', 'application/grpc'),
      {
        type: 'capture-limited',
        id: 1,
        direction: 'response',
        t: 1003,
        reason: 'rpc-frames',
        atOffset: 10,
        detail: 'a frame of 4 GiB at offset 10',
      },
      { type: 'capture-limited', id: 1, direction: 'response', t: 1004, reason: 'body-cap', atOffset: 100 },
    ]);
    const body = traffic.exchanges.get(1)!.responseBody;
    expect(body.framesStopped?.detail).toBe('a frame of 4 GiB at offset 10');
    expect(body.limited?.reason).toBe('body-cap');
    expect(traffic.exchanges.get(1)!.requestBody.framesStopped).toBeUndefined();
  });

  it('keeps a method path that does not decode as sent', () => {
    const traffic = emptyTraffic();
    apply(traffic, [call(1, '/%E0%A4%A/Method', 'application/grpc')]);
    expect(pathLabel(traffic.exchanges.get(1)!)).toBe('%E0%A4%A/Method');
  });
});

describe('RPC calls in the list', () => {
  const traffic = emptyTraffic();
  apply(traffic, [
    // 1: a server stream still open.
    call(1, '/sluice.test.Echo/ServerStream', 'application/grpc'),
    head(1),
    message(1, 'request', 0),
    message(1, 'response', 0),
    // 2: ended NOT_FOUND.
    call(2, '/sluice.test.Echo/Unary', 'application/grpc'),
    head(2),
    status(2, 5, 'NOT_FOUND', 'nothing here'),
    closed(2, 'completed'),
    // 3: the client cancelled: a reset, no status.
    call(3, '/sluice.test.Echo/ServerStream', 'application/grpc-web+proto'),
    head(3, 200, 'application/grpc-web+proto'),
    closed(3, 'client-closed', 'CANCEL'),
    // 4: Connect unary, OK.
    call(4, '/acme.v1.Users/Get', 'application/json', [['connect-protocol-version', '1']]),
    head(4, 200, 'application/json'),
    { ...status(4, 0, 'OK'), protocol: 'connect-unary', source: 'http-status', trailers: [] },
    closed(4, 'completed'),
    // 5: not a call.
    call(5, '/index.html', 'text/html'),
    head(5, 404, 'text/html'),
  ]);
  const x = (id: number) => traffic.exchanges.get(id)!;
  const ids = (patch: Partial<ExchangeFilter>) =>
    filterIds(traffic.order, traffic.exchanges, { ...NO_FILTER, ...patch });

  it('names a call Service/Method, its package left out', () => {
    expect(pathLabel(x(1))).toBe('Echo/ServerStream');
    expect(pathLabel(x(4))).toBe('Users/Get');
    expect(pathLabel(x(5))).toBe('/index.html');
  });

  it('shows the status name once the server said it, the reset code when it ended without one', () => {
    expect(statusCell(x(1))).toMatchObject({ text: '200', tone: 's2' });
    expect(statusCell(x(2))).toEqual({
      text: 'NOT_FOUND',
      tone: 'rpc-error',
      title: 'gRPC status 5 NOT_FOUND: nothing here · HTTP 200',
    });
    expect(statusCell(x(3))).toMatchObject({ text: 'CANCEL', tone: 'rpc-error' });
    expect(statusCell(x(3)).title).toContain('client closed (CANCEL)');
    expect(statusCell(x(4))).toMatchObject({ text: 'OK', tone: 'rpc-ok' });
    expect(statusCell(x(5))).toEqual({ text: '404', tone: 's4', title: 'HTTP 404' });
  });

  it('types a call by its protocol family, and the gRPC type filter takes every RPC protocol', () => {
    expect([1, 3, 4, 5].map((id) => typeLabel(x(id)))).toEqual(['grpc', 'grpc-web', 'connect', 'html']);
    expect(typeCategory(x(4))).toBe('grpc');
    expect(ids({ type: 'grpc' })).toEqual([1, 2, 3, 4]);
    expect(ids({ type: 'json' })).toEqual([]);
  });

  it('finds a call by its status name and by Service/Method', () => {
    expect(ids({ text: 'not_found' })).toEqual([2]);
    expect(ids({ text: 'Echo/ServerStream' })).toEqual([1, 3]);
  });

  it('says the protocol in the detail line', () => {
    expect(protocolSummary(x(1))).toBe('gRPC over HTTP/2 · connection 3 · stream 3');
    expect(protocolSummary(x(3))).toBe('gRPC-Web over HTTP/2 · connection 3 · stream 7');
    expect(protocolSummary(x(4))).toBe('Connect unary over HTTP/2 · connection 3 · stream 9');
  });

  it('counts a framed call as a stream while open, and once over when a side sent more than one message', () => {
    expect(isStreamed(x(1))).toBe(true);
    expect(isStreamed(x(2))).toBe(false);
    expect(isStreamed(x(4))).toBe(false);
  });
});
