import { describe, expect, it } from 'vitest';
import type { ExchangeEvents } from '../../main/har/exchange-events.js';
import { recordingOf, type Recording } from '../../main/host/mock-recording.js';
import type { ExchangeOutcome, WebSocketMessageEvent } from '../../app/proxy-events.js';

function exchange(parts: {
  method?: string;
  url?: string;
  status?: number;
  headers?: [string, string][];
  outcome?: ExchangeOutcome;
  kind?: 'http' | 'websocket';
  messages?: WebSocketMessageEvent[];
}): ExchangeEvents {
  const kind = parts.kind ?? 'http';
  return {
    opened: {
      type: 'exchange-opened',
      id: 1,
      t: 0,
      wallTime: 0,
      kind,
      intercepted: false,
      clientAddress: '127.0.0.1',
      request: { method: parts.method ?? 'GET', url: parts.url ?? 'http://a.test/x', httpVersion: '1.1', headers: [] },
    },
    responseHead: {
      type: 'response-head',
      id: 1,
      t: 10,
      response: { status: parts.status ?? 200, statusText: '', httpVersion: '1.1', headers: parts.headers ?? [] },
      timings: { dns: -1, connect: -1, ssl: -1 },
      requestSentAt: 5,
    },
    closed: {
      type: 'exchange-closed',
      id: 1,
      t: 50,
      outcome: parts.outcome ?? 'completed',
      requestBytes: 0,
      responseBytes: 0,
      pausedMs: 0,
    },
    chunks: [],
    backpressure: [],
    sse: [],
    messages: parts.messages ?? [],
    rpcMessages: [],
    rpcStatus: undefined,
    captureLimits: [],
    rules: [],
  };
}

function close(direction: 'request' | 'response', t: number, index = 0): WebSocketMessageEvent {
  return {
    type: 'websocket-message',
    id: 1,
    direction,
    index,
    t,
    opcode: 8,
    data: '',
    binary: false,
    size: 2,
    closeCode: 1000,
  };
}

const recorded = (result: Recording | string): Recording => {
  if (typeof result === 'string') throw new Error(result);
  return result;
};

describe('a kept exchange as a recording', () => {
  it('closes a WebSocket mock itself only when the server said goodbye first', () => {
    const ws = (messages: WebSocketMessageEvent[]) =>
      recorded(recordingOf(exchange({ kind: 'websocket', url: 'ws://a.test/', status: 101, messages }), undefined));
    expect(ws([close('response', 20), close('request', 25)]).response.websocket).toEqual({ closesItself: true });
    // The client closed; the server's close only answered it.
    expect(ws([close('request', 20), close('response', 22)]).response.websocket).toEqual({ closesItself: false });
    expect(ws([]).response.websocket).toEqual({ closesItself: false });
  });

  it('keeps the Content-Length of an answer that never has a body (HEAD, 204, 304)', () => {
    const head = recorded(
      recordingOf(exchange({ method: 'HEAD', headers: [['Content-Length', '5000']] }), { raw: Buffer.alloc(0) }),
    );
    expect(head.response.headers).toEqual([['Content-Length', '5000']]);
    // A GET whose body was not kept plays what it has, without a length that would be a lie.
    const get = recorded(recordingOf(exchange({ headers: [['Content-Length', '5000']] }), { raw: Buffer.alloc(0) }));
    expect(get.response.headers).toEqual([]);
  });

  it('says when the exchange it plays did not complete', () => {
    const cut = recorded(recordingOf(exchange({ outcome: 'upstream-reset' }), { raw: Buffer.alloc(0) }));
    expect(cut.warning).toBe('it ended upstream-reset: the mock plays what came, as a whole response');
    expect(recorded(recordingOf(exchange({}), { raw: Buffer.alloc(0) })).warning).toBeUndefined();
  });
});
