import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { ExchangeKind, ExchangeOutcome } from '../../app/proxy-events.js';
import { applyEvent, emptyTraffic, type Traffic } from '../../renderer/src/store/apply-event.js';
import {
  clientClosedNote,
  protocolLabel,
  protocolSummary,
  requestLine,
  statusLine,
} from '../../renderer/src/store/exchange-row.js';
import { filterIds, NO_FILTER } from '../../renderer/src/store/filter.js';
import type { ExchangeView } from '../../renderer/src/model/exchange.js';

interface Opening {
  readonly kind?: ExchangeKind;
  readonly url?: string;
  readonly httpVersion?: string;
  readonly connectionId?: number;
  readonly streamId?: number;
}

function open(id: number, opening: Opening = {}): HostEvent {
  const { kind = 'http', url = `https://h2.test/${id}`, httpVersion = '1.1', connectionId, streamId } = opening;
  return {
    type: 'exchange-opened',
    id,
    t: id,
    wallTime: 0,
    kind,
    intercepted: true,
    clientAddress: '127.0.0.1',
    request: { method: kind === 'tunnel' ? 'CONNECT' : 'GET', url, httpVersion, headers: [] },
    ...(connectionId === undefined ? {} : { connectionId }),
    ...(streamId === undefined ? {} : { streamId }),
  };
}

function head(id: number, httpVersion: string, statusText = ''): HostEvent {
  return {
    type: 'response-head',
    id,
    t: id + 1,
    response: { status: 200, statusText, httpVersion, headers: [] },
    timings: { dns: -1, connect: -1, ssl: -1 },
    requestSentAt: id,
  };
}

function close(id: number, outcome: ExchangeOutcome, reason?: string): HostEvent {
  return {
    type: 'exchange-closed',
    id,
    t: id + 2,
    outcome,
    ...(reason ? { reason } : {}),
    requestBytes: 0,
    responseBytes: 0,
    pausedMs: 0,
  };
}

/** The events as the page gets them: over the WebSocket they are JSON, so a round trip first. */
function traffic(...events: HostEvent[]): Traffic {
  const model = emptyTraffic();
  for (const event of JSON.parse(JSON.stringify(events)) as HostEvent[]) applyEvent(model, event);
  return model;
}

function exchange(model: Traffic, id: number): ExchangeView {
  const x = model.exchanges.get(id);
  if (!x) throw new Error(`no exchange ${id}`);
  return x;
}

