import { createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HarImportProgressEvent, HostEvent } from '../../app/contract.js';
import type {
  ChunkEvent,
  Direction,
  ExchangeClosedEvent,
  ExchangeOpenedEvent,
  ResponseHeadEvent,
  SseEvent,
} from '../../app/proxy-events.js';
import { entryToExchange, type EntryContext, type ImportedExchange } from '../../main/har/entry-to-events.js';
import { buildEntry } from '../../main/har/har-entry.js';
import { coreHttpVersion } from '../../main/har/har-fields.js';
import type { Har } from '../../main/har/har-types.js';
import { JsonStreamParser } from '../../main/har/json-stream.js';
import { IMPORTED_ID_BASE } from '../../app/contract.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'har');
const BINARY = randomBytes(3000);
const JSON_BODY = JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => ({ i, name: `item ${i}` })) });
const SLOW_BYTES = 8 << 20;

async function makeHost(): Promise<SluiceHost> {
  const host = await SluiceHost.create({ dataDir: await freshDir() });
  defer(() => host.close());
  return host;
}

/** Every event a host emits from now on. */
function record(host: SluiceHost): HostEvent[] {
  const events: HostEvent[] = [];
  host.subscribe((event) => events.push(event));
  return events;
}

/** One exchange's events, gathered. */
interface Seen {
  opened: ExchangeOpenedEvent;
  head: ResponseHeadEvent | undefined;
  closed: ExchangeClosedEvent | undefined;
  chunks: ChunkEvent[];
  sse: SseEvent[];
  pauses: number[];
}

function exchanges(events: readonly HostEvent[]): Seen[] {
  const byId = new Map<number, Seen>();
  for (const event of events) {
    if (event.type === 'exchange-opened') {
      byId.set(event.id, { opened: event, head: undefined, closed: undefined, chunks: [], sse: [], pauses: [] });
      continue;
    }
    if (!('id' in event)) continue;
    const seen = byId.get(event.id);
    if (!seen) continue;
    if (event.type === 'response-head') seen.head = event;
    if (event.type === 'exchange-closed') seen.closed = event;
    if (event.type === 'chunk') seen.chunks.push(event);
    if (event.type === 'sse-event') seen.sse.push(event);
    if (event.type === 'backpressure-resumed') seen.pauses.push(event.t - event.pausedAt);
  }
  return [...byId.values()];
}

function byPath(all: Seen[], path: string): Seen {
  const found = all.find((x) => new URL(x.opened.request.url).pathname === path);
  if (!found) throw new Error(`no exchange for ${path}`);
  return found;
}

async function bodyOf(host: SluiceHost, id: number, direction: Direction): Promise<Buffer> {
  const range = await host.call('body.read', { id, direction, decoded: true });
  return Buffer.from(range?.base64 ?? '', 'base64');
}

/** A client that stops reading for a while, so the proxy must pause the upstream. */
function slowFetch(proxyPort: number, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: proxyPort, path: url, agent: false }, (res) => {
      let size = 0;
      res.pause();
      setTimeout(() => res.resume(), 300);
      res.on('data', (chunk: Buffer) => (size += chunk.length));
      res.on('end', () => resolve(size));
    });
    req.on('error', reject);
  });
}

function upstream(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = req.url ?? '/';
  if (path === '/sse') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('event: delta\nid: 1\ndata: hel\n\n');
    setTimeout(() => res.write('data: lo\n\n'), 30);
    setTimeout(() => res.write('id: 3\ndata: {"x":1}\n\n'), 60);
    setTimeout(() => res.end('data: [DONE]\n\n'), 100);
  } else if (path === '/gzip') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(zlib.gzipSync(JSON_BODY));
  } else if (path === '/binary') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(BINARY);
  } else if (path === '/slow') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(Buffer.alloc(SLOW_BYTES, 'y'));
  } else if (path === '/upload') {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => res.end(`got ${Buffer.concat(parts).length}`));
  } else {
    res.statusCode = 404;
    res.end();
  }
}

