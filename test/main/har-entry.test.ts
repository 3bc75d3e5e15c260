import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ChunkEvent, ExchangeOpenedEvent, RawHeaders, ResponseHeadEvent } from '../../app/proxy-events.js';
import type { ExchangeEvents } from '../../main/har/exchange-events.js';
import { exchangesIn } from '../../main/har/exchange-events.js';
import { buildEntry } from '../../main/har/har-entry.js';
import type { HarEntry } from '../../main/har/har-types.js';
import { redactionSet } from '../../main/har/redact.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';

const WALL = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const validate = harValidator();

function opened(overrides: Partial<ExchangeOpenedEvent['request']> = {}): ExchangeOpenedEvent {
  return {
    type: 'exchange-opened',
    id: 7,
    t: 1000,
    wallTime: WALL,
    kind: 'http',
    intercepted: true,
    clientAddress: '127.0.0.1',
    request: {
      method: 'GET',
      url: 'https://api.example/v1/chat?stream=1&x=y',
      httpVersion: '1.1',
      headers: [],
      ...overrides,
    },
  };
}

function head(headers: RawHeaders = [], timings = { dns: 5, connect: 10, ssl: 20 }): ResponseHeadEvent {
  return {
    type: 'response-head',
    id: 7,
    t: 1100,
    response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers },
    timings,
    requestSentAt: 1050,
  };
}

function chunk(direction: 'request' | 'response', offset: number, size: number, readAt: number): ChunkEvent {
  return { type: 'chunk', id: 7, direction, offset, size, readAt, flushedAt: readAt + 0.5, index: 0 };
}

function exchange(parts: Partial<ExchangeEvents> = {}): ExchangeEvents {
  return {
    opened: opened(),
    responseHead: head(),
    closed: {
      type: 'exchange-closed',
      id: 7,
      t: 1300,
      outcome: 'completed',
      requestBytes: 0,
      responseBytes: 0,
      pausedMs: 0,
    },
    chunks: [],
    backpressure: [],
    sse: [],
    messages: [],
    rpcMessages: [],
    rpcStatus: undefined,
    captureLimits: [],
    rules: [],
    ...parts,
  };
}

function expectValid(entry: HarEntry): void {
  const har = { log: { version: '1.2', creator: { name: 'test', version: '0' }, entries: [entry] } };
  // A JSON round trip: the file is what is checked, not the objects.
  const ok = validate(JSON.parse(JSON.stringify(har)));
  expect(harErrors(validate)).toBe('');
  expect(ok).toBe(true);
}

function closedWith(requestBytes: number, responseBytes: number): ExchangeEvents['closed'] {
  return { type: 'exchange-closed', id: 7, t: 1300, outcome: 'completed', requestBytes, responseBytes, pausedMs: 0 };
}