describe('the protocol of an exchange in the renderer', () => {
  it('keeps the connection and stream ids the host sent, and leaves them out when it sent none', () => {
    const model = traffic(open(1, { httpVersion: '2', connectionId: 3, streamId: 5 }), open(2));
    expect(exchange(model, 1).opened).toMatchObject({ connectionId: 3, streamId: 5 });
    expect(exchange(model, 2).opened.connectionId).toBeUndefined();
    expect(exchange(model, 2).opened.streamId).toBeUndefined();
  });

  it('names the protocol in a word for the list: the HTTP version, or WS and TUNNEL', () => {
    const model = traffic(
      open(1, { httpVersion: '1.1' }),
      open(2, { httpVersion: '2', connectionId: 1, streamId: 1 }),
      open(3, { httpVersion: '1.0' }),
      open(4, { kind: 'websocket', url: 'wss://h2.test/socket' }),
      open(5, { kind: 'tunnel', url: 'h2.test:5432' }),
    );
    expect([1, 2, 3, 4, 5].map((id) => protocolLabel(exchange(model, id)))).toEqual([
      'HTTP/1.1',
      'HTTP/2',
      'HTTP/1.0',
      'WS',
      'TUNNEL',
    ]);
  });

  it('says protocol, connection and stream in the detail line, and an upstream that spoke another version', () => {
    const model = traffic(
      open(1, { httpVersion: '2', connectionId: 3, streamId: 5 }),
      head(1, '2'),
      open(2, { httpVersion: '2', connectionId: 3, streamId: 7 }),
      head(2, '1.1', 'OK'),
      open(3, { httpVersion: '1.1', connectionId: 4 }),
      open(4, { kind: 'websocket', url: 'ws://h2.test/socket', connectionId: 6 }),
      head(4, '1.1', 'Switching Protocols'),
      open(5, { kind: 'tunnel', url: 'h2.test:5432', connectionId: 7 }),
      open(6),
    );
    expect(protocolSummary(exchange(model, 1))).toBe('HTTP/2 · connection 3 · stream 5');
    expect(protocolSummary(exchange(model, 2))).toBe('HTTP/2 · upstream HTTP/1.1 · connection 3 · stream 7');
    expect(protocolSummary(exchange(model, 3))).toBe('HTTP/1.1 · connection 4');
    expect(protocolSummary(exchange(model, 4))).toBe('WebSocket over HTTP/1.1 · connection 6');
    expect(protocolSummary(exchange(model, 5))).toBe('raw tunnel via HTTP/1.1 CONNECT · connection 7');
    // An imported exchange may know neither id.
    expect(protocolSummary(exchange(model, 6))).toBe('HTTP/1.1');
  });

  it('prints the heads’ first lines as HTTP/2, never HTTP/2.0, and no empty reason phrase', () => {
    const model = traffic(open(1, { httpVersion: '2', url: 'https://h2.test/a?b=c' }), head(1, '2'));
    const x = exchange(model, 1);
    expect(requestLine(x)).toBe('GET https://h2.test/a?b=c HTTP/2');
    expect(statusLine(x.response!.response)).toBe('HTTP/2 200');
    expect(statusLine({ status: 404, statusText: 'Not Found', httpVersion: '1.1', headers: [] })).toBe(
      'HTTP/1.1 404 Not Found',
    );
  });

  it('says how a client ended an HTTP/2 stream: a CANCEL is no error, another code is named as it is', () => {
    const model = traffic(
      open(1, { httpVersion: '2', connectionId: 1, streamId: 1 }),
      close(1, 'client-closed', 'CANCEL'),
      open(2, { httpVersion: '2', connectionId: 1, streamId: 3 }),
      close(2, 'client-closed', 'PROTOCOL_ERROR'),
      open(3, { connectionId: 2 }),
      head(3, '1.1'),
      close(3, 'client-closed', 'ECONNRESET'),
      open(4, { connectionId: 3 }),
      close(4, 'client-closed', 'client-closed'),
    );
    expect(clientClosedNote(exchange(model, 1))).toBe('the client reset the stream: CANCEL; not an error');
    expect(clientClosedNote(exchange(model, 2))).toBe('the client reset the stream: PROTOCOL_ERROR');
    // HTTP/1.x: a socket closed, no stream to reset.
    expect(clientClosedNote(exchange(model, 3))).toBe('the client stopped reading; not an error');
    // Nothing had come back yet: it did not stop reading, it stopped waiting.
    expect(clientClosedNote(exchange(model, 4))).toBe('the client went away before the response came; not an error');
  });

  it('filters by protocol, alone and with other filters', () => {
    const model = traffic(
      open(1, { httpVersion: '1.1' }),
      open(2, { httpVersion: '2', streamId: 1 }),
      open(3, { kind: 'websocket', url: 'wss://h2.test/socket' }),
      open(4, { httpVersion: '2', streamId: 3, url: 'https://other.test/x' }),
      open(5, { kind: 'tunnel', url: 'db.test:5432' }),
    );
    const ids = (filter: Partial<typeof NO_FILTER>) =>
      filterIds(model.order, model.exchanges, { ...NO_FILTER, ...filter });
    expect(ids({ protocol: 'all' })).toEqual([1, 2, 3, 4, 5]);
    expect(ids({ protocol: 'HTTP/2' })).toEqual([2, 4]);
    expect(ids({ protocol: 'HTTP/1.1' })).toEqual([1]);
    expect(ids({ protocol: 'WS' })).toEqual([3]);
    expect(ids({ protocol: 'TUNNEL' })).toEqual([5]);
    expect(ids({ protocol: 'HTTP/2', host: 'h2.test' })).toEqual([2]);
    expect(ids({ protocol: 'HTTP/3' })).toEqual([]);
  });
});