describe('the streaming JSON parser', () => {
  it('gives the same entries as JSON.parse whatever the pieces, one character or 64 kB', async () => {
    for (const file of await harFixtures()) {
      if (file.endsWith('broken.har')) continue;
      const text = await readFile(file, 'utf8');
      const expected = (JSON.parse(text) as Har).log.entries;
      for (const size of [1, 7, 65_536]) {
        const items: unknown[] = [];
        const parser = new JsonStreamParser(['log', 'entries'], (item, index) => {
          expect(index).toBe(items.length);
          items.push(item);
        });
        for (let at = 0; at < text.length; at += size) parser.write(text.slice(at, at + size));
        const document = parser.end() as Har;
        expect(items, `${file} in pieces of ${size}`).toEqual(expected);
        expect(document.log.entries).toEqual([]);
      }
    }
  });

  it('shows an item’s handler the members of an open object read before it, such as log.creator', () => {
    const text =
      '{"log":{"version":"1.2","creator":{"name":"Firefox","version":"111"},"entries":[{"a":1},{"a":2}],"x":1}}';
    for (const size of [1, 5, text.length]) {
      const seen: unknown[] = [];
      const parser = new JsonStreamParser(['log', 'entries'], () => seen.push(parser.openObject(['log'])?.creator));
      for (let at = 0; at < text.length; at += size) parser.write(text.slice(at, at + size));
      parser.end();
      expect(seen, `pieces of ${size}`).toEqual([
        { name: 'Firefox', version: '111' },
        { name: 'Firefox', version: '111' },
      ]);
      // Once the object is read, it is no longer open.
      expect(parser.openObject(['log'])).toBeUndefined();
    }
    // A creator written after the entries is not known while they are read.
    const late: unknown[] = [];
    const creatorLast = new JsonStreamParser(['log', 'entries'], () =>
      late.push(creatorLast.openObject(['log'])?.creator),
    );
    creatorLast.write('{"log":{"entries":[{"a":1}],"creator":{"name":"Firefox"}}}');
    expect(late).toEqual([undefined]);
  });

  it('refuses what JSON.parse refuses, saying where', () => {
    const cases: [string, string][] = [
      ['{"a":1 "b":2}', "line 1, column 8 (byte 7): expected ',' or '}', found a string"],
      ['[1,2,]', 'line 1, column 6 (byte 5): expected a value, found "]"'],
      ['{"a":tru}', 'line 1, column 6 (byte 5): unexpected "tru"'],
      ['{"a":"x\u0001"}', 'line 1, column 6 (byte 5): bad string (Bad control character'],
      ['{"a":1}}', 'line 1, column 8 (byte 7): unexpected "}" after the end of the document'],
      ['{"a":', 'line 1, column 6 (byte 5): unexpected end of input'],
      ['  \n {"é": 01}', 'line 2, column 8 (byte 11): unexpected "01"'],
      ['{"a":"\\q"}', 'bad string'],
    ];
    for (const [text, where] of cases) {
      expect(() => JSON.parse(text), text).toThrow();
      const parser = new JsonStreamParser(['log', 'entries'], () => undefined);
      expect(() => {
        for (const ch of text) parser.write(ch);
        parser.end();
      }, text).toThrow(where);
    }
  });
});