describe('a HAR entry', () => {
  it('maps the core timings to HAR phases, TLS inside connect, adding up to the whole', () => {
    const entry = buildEntry(exchange(), {});
    expect(entry.startedDateTime).toBe('2026-01-02T03:04:05.678Z');
    expect(entry.timings).toEqual({ blocked: -1, dns: 5, connect: 30, ssl: 20, send: 15, wait: 50, receive: 200 });
    expect(entry.time).toBe(300);
    expect(entry.request.queryString).toEqual([
      { name: 'stream', value: '1' },
      { name: 'x', value: 'y' },
    ]);
    expect(entry.request.httpVersion).toBe('HTTP/1.1');
    expect(entry._outcome).toBe('completed');
    expect(entry._incomplete).toBeUndefined();
    expectValid(entry);
  });

  it('writes -1 for phases a reused connection skipped, and never a negative wait for a streamed upload', () => {
    const reused = head([], { dns: -1, connect: -1, ssl: -1 });
    const entry = buildEntry(exchange({ responseHead: { ...reused, requestSentAt: 1200 } }), {});
    expect(entry.timings).toEqual({ blocked: -1, dns: -1, connect: -1, ssl: -1, send: 100, wait: 0, receive: 200 });
    expect(entry.time).toBe(300);
    expectValid(entry);
  });

  it('holds text as text, a decoded body with its compression, and binary as base64', () => {
    const text = 'héllo '.repeat(100);
    const gzipped = zlib.gzipSync(text);
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);
    const json = buildEntry(
      exchange({ responseHead: head([['Content-Type', 'application/json']]), closed: closedWith(0, 6) }),
      {
        response: { raw: Buffer.from('{"a":1}'.slice(0, 6)) },
      },
    );
    expect(json.response.content).toEqual({ size: 6, mimeType: 'application/json', text: '{"a":1' });

    const gzip = buildEntry(
      exchange({
        responseHead: head([
          ['Content-Type', 'text/plain'],
          ['Content-Encoding', 'gzip'],
        ]),
        closed: closedWith(0, gzipped.length),
      }),
      { response: { raw: gzipped, decoded: Buffer.from(text) } },
    );
    expect(gzip.response.content.text).toBe(text);
    expect(gzip.response.content.size).toBe(Buffer.byteLength(text));
    expect(gzip.response.content.compression).toBe(Buffer.byteLength(text) - gzipped.length);
    expect(gzip.response.bodySize).toBe(gzipped.length);

    const bin = buildEntry(exchange({ closed: closedWith(binary.length, binary.length) }), {
      request: { raw: binary },
      response: { raw: binary },
    });
    expect(bin.response.content).toMatchObject({ encoding: 'base64', text: binary.toString('base64'), size: 6 });
    expect(bin.request.postData).toMatchObject({ _encoding: 'base64', text: binary.toString('base64') });
    for (const entry of [json, gzip, bin]) expectValid(entry);
  });

  it('marks a body cut by the capture cap as truncated, with what was captured, even mid-character', () => {
    // 'é' is two bytes; the cap fell between them.
    const captured = Buffer.from('abcé').subarray(0, 4);
    const entry = buildEntry(exchange({ closed: closedWith(0, 1000) }), {
      response: { raw: captured, limited: 'body-cap' },
    });
    expect(entry.response.content).toMatchObject({
      text: 'abc',
      _truncated: true,
      _truncatedReason: 'body-cap',
      _capturedBytes: 4,
      comment: 'truncated: 4 of 1000 bytes captured (body-cap)',
    });
    expect(entry.response.bodySize).toBe(1000);
    expectValid(entry);
  });

  it('marks a body that was sent but not captured (capture off) rather than dropping it silently', () => {
    const entry = buildEntry(exchange({ closed: closedWith(0, 50) }), {});
    expect(entry.response.content).toMatchObject({ size: 0, _truncated: true, _capturedBytes: 0 });
    expectValid(entry);
  });

  it('writes an exchange still waiting for its response as incomplete, with status 0', () => {
    const entry = buildEntry(
      exchange({ responseHead: undefined, closed: undefined, chunks: [chunk('request', 0, 10, 1040)] }),
      { request: { raw: Buffer.from('0123456789') } },
    );
    expect(entry._incomplete).toBe(true);
    expect(entry.response.status).toBe(0);
    expect(entry.request.bodySize).toBe(10);
    expect(entry.request.postData?.text).toBe('0123456789');
    expect(entry.timings).toMatchObject({ send: 40.5, wait: 0, receive: 0 });
    expectValid(entry);
  });

  it('writes an open stream with what arrived so far: bytes, chunks, time up to the last chunk', () => {
    const chunks = [chunk('response', 0, 5, 1150), chunk('response', 5, 5, 1250)];
    const entry = buildEntry(exchange({ closed: undefined, chunks }), { response: { raw: Buffer.from('0123456789') } });
    expect(entry._incomplete).toBe(true);
    expect(entry.response.bodySize).toBe(10);
    expect(entry.response.content.text).toBe('0123456789');
    expect(entry.timings.receive).toBe(150.5);
    expect(entry._chunks).toEqual([
      { direction: 'response', offset: 0, size: 5, readAt: 150, flushedAt: 150.5 },
      { direction: 'response', offset: 5, size: 5, readAt: 250, flushedAt: 250.5 },
    ]);
    expectValid(entry);
  });

  it('gives failed exchanges an _error, as Chrome does', () => {
    const closed = {
      ...closedWith(0, 0)!,
      outcome: 'upstream-reset' as const,
      reason: 'ECONNRESET',
      detail: 'upstream reset',
    };
    const entry = buildEntry(exchange({ closed }), {});
    expect(entry.response._error).toBe('upstream reset');
    expect(entry._outcomeReason).toBe('ECONNRESET');
    expectValid(entry);
  });

  it('lists SSE events with the names of the DevTools protocol, times in epoch seconds', () => {
    const sse = [
      {
        type: 'sse-event' as const,
        id: 7,
        index: 0,
        eventId: '1',
        event: 'delta',
        data: 'hi',
        t: 1200,
        chunkRange: [0, 0] as const,
      },
      {
        type: 'sse-event' as const,
        id: 7,
        index: 1,
        eventId: undefined,
        event: undefined,
        data: '[DONE]',
        t: 1250.5,
        chunkRange: [1, 1] as const,
      },
    ];
    const entry = buildEntry(exchange({ sse }), {});
    expect(entry._eventSourceMessages).toEqual([
      { time: (WALL + 200) / 1000, eventName: 'delta', eventId: '1', data: 'hi' },
      { time: (WALL + 250.5) / 1000, eventName: 'message', eventId: '', data: '[DONE]' },
    ]);
    expect(buildEntry(exchange(), {})._eventSourceMessages).toBeUndefined();
  });

  it('gives backpressure pauses as intervals, one still paused without an end', () => {
    const entry = buildEntry(
      exchange({
        backpressure: [
          { type: 'backpressure-paused', id: 7, direction: 'response', t: 1110, queuedBytes: 100 },
          { type: 'backpressure-resumed', id: 7, direction: 'response', t: 1130, pausedAt: 1110, queuedBytes: 300 },
          { type: 'backpressure-paused', id: 7, direction: 'request', t: 1140, queuedBytes: 50 },
        ],
      }),
      {},
    );
    expect(entry._backpressure).toEqual([
      { direction: 'response', pausedAt: 110, resumedAt: 130, queuedBytes: 300 },
      { direction: 'request', pausedAt: 140, queuedBytes: 50 },
    ]);
  });

  it('redacts secrets only when asked: headers and cookies, plus names the user adds', () => {
    const request = opened({
      headers: [
        ['Authorization', 'Bearer sk-secret'],
        ['Cookie', 'session=abc; theme=dark'],
        ['X-Api-Key', 'key-123'],
        ['Accept', 'text/event-stream'],
      ],
    });
    const response = head([['Set-Cookie', 'session=new; Path=/; HttpOnly; Secure']]);
    const plain = buildEntry(exchange({ opened: request, responseHead: response }), {});
    expect(JSON.stringify(plain)).toContain('sk-secret');
    expect(plain.request.cookies).toEqual([
      { name: 'session', value: 'abc' },
      { name: 'theme', value: 'dark' },
    ]);
    expect(plain.response.cookies).toEqual([
      { name: 'session', value: 'new', path: '/', httpOnly: true, secure: true },
    ]);

    const redacted = buildEntry(
      exchange({ opened: request, responseHead: response }),
      {},
      { redact: redactionSet(['x-api-key']) },
    );
    const text = JSON.stringify(redacted);
    for (const secret of ['sk-secret', 'abc', 'dark', 'key-123', 'session=new']) expect(text).not.toContain(secret);
    expect(redacted.request.headers.map((h) => h.name)).toEqual(['Authorization', 'Cookie', 'X-Api-Key', 'Accept']);
    expect(redacted.request.headers[3]!.value).toBe('text/event-stream');
    expect(redacted.request.cookies[0]).toEqual({ name: 'session', value: '[redacted]' });
    expectValid(redacted);
  });

  it('redacts URL user info and secret-looking query values, keeping every other byte', () => {
    const url =
      'https://alice:hunter2@api.example.com/v1/files?name=a%20b+c&access_token=tok-1&X-Amz-Signature=sig-2' +
      '&api_key=key-3&page=2&flag#frag';
    const request = opened({ url });
    const plain = buildEntry(exchange({ opened: request }), {});
    expect(plain.request.url).toBe(url);

    const redacted = buildEntry(exchange({ opened: request }), {}, { redact: redactionSet() });
    expect(redacted.request.url).toBe(
      'https://redacted:redacted@api.example.com/v1/files?name=a%20b+c&access_token=redacted' +
        '&X-Amz-Signature=redacted&api_key=redacted&page=2&flag#frag',
    );
    const text = JSON.stringify(redacted);
    for (const secret of ['alice', 'hunter2', 'tok-1', 'sig-2', 'key-3']) expect(text).not.toContain(secret);
    expect(redacted.request.queryString).toEqual([
      { name: 'name', value: 'a b c' },
      { name: 'access_token', value: 'redacted' },
      { name: 'X-Amz-Signature', value: 'redacted' },
      { name: 'api_key', value: 'redacted' },
      { name: 'page', value: '2' },
      { name: 'flag', value: '' },
    ]);
    expectValid(redacted);
  });

  it('writes HTTP/2 as HTTP/2, the client connection as HAR’s connection (a string) and the stream as _streamId', () => {
    const h2 = buildEntry(
      exchange({
        opened: { ...opened({ httpVersion: '2' }), connectionId: 3, streamId: 5 },
        responseHead: { ...head(), response: { ...head().response, statusText: '', httpVersion: '2' } },
      }),
      {},
    );
    expect(h2.request.httpVersion).toBe('HTTP/2');
    expect(h2.response.httpVersion).toBe('HTTP/2');
    expect(h2.connection).toBe('3');
    expect(h2._streamId).toBe(5);
    expectValid(h2);

    // HTTP/1.1 on a numbered connection: no stream.
    const h1 = buildEntry(exchange({ opened: { ...opened(), connectionId: 4 } }), {});
    expect(h1.request.httpVersion).toBe('HTTP/1.1');
    expect(h1.connection).toBe('4');
    expect('_streamId' in h1).toBe(false);
    expectValid(h1);

    // An exchange the core did not number (an import from a file without ids) has neither field.
    const unnumbered = buildEntry(exchange(), {});
    expect('connection' in unnumbered || '_streamId' in unnumbered).toBe(false);
  });

  it('names the exchange a resend sent again, and the mock that answered one', () => {
    const resent = buildEntry(
      exchange({ opened: { ...opened(), resentFrom: 7 }, responseHead: { ...head(), mock: 2 } }),
      {},
    );
    expect(resent._resentFrom).toBe(7);
    expect(resent._mock).toBe(2);
    expectValid(resent);
    const plain = buildEntry(exchange(), {});
    expect('_resentFrom' in plain || '_mock' in plain).toBe(false);
  });

  it('writes a tunnel with a URL the schema accepts', () => {
    const tunnel: ExchangeOpenedEvent = { ...opened({ method: 'CONNECT', url: '127.0.0.1:443' }), kind: 'tunnel' };
    const entry = buildEntry(exchange({ opened: tunnel }), {});
    expect(entry.request.url).toBe('tcp://127.0.0.1:443');
    expectValid(entry);
  });
});

describe('gathering exchanges from the log', () => {
  it('yields each exchange with its own events, skipping events of no exchange', () => {
    const second: ExchangeOpenedEvent = { ...opened(), id: 8 };
    const gathered = [
      ...exchangesIn([
        opened(),
        chunk('request', 0, 3, 1010),
        head(),
        { type: 'host-notice', t: 1, level: 'info', message: 'x' },
        second,
        { ...chunk('response', 0, 1, 1020), id: 8 },
      ]),
    ];
    expect(gathered.map((e) => [e.opened.id, e.chunks.length, e.responseHead !== undefined])).toEqual([
      [7, 1, true],
      [8, 1, false],
    ]);
  });
});

describe('the HAR schema check', () => {
  it('rejects a broken HAR, so a pass means something', () => {
    const entry = buildEntry(exchange(), {});
    const broken = [
      { log: { version: '1.2', creator: { name: 'x', version: '0' }, entries: [{ ...entry, response: undefined }] } },
      {
        log: {
          version: '1.2',
          creator: { name: 'x', version: '0' },
          entries: [{ ...entry, startedDateTime: 'yesterday' }],
        },
      },
      { log: { version: '1.2', creator: { name: 'x', version: '0' }, entries: [{ ...entry, time: -5 }] } },
      {
        log: {
          version: '1.2',
          creator: { name: 'x', version: '0' },
          entries: [{ ...entry, timings: { ...entry.timings, wait: -2 } }],
        },
      },
      { log: { version: '1.2', entries: [entry] } },
      // HAR's connection is a string: a number there would be a broken file.
      { log: { version: '1.2', creator: { name: 'x', version: '0' }, entries: [{ ...entry, connection: 3 }] } },
    ];
    for (const har of broken) expect(validate(JSON.parse(JSON.stringify(har)))).toBe(false);
  });
});