describe('reading one entry', () => {
  const context = (writer?: string): EntryContext => ({
    id: 1,
    monotonic: (wall) => wall,
    fallbackWallTime: 0,
    writer,
  });
  const entryWith = (fields: Record<string, unknown>, httpVersion = 'HTTP/1.1'): Record<string, unknown> => ({
    startedDateTime: '2026-01-02T03:04:05.000Z',
    time: 3,
    request: { method: 'GET', url: 'https://h2.test/', httpVersion, headers: [] },
    response: { status: 200, statusText: '', httpVersion, headers: [], content: { size: 0, mimeType: 'x' } },
    timings: { send: 1, wait: 1, receive: 1 },
    ...fields,
  });
  const openedOf = (imported: ImportedExchange): ExchangeOpenedEvent =>
    imported.events.find((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened')!;
  const headOf = (imported: ImportedExchange): ResponseHeadEvent | undefined =>
    imported.events.find((e): e is ResponseHeadEvent => e.type === 'response-head');

  it('reads every spelling of HTTP/2 and HTTP/3 as the core names them, and keeps the rest', () => {
    const cases: [string | undefined, string][] = [
      ['HTTP/2', '2'],
      ['HTTP/2.0', '2'],
      ['http/2.0', '2'],
      ['h2', '2'],
      ['H2', '2'],
      ['h2c', '2'],
      ['HTTP/3', '3'],
      ['http/3.0', '3'],
      ['h3', '3'],
      ['h3-29', '3'],
      ['HTTP/1.1', '1.1'],
      ['http/1.1', '1.1'],
      ['HTTP/1.0', '1.0'],
      [' HTTP/1.1 ', '1.1'],
      ['', '1.1'],
      [undefined, '1.1'],
      ['HTTP/2.5', '2.5'],
      ['spdy/3.1', 'spdy/3.1'],
    ];
    for (const [written, core] of cases) expect(coreHttpVersion(written), String(written)).toBe(core);
    const imported = entryToExchange(entryWith({}, 'http/2.0'), context());
    expect(openedOf(imported).request.httpVersion).toBe('2');
    expect(headOf(imported)?.response.httpVersion).toBe('2');
  });

  it('gets back what our export wrote of an HTTP/2 stream: version, connection and stream', () => {
    const opened: ExchangeOpenedEvent = {
      type: 'exchange-opened',
      id: 9,
      t: 500,
      wallTime: Date.UTC(2026, 0, 2),
      kind: 'http',
      intercepted: true,
      clientAddress: '127.0.0.1',
      request: { method: 'GET', url: 'https://h2.test/a', httpVersion: '2', headers: [[':authority', 'h2.test']] },
      connectionId: 3,
      streamId: 5,
    };
    const head: ResponseHeadEvent = {
      type: 'response-head',
      id: 9,
      t: 510,
      response: { status: 200, statusText: '', httpVersion: '2', headers: [] },
      timings: { dns: -1, connect: -1, ssl: -1 },
      requestSentAt: 505,
    };
    const closed: ExchangeClosedEvent = {
      type: 'exchange-closed',
      id: 9,
      t: 520,
      outcome: 'client-closed',
      reason: 'CANCEL',
      requestBytes: 0,
      responseBytes: 0,
      pausedMs: 0,
    };
    const file = JSON.parse(
      JSON.stringify(
        buildEntry(
          {
            opened,
            responseHead: head,
            closed,
            chunks: [],
            backpressure: [],
            sse: [],
            messages: [],
            rpcMessages: [],
            rpcStatus: undefined,
            captureLimits: [],
            rules: [
              {
                type: 'rule-applied',
                id: 9,
                t: 506,
                rule: 'slow',
                action: 'match',
                direction: 'response',
                detail: 'matched',
              },
              {
                type: 'rule-applied',
                id: 9,
                t: 511,
                rule: 'slow',
                action: 'latency',
                direction: 'response',
                detail: 'held event 1 for 200 ms',
                heldMs: 200,
              },
              {
                type: 'rule-applied',
                id: 9,
                t: 512,
                rule: 'slow',
                action: 'inject',
                direction: 'response',
                detail: 'put in after event 1',
                event: 2,
              },
            ],
          },
          {},
        ),
      ),
    ) as unknown;
    expect((file as { _rules: unknown[] })._rules).toEqual([
      { rule: 'slow', action: 'match', direction: 'response', at: 6, detail: 'matched' },
      {
        rule: 'slow',
        action: 'latency',
        direction: 'response',
        at: 11,
        detail: 'held event 1 for 200 ms',
        heldMs: 200,
      },
      { rule: 'slow', action: 'inject', direction: 'response', at: 12, detail: 'put in after event 1', event: 2 },
    ]);
    const imported = entryToExchange(file, context('Sluice'));
    // What rules did comes back with the exchange, at the times it happened.
    expect(
      imported.events.filter((e) => e.type === 'rule-applied').map((e) => [e.t - openedOf(imported).t, e.action]),
    ).toEqual([
      [6, 'match'],
      [11, 'latency'],
      [12, 'inject'],
    ]);
    // The event a rule put in is known again, so the Events view marks it after an import too.
    expect(imported.events.find((e) => e.type === 'rule-applied' && e.action === 'inject')).toMatchObject({ event: 2 });
    expect(openedOf(imported)).toMatchObject({ request: { httpVersion: '2' }, connectionId: 3, streamId: 5 });
    expect(headOf(imported)?.response.httpVersion).toBe('2');
    expect(imported.closed).toMatchObject({ outcome: 'client-closed', reason: 'CANCEL' });
  });

  it('reads connection and _streamId only as positive whole numbers, written as digits or as numbers', () => {
    const ids = (fields: Record<string, unknown>, writer?: string): [number | undefined, number | undefined] => {
      const opened = openedOf(entryToExchange(entryWith(fields), context(writer)));
      return [opened.connectionId, opened.streamId];
    };
    expect(ids({ connection: '159834', _streamId: 7 })).toEqual([159834, 7]);
    expect(ids({ connection: 12, _streamId: '9' })).toEqual([12, 9]);
    expect(ids({})).toEqual([undefined, undefined]);
    for (const junk of ['', 'abc', '-1', '0', '1.5', '1e3', '12345678901234567890', null, true, 2.5, 0, -3, {}]) {
      expect(ids({ connection: junk, _streamId: junk }), JSON.stringify(junk)).toEqual([undefined, undefined]);
    }
    // Firefox writes the server's port there: 443 on every HTTPS entry is no connection.
    expect(ids({ connection: '443' }, 'Firefox')).toEqual([undefined, undefined]);
    expect(ids({ connection: '443' }, 'WebInspector')).toEqual([443, undefined]);
  });
});

describe('HAR import into the host', () => {
  it('round trip: capture, export, import gives the same exchanges, chunks, events and bodies', async () => {
    const source = await makeHost();
    const captured = record(source);
    await source.call('proxy.setPort', { port: 0 });
    const { port } = await source.call('proxy.start', {});
    const server = await startServer(upstream);
    defer(() => server.close());
    expect((await fetchViaProxy(port, `${server.url}/sse`)).complete).toBe(true);
    expect((await fetchViaProxy(port, `${server.url}/gzip`)).complete).toBe(true);
    expect((await fetchViaProxy(port, `${server.url}/binary`)).body.equals(BINARY)).toBe(true);
    const upload = await fetchViaProxy(port, `${server.url}/upload`, {
      method: 'POST',
      body: 'u'.repeat(5000),
      headers: { 'content-type': 'text/plain' },
    });
    expect(upload.body.toString()).toBe('got 5000');
    expect(await slowFetch(port, `${server.url}/slow`)).toBe(SLOW_BYTES);
    await new Promise((r) => setTimeout(r, 50));
    const file = join(await freshDir(), 'round-trip.har');
    expect((await source.writeHarFile(file)).entries).toBe(5);

    const target = await makeHost();
    const imported = record(target);
    const reply = await target.call('har.import', { path: file });
    expect(reply).toMatchObject({ entries: 5, skipped: 0 });

    const before = exchanges(captured);
    const after = exchanges(imported);
    expect(after).toHaveLength(5);
    for (const path of ['/sse', '/gzip', '/binary', '/upload', '/slow']) {
      const a = byPath(before, path);
      const b = byPath(after, path);
      expect(b.opened.id).toBeGreaterThanOrEqual(IMPORTED_ID_BASE);
      expect(b.opened.kind).toBe(a.opened.kind);
      expect(b.opened.request.method).toBe(a.opened.request.method);
      expect(b.opened.request.url).toBe(a.opened.request.url);
      expect(b.opened.request.headers).toEqual(a.opened.request.headers);
      expect(b.opened.wallTime).toBe(a.opened.wallTime);
      expect(b.opened.request.httpVersion).toBe(a.opened.request.httpVersion);
      expect(b.opened.connectionId).toBe(a.opened.connectionId);
      expect(b.opened.streamId).toBe(a.opened.streamId);
      expect(b.head?.response.status).toBe(a.head?.response.status);
      // HAR holds bodies decoded: the encoding is kept under another name, so nothing decodes twice.
      expect(b.head?.response.headers).toEqual(
        a.head?.response.headers.map(([n, v]) => [
          n.toLowerCase() === 'content-encoding' ? 'x-original-content-encoding' : n,
          v,
        ]),
      );
      expect(b.head!.t - b.opened.t).toBeCloseTo(a.head!.t - a.opened.t, 2);
      const shape = (x: Seen): unknown[] => x.chunks.map((c) => [c.direction, c.index, c.offset, c.size]);
      expect(shape(b)).toEqual(shape(a));
      // Times relative to the exchange's start, to the microsecond HAR keeps.
      const times = (x: Seen): number[] => x.chunks.flatMap((c) => [c.readAt - x.opened.t, c.flushedAt - x.opened.t]);
      expectClose(times(b), times(a));
      expect(b.sse.map((e) => [e.index, e.eventId, e.event, e.data])).toEqual(
        a.sse.map((e) => [e.index, e.eventId, e.event, e.data]),
      );
      expectClose(
        b.sse.map((e) => e.t - b.opened.t),
        a.sse.map((e) => e.t - a.opened.t),
      );
      expectClose(b.pauses, a.pauses);
      expect(b.closed).toMatchObject({
        outcome: a.closed!.outcome,
        requestBytes: a.closed!.requestBytes,
        responseBytes: a.closed!.responseBytes,
      });
      for (const direction of ['request', 'response'] as const) {
        const original = await bodyOf(source, a.opened.id, direction);
        expect((await bodyOf(target, b.opened.id, direction)).equals(original), `${path} ${direction}`).toBe(true);
      }
    }
    expect(byPath(after, '/sse').sse).toHaveLength(4);
    expect(byPath(after, '/slow').pauses.length).toBeGreaterThan(0);
    const gzip = await target.call('body.read', {
      id: byPath(after, '/gzip').opened.id,
      direction: 'response',
      decoded: true,
    });
    expect(gzip?.decoded).toBeUndefined();
    expect(Buffer.from(gzip!.base64, 'base64').toString()).toBe(JSON_BODY);
  });

  it('imports every real file from other tools with its entries and fields', async () => {
    const host = await makeHost();
    const events = record(host);
    const files = await harFixtures();
    expect(files.length).toBeGreaterThanOrEqual(17);
    const seen = new Map<string, Seen[]>();
    for (const file of files) {
      if (file.endsWith('broken.har')) continue;
      const har = JSON.parse(await readFile(file, 'utf8')) as Har;
      const from = events.length;
      const reply = await host.call('har.import', { path: file });
      expect(reply, file).toMatchObject({ entries: har.log.entries.length, skipped: 0 });
      const got = exchanges(events.slice(from));
      expect(got, file).toHaveLength(har.log.entries.length);
      got.forEach((x, i) => {
        const entry = har.log.entries[i]!;
        expect(x.opened.request.method).toBe(entry.request.method);
        expect(x.opened.request.url).toBe(entry.request.url);
        expect(x.head?.response.status ?? 0).toBe(entry.response.status);
        expect(x.closed, file).toBeDefined();
      });
      seen.set(file.slice(FIXTURES.length + 1), got);
    }
    const one = (name: string): Seen => seen.get(name)![0]!;

    const stream = one('chrome/response-stream.har');
    expect((await bodyOf(host, stream.opened.id, 'response')).toString()).toBe('this is a chunked response');
    expect(stream.chunks).toMatchObject([{ direction: 'response', offset: 0, size: 26 }]);

    const binary = one('chrome/response-binary.har');
    const binaryHar = JSON.parse(await readFile(join(FIXTURES, 'chrome/response-binary.har'), 'utf8')) as Har;
    expect((await bodyOf(host, binary.opened.id, 'response')).length).toBe(
      binaryHar.log.entries[0]!.response.content.size,
    );

    const compressed = one('chrome/response-compressed.har');
    expect(compressed.head?.response.headers.some(([n]) => n === 'x-original-content-encoding')).toBe(true);
    const compressedBody = await host.call('body.read', {
      id: compressed.opened.id,
      direction: 'response',
      decoded: true,
    });
    expect(compressedBody?.decoded).toBeUndefined();

    const failed = one('chrome/response-error.har');
    expect(failed.head).toBeUndefined();
    expect(failed.closed).toMatchObject({ outcome: 'proxy-error' });

    expect(one('chrome/response-status-101.har').opened.kind).toBe('websocket');

    const timing = one('chrome/response-timing.har');
    const timingHar = JSON.parse(await readFile(join(FIXTURES, 'chrome/response-timing.har'), 'utf8')) as Har;
    const t = timingHar.log.entries[0]!.timings;
    expect(timing.head?.timings.dns).toBeCloseTo(t.dns, 6);
    expect(timing.head?.timings.connect).toBeCloseTo(t.ssl >= 0 ? t.connect - t.ssl : t.connect, 6);

    const sse = seen.get('mitmproxy-tests/mitmproxy-export-event_stream.har')!;
    // mitmproxy wrote the stream's head but no body text: there are no events to recover.
    expect(sse.map((x) => x.head?.response.headers.find(([n]) => n === 'content-type')?.[1])).toEqual([
      'text/event-stream; charset=utf-8',
      'text/event-stream; charset=utf-8',
    ]);

    const sockets = seen.get('mitmproxy-tests/mitmproxy-export-websocket.har')!;
    expect(sockets.map((x) => x.opened.kind)).toEqual(['websocket', 'websocket', 'websocket']);
    expect(sockets[2]!.chunks.map((c) => c.direction)).toEqual(['response', 'request', 'request']);
    expect((await bodyOf(host, sockets[2]!.opened.id, 'request')).length).toBe(
      sockets[2]!.chunks.filter((c) => c.direction === 'request').reduce((s, c) => s + c.size, 0),
    );

    const errors = seen.get('mitmproxy-tests/mitmproxy-export-error_log.har')!;
    expect(errors[0]!.closed).toMatchObject({
      outcome: 'proxy-error',
      detail: expect.stringContaining('Connect call failed'),
    });
    expect(errors[1]!.head?.response.status).toBe(405);

    const post = one('mitmproxy-tests/postdata.har');
    const postHar = JSON.parse(await readFile(join(FIXTURES, 'mitmproxy-tests/postdata.har'), 'utf8')) as Har;
    expect((await bodyOf(host, post.opened.id, 'request')).toString()).toBe(
      postHar.log.entries[0]!.request.postData!.text,
    );

    const firefox = seen.get('mitmproxy-tests/firefox.har')!;
    expect(firefox).toHaveLength(14);

    // Versions as each tool spells them, read as the core names them.
    const versions = (name: string): string[][] =>
      seen.get(name)!.map((x) => [x.opened.request.httpVersion, x.head?.response.httpVersion ?? '-']);
    expect(versions('mitmproxy-tests/chrome.har')).toEqual([
      ['2', '2'],
      ['1.1', '-'],
      ['3', '3'],
    ]);
    expect(versions('mitmproxy-tests/mitmproxy-export-event_stream.har')).toEqual([
      ['2', '2'],
      ['2', '2'],
    ]);
    expect(versions('mitmproxy-tests/firefox.har').filter(([version]) => version === '3')).toHaveLength(8);
    // Chrome's connection ids come back; Firefox's `connection` is the server's port and does not.
    expect(post.opened).toMatchObject({ request: { httpVersion: '2' }, connectionId: 159834 });
    expect(seen.get('chrome/request-order.har')!.map((x) => x.opened.connectionId)).toEqual([29, 34]);
    expect(firefox.map((x) => x.opened.connectionId ?? x.opened.streamId)).toEqual(Array(14).fill(undefined));
  });

  it('refuses broken.har with where its JSON breaks, and keeps the host working', async () => {
    const host = await makeHost();
    const events = record(host);
    const path = join(FIXTURES, 'mitmproxy-tests', 'broken.har');
    await expect(host.call('har.import', { path })).rejects.toThrow(
      'broken.har is not a HAR file: JSON syntax error at line 5, column 1 (byte 22)',
    );
    expect(events.filter((e) => e.type === 'exchange-opened')).toHaveLength(0);
    const last = events.filter((e): e is HarImportProgressEvent => e.type === 'har-import-progress').at(-1);
    expect(last).toMatchObject({ done: true, error: expect.stringContaining('line 5, column 1') });
    expect(events.some((e) => e.type === 'host-notice' && e.level === 'error')).toBe(true);
    await expect(host.call('har.import', { path: join(FIXTURES, 'nothing-here.har') })).rejects.toThrow(/cannot open/);
    expect((await host.call('proxy.status', {})).state).toBe('stopped');
  });

  it('says what is wrong with files that are JSON but not HAR, and skips bad entries without losing the rest', async () => {
    const host = await makeHost();
    const events = record(host);
    const dir = await freshDir();
    const write = async (name: string, text: string): Promise<string> => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    await expect(host.call('har.import', { path: await write('a.har', '{"foo": 1}') })).rejects.toThrow(
      'a.har is not a HAR file: it has no log object',
    );
    await expect(host.call('har.import', { path: await write('b.har', '[1, 2]') })).rejects.toThrow(
      `b.har is not a HAR file: it starts with "[", not '{'`,
    );
    const good = {
      startedDateTime: '2024-01-01T00:00:00.000Z',
      time: 5,
      request: { method: 'GET', url: 'http://x/' },
      response: { status: 200, content: { text: '!!', encoding: 'base64' } },
      timings: {},
    };
    const mixed = { log: { entries: [7, good, { request: {} }, { ...good, time: 9 }] } };
    const reply = await host.call('har.import', { path: await write('c.har', JSON.stringify(mixed)) });
    expect(reply).toMatchObject({ entries: 2, skipped: 2 });
    const notice = events.find((e) => e.type === 'host-notice' && e.level === 'warning');
    const message = notice?.type === 'host-notice' ? notice.message : '';
    expect(message).toContain('entry 0 skipped: it is a number, not an object');
    expect(message).toContain('entry 1: response body left out: its text is marked base64 but is not valid base64');
    expect(message).toContain('entry 2 skipped: it has no request with a method and url');

    const text = JSON.stringify({ log: { entries: [good, good, good] } });
    await expect(host.call('har.import', { path: await write('cut.har', text.slice(0, -40)) })).rejects.toThrow(
      /cut\.har is damaged: JSON syntax error at line 1, column \d+ \(byte \d+\): unexpected end of input; the 2 entries before it were imported/,
    );
  });

  it('streams a big file: progress grows and the event loop never stalls', async () => {
    const ENTRIES = 30_000;
    const file = join(await freshDir(), 'big.har');
    const out = createWriteStream(file);
    out.write('{"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[\n');
    const body = 'z'.repeat(3000);
    for (let i = 0; i < ENTRIES; i++) {
      const entry = {
        startedDateTime: new Date(1_700_000_000_000 + i * 10).toISOString(),
        time: 3,
        request: {
          method: 'GET',
          url: `http://big.test/${i}`,
          httpVersion: 'HTTP/1.1',
          headers: [{ name: 'x-i', value: `${i}` }],
        },
        response: {
          status: 200,
          statusText: 'OK',
          httpVersion: 'HTTP/1.1',
          headers: [],
          content: { size: 3000, mimeType: 'text/plain', text: body },
        },
        timings: { send: 1, wait: 1, receive: 1 },
      };
      if (!out.write(`${i === 0 ? '' : ',\n'}${JSON.stringify(entry)}`)) await once(out, 'drain');
    }
    out.end('\n]}}\n');
    await once(out, 'finish');

    const host = await makeHost();
    const progress: HarImportProgressEvent[] = [];
    host.subscribe((e) => {
      if (e.type === 'har-import-progress') progress.push(e);
    });
    // A gap between ticks counts as a stall only as far as this process was busy during it: on a
    // loaded machine (CI runs test files side by side on two cores) the OS may not run us at all
    // for a while, which says nothing about the import. A real stall keeps us on the CPU throughout.
    let worstGap = 0;
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    const probe = setInterval(() => {
      const time = performance.now();
      const cpu = process.cpuUsage(lastCpu);
      const busyMs = (cpu.user + cpu.system) / 1000;
      worstGap = Math.max(worstGap, Math.min(time - last, busyMs));
      last = time;
      lastCpu = process.cpuUsage();
    }, 5);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const reply = await host.call('har.import', { path: file });
    const took = performance.now() - started;
    clearInterval(probe);
    const rssAfter = process.memoryUsage().rss;
    console.log(
      `big import: ${ENTRIES} entries, ${(progress.at(-1)!.totalBytes! / 1e6).toFixed(0)} MB in ${took.toFixed(0)} ms; ` +
        `worst event-loop gap ${worstGap.toFixed(0)} ms; rss ${(rssBefore / 1e6).toFixed(0)} -> ${(rssAfter / 1e6).toFixed(0)} MB`,
    );
    expect(reply.entries).toBe(ENTRIES);
    expect(progress.length).toBeGreaterThan(5);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesRead).toBeGreaterThanOrEqual(progress[i - 1]!.bytesRead);
    }
    expect(progress.at(-1)).toMatchObject({ done: true, entries: ENTRIES, bytesRead: progress.at(-1)!.totalBytes });
    expect(worstGap).toBeLessThan(100);
    const id = IMPORTED_ID_BASE + ENTRIES - 1;
    expect((await bodyOf(host, id, 'response')).toString()).toBe(body);
    // What is asserted is progress and no stall, not speed: 7-11 s alone, once over 30 s in CI
    // beside other test files on two cores.
  }, 60_000);
});

/** Same length, each within 2 µs: the export rounds times to the microsecond. */
function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => expect(Math.abs(value - expected[i]!), `item ${i}`).toBeLessThan(0.002));
}

async function harFixtures(): Promise<string[]> {
  const files: string[] = [];
  for (const folder of await readdir(FIXTURES, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const name of (await readdir(join(FIXTURES, folder.name))).sort()) {
      if (name.endsWith('.har')) files.push(join(FIXTURES, folder.name, name));
    }
  }
  return files;
}
