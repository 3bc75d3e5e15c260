import http from 'node:http';
import type http2 from 'node:http2';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExchangeClosedEvent, ProxyEvent, RuleAppliedEvent } from '../../app/proxy-events.js';
import type { StreamRule } from '../../app/stream-rules.js';
import { connectThroughProxy, fetchViaProxy, type ProxiedResponse } from '../helpers/client.js';
import { connectH2, startH2Server, type H2Server } from '../helpers/h2.js';
import { lastOpened, startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';
import { SCHEMES, useRig } from '../helpers/schemes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let upstreamHits = 0;

/** `n` SSE events `gap` ms apart (0: all in one write), each `data: <i>`. */
function sseBody(i: number): string {
  return `id: ${i}\ndata: {"n":${i}}\n\n`;
}

/** One gRPC message: flag byte 0, big-endian length, the bytes. */
function grpcFrame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

/**
 * Arrival times jitter by a few ms on a busy machine, and one late arrival shortens the gap after it, so
 * spacing is checked from the first arrival: the i-th comes at least i holds after it, less the jitter.
 */
const JITTER_MS = 30;
function expectSpaced(times: number[], ms: number): void {
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[0]!).toBeGreaterThanOrEqual(i * ms - JITTER_MS);
}

/** Times at which each whole SSE event reached the client. */
function eventArrivals(res: ProxiedResponse): number[] {
  const times: number[] = [];
  let seen = 0;
  let text = '';
  for (const arrival of res.arrivals) {
    text += res.body.subarray(seen, seen + arrival.size).toString('utf8');
    seen += arrival.size;
    const events = text.split('\n\n').length - 1;
    while (times.length < events) times.push(arrival.at);
  }
  return times;
}

function rule(name: string, actions: StreamRule['actions'], match: StreamRule['match'] = {}): StreamRule {
  return { name, enabled: true, match, actions };
}

function ruleEvents(events: readonly ProxyEvent[], id: number): RuleAppliedEvent[] {
  return events.filter((e): e is RuleAppliedEvent => e.type === 'rule-applied' && e.id === id);
}

describe.each(SCHEMES)('stream rules over %s', (scheme) => {
  const rig = useRig(scheme, async (req, res) => {
    upstreamHits++;
    const url = new URL(req.url ?? '/', 'http://x');
    const n = Number(url.searchParams.get('n') ?? 10);
    const gap = Number(url.searchParams.get('gap') ?? 0);
    if (url.pathname.startsWith('/sse')) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      if (gap === 0) {
        res.end(Array.from({ length: n }, (_, i) => sseBody(i)).join(''));
        return;
      }
      for (let i = 0; i < n && !res.destroyed; i++) {
        res.write(sseBody(i));
        await sleep(gap);
      }
      res.end();
    } else if (url.pathname === '/upload') {
      // Says what came: the body, and how its length was told.
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          body: Buffer.concat(parts).toString(),
          contentLength: req.headers['content-length'] ?? null,
          chunked: req.headers['transfer-encoding'] === 'chunked',
          method: req.method,
          url: req.url,
          edited: req.headers['x-edited'] ?? null,
        }),
      );
    } else if (url.pathname === '/sse-length') {
      // An event stream with a Content-Length: rules that change its length must drop it.
      const body = Array.from({ length: n }, (_, i) => sseBody(i)).join('');
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Content-Length': String(Buffer.byteLength(body)) });
      res.write(body.slice(0, 10));
      await sleep(20);
      res.end(body.slice(10));
    } else if (url.pathname === '/chunked') {
      // Three reads' worth, sent together: per-chunk latency spaces the reads the proxy makes.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let i = 0; i < 3; i++) {
        res.write(Buffer.alloc(1000, 65 + i));
        await sleep(30);
      }
      res.end();
    } else if (url.pathname === '/download') {
      const bytes = Number(url.searchParams.get('bytes') ?? 10_000);
      const body = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) body[i] = i % 251;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) });
      res.end(body);
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    }
  });

  const fetch = (path: string, rules: StreamRule[]): Promise<ProxiedResponse> => {
    rig.proxy.proxy.setRules(rules);
    return fetchViaProxy(rig.proxy.port, `${rig.upstream.url}${path}`, { caPem: rig.proxy.caPem });
  };

  const closedOf = async (path: string): Promise<{ id: number; closed: ExchangeClosedEvent }> => {
    const opened = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith(path))!;
    const closed = (await rig.proxy.waitFor(
      (e) => e.type === 'exchange-closed' && e.id === opened.id,
    )) as ExchangeClosedEvent;
    return { id: opened.id, closed };
  };

  it('adds latency before each SSE event, even when the upstream sent them in one burst', async () => {
    const res = await fetch('/sse-latency?n=5', [rule('slow events', [{ type: 'latency', ms: 120 }])]);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    const arrivals = eventArrivals(res);
    expect(arrivals).toHaveLength(5);
    expectSpaced(arrivals, 120);
    const { id } = await closedOf('/sse-latency?n=5');
    const applied = ruleEvents(rig.proxy.events, id);
    expect(applied[0]).toMatchObject({ rule: 'slow events', action: 'match' });
    expect(applied.filter((e) => e.action === 'latency').map((e) => e.heldMs)).toEqual([120, 120, 120, 120, 120]);
  });

  it('applies content rules to an NDJSON upload with direction "request", sending it without its old length', async () => {
    rig.proxy.proxy.setRules([
      rule('upload', [
        { type: 'drop', event: 2, direction: 'request' },
        { type: 'rewrite', event: 3, set: { path: 'n', value: 30 }, direction: 'request' },
      ]),
    ]);
    const lines = [1, 2, 3].map((n) => `{"n":${n}}\n`).join('');
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: lines,
      caPem: rig.proxy.caPem,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({
      body: '{"n":1}\n{"n":30}\n',
      contentLength: null,
      chunked: true,
    });
  });

  it('ends the stream cleanly after N events: the client gets exactly N and a complete response', async () => {
    const path = '/sse-end?n=20&gap=15';
    const res = await fetch(path, [rule('cut at 5', [{ type: 'end', afterEvents: 5 }], { path: '/sse-end*' })]);
    expect(res.error).toBeUndefined();
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe(Array.from({ length: 5 }, (_, i) => sseBody(i)).join(''));
    const { id, closed } = await closedOf(path);
    expect(closed.outcome).toBe('completed');
    expect(ruleEvents(rig.proxy.events, id).find((e) => e.action === 'end')?.detail).toBe(
      'ended the stream after 5 events',
    );
  });

  it('resets the connection after N events: the client sees them, then a reset', async () => {
    const path = '/sse-reset?n=20&gap=15';
    const res = await fetch(path, [rule('break', [{ type: 'reset', afterEvents: 3 }])]);
    expect(res.body.toString()).toBe(Array.from({ length: 3 }, (_, i) => sseBody(i)).join(''));
    expect(res.complete).toBe(false);
    // A TCP RST, not a FIN: the client's read fails with ECONNRESET.
    expect((res.error as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
    const { closed } = await closedOf(path);
    expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'rule-reset' });
  });

  it('hangs after N events: nothing more comes and the connection stays open until the client leaves', async () => {
    rig.proxy.proxy.setRules([rule('hang', [{ type: 'hang', afterEvents: 2 }])]);
    const abort = new AbortController();
    const received: string[] = [];
    const done = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/sse-hang?n=10&gap=5`, {
      caPem: rig.proxy.caPem,
      signal: abort.signal,
      onChunk: (chunk) => received.push(chunk.toString()),
    });
    await sleep(400);
    expect(received.join('')).toBe(sseBody(0) + sseBody(1));
    const { id } = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/sse-hang?n=10&gap=5'))!;
    expect(rig.proxy.events.some((e) => e.type === 'exchange-closed' && e.id === id)).toBe(false);
    abort.abort();
    const res = await done;
    expect(res.complete).toBe(false);
    const { closed } = await closedOf('/sse-hang?n=10&gap=5');
    expect(closed.outcome).toBe('client-closed');
  });

  it('stalls after event K, and holds back the head when asked', async () => {
    const path = '/sse-stall?n=4';
    const started = performance.now();
    let headAt = 0;
    rig.proxy.proxy.setRules([
      rule('stall', [
        { type: 'delay-head', ms: 250 },
        { type: 'stall', afterEvents: 2, ms: 300 },
      ]),
    ]);
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}${path}`, {
      caPem: rig.proxy.caPem,
      onChunk: (_chunk, at) => (headAt ||= at),
    });
    expect(headAt - started).toBeGreaterThanOrEqual(245);
    const arrivals = eventArrivals(res);
    expect(arrivals).toHaveLength(4);
    expectSpaced([arrivals[1]!, arrivals[2]!], 300);
    expect(arrivals[1]! - arrivals[0]!).toBeLessThan(150);
  });

  it('drops, injects, duplicates and rewrites whole events, and the client gets a complete response', async () => {
    const res = await fetch('/sse-length?n=5', [
      rule('edits', [
        { type: 'drop', event: 2 },
        { type: 'inject', event: 3, data: 'data: [DONE]' },
        { type: 'duplicate', where: '"n":4' },
        { type: 'rewrite', event: 5, set: { path: 'n', value: 'five' } },
      ]),
    ]);
    expect(res.error).toBeUndefined();
    expect(res.complete).toBe(true);
    // Events are numbered from 1: event 5 (n 4) is both duplicated and rewritten, so twice rewritten.
    const five = 'id: 4\ndata: {"n":"five"}\n\n';
    expect(res.body.toString()).toBe(sseBody(0) + sseBody(2) + 'data: [DONE]\n\n' + sseBody(3) + five + five);
    expect(res.rawHeaders.map((h) => h.toLowerCase())).not.toContain('content-length');
    // Each change is told with the number of the event as the client got it.
    const { id } = await closedOf('/sse-length?n=5');
    const told = ruleEvents(rig.proxy.events, id)
      .filter((e) => e.action !== 'match')
      .map((e) => [e.action, e.event ?? null]);
    expect(told).toEqual([
      ['drop', null],
      ['inject', 3],
      ['rewrite', 5],
      ['duplicate', 6],
      ['rewrite', 6],
    ]);
  });

  it('holds the stream at a breakpoint until the user decides: edited, dropped, then the rest let go', async () => {
    rig.proxy.proxy.setRules([
      rule('stop', [
        { type: 'breakpoint', event: 2 },
        { type: 'breakpoint', where: '"n":3' },
        { type: 'breakpoint', event: 5 },
        { type: 'breakpoint', event: 6 },
      ]),
    ]);
    const received: string[] = [];
    const done = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/sse-break?n=8&gap=5`, {
      caPem: rig.proxy.caPem,
      onChunk: (chunk) => received.push(chunk.toString()),
    });
    type Held = Extract<ProxyEvent, { type: 'breakpoint-held' }>;
    const held = (event: number) =>
      rig.proxy.waitFor((e): e is Held => e.type === 'breakpoint-held' && e.event === event && e.rule === 'stop');
    const first = await held(2);
    expect(first.text).toBe(sseBody(1));
    await sleep(150);
    // Held: the upstream has sent more by now, and none of it went on.
    expect(received.join('')).toBe(sseBody(0));
    expect(
      rig.proxy.proxy.resolveBreakpoint(first.breakpoint, { outcome: 'edited', bytes: Buffer.from('data: edited') }),
    ).toBe(true);
    const second = await held(4);
    expect(rig.proxy.proxy.resolveBreakpoint(second.breakpoint, { outcome: 'dropped' })).toBe(true);
    const third = await held(5);
    expect(rig.proxy.proxy.resolveBreakpoint(third.breakpoint, { outcome: 'released-all' })).toBe(true);
    // Already decided: a second answer finds nothing held.
    expect(rig.proxy.proxy.resolveBreakpoint(third.breakpoint, { outcome: 'released' })).toBe(false);
    const res = await done;
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe(
      sseBody(0) + 'data: edited\n\n' + sseBody(2) + [4, 5, 6, 7].map((i) => sseBody(i)).join(''),
    );
    const { id } = await closedOf('/sse-break?n=8&gap=5');
    // The edited event is told again as it goes, with its number as the client got it (the views mark it).
    expect(
      ruleEvents(rig.proxy.events, id)
        .filter((e) => e.action === 'breakpoint')
        .map((e) => [e.detail, e.event]),
    ).toEqual([
      ['released, edited, event 2', undefined],
      ['sent event 2 as edited', 2],
      ['dropped event 4', undefined],
      ['released the stream from event 5', undefined],
    ]);
  });

  it('holds a request before it goes upstream until released, and drops one when asked', async () => {
    rig.proxy.proxy.setRules([
      { ...rule('hold posts', [{ type: 'breakpoint', direction: 'request' }], { method: 'POST' }) },
    ]);
    type Held = Extract<ProxyEvent, { type: 'breakpoint-held' }>;
    const hits = upstreamHits;
    const sent = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/json`, {
      caPem: rig.proxy.caPem,
      method: 'POST',
      body: '{"prompt":"hi"}',
    });
    const held = (await rig.proxy.waitFor(
      (e): e is Held => e.type === 'breakpoint-held' && e.direction === 'request' && e.rule === 'hold posts',
    )) as Held;
    expect(held.event).toBe(0);
    expect(held.text).toMatch(/^POST .*\/json HTTP\/1\.1\n/);
    await sleep(100);
    expect(upstreamHits).toBe(hits);
    expect(rig.proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'released' })).toBe(true);
    expect((await sent).body.toString()).toBe('{"ok":true}');
    expect(upstreamHits).toBe(hits + 1);

    const dropped = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/json?drop`, {
      caPem: rig.proxy.caPem,
      method: 'POST',
      body: 'x',
    });
    const second = (await rig.proxy.waitFor(
      (e): e is Held => e.type === 'breakpoint-held' && e.direction === 'request' && e.breakpoint !== held.breakpoint,
    )) as Held;
    rig.proxy.proxy.resolveBreakpoint(second.breakpoint, { outcome: 'dropped' });
    const res = await dropped;
    expect(res.status).toBe(502);
    expect(res.rawHeaders).toContain('rule-dropped');
    expect(upstreamHits).toBe(hits + 1);
  });

  it('sends a held request as the user edited its head: method, path, a field; the body as it came', async () => {
    rig.proxy.proxy.setRules([
      rule('edit uploads', [{ type: 'breakpoint', direction: 'request' }], { path: '/upload*' }),
    ]);
    type Held = Extract<ProxyEvent, { type: 'breakpoint-held' }>;
    const from = rig.proxy.events.length;
    const sent = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/upload?v=1`, {
      caPem: rig.proxy.caPem,
      method: 'POST',
      headers: { 'x-trace': 'abc' },
      body: 'payload',
    });
    const held = (await rig.proxy.waitFor(
      (e): e is Held => e.type === 'breakpoint-held' && rig.proxy.events.indexOf(e) >= from,
    )) as Held;
    const lines = held.text!.trimEnd().split('\n');
    expect(lines[0]).toBe(`POST ${rig.upstream.url}/upload?v=1 HTTP/1.1`);
    expect(lines).toContain('x-trace: abc');
    const edited = [`PUT /upload?v=2 HTTP/1.1`, ...lines.slice(1), 'X-Edited: by hand'].join('\n');
    rig.proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'edited', bytes: Buffer.from(edited) });
    const res = await sent;
    expect(JSON.parse(res.body.toString())).toMatchObject({
      method: 'PUT',
      url: '/upload?v=2',
      edited: 'by hand',
      body: 'payload',
      contentLength: '7',
    });
    const { id } = await closedOf('/upload?v=1');
    expect(ruleEvents(rig.proxy.events, id).map((e) => e.detail)).toContain(
      'sent the request as edited: PUT /upload?v=2',
    );

    // Another origin is not an edit Sluice can make: the request goes as it came, and says why.
    const again = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/upload?v=3`, {
      caPem: rig.proxy.caPem,
      method: 'POST',
      body: 'x',
    });
    const second = (await rig.proxy.waitFor(
      (e): e is Held =>
        e.type === 'breakpoint-held' && e.breakpoint !== held.breakpoint && rig.proxy.events.indexOf(e) >= from,
    )) as Held;
    rig.proxy.proxy.resolveBreakpoint(second.breakpoint, {
      outcome: 'edited',
      bytes: Buffer.from('POST http://elsewhere.example/upload HTTP/1.1\n'),
    });
    expect(JSON.parse((await again).body.toString())).toMatchObject({ method: 'POST', url: '/upload?v=3' });
    const closed = await closedOf('/upload?v=3');
    expect(ruleEvents(rig.proxy.events, closed.id).map((e) => e.detail)).toContainEqual(
      expect.stringMatching(/^sent the request as it came: the edit the URL must keep https?:\/\/[^:]+:\d+/),
    );
  });

  it('adds latency per chunk to a chunked download', async () => {
    const res = await fetch('/chunked', [rule('slow chunks', [{ type: 'latency', ms: 150, per: 'chunk' }])]);
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe('A'.repeat(1000) + 'B'.repeat(1000) + 'C'.repeat(1000));
    const firstOf = (letter: number): number => {
      let seen = 0;
      for (const arrival of res.arrivals) {
        seen += arrival.size;
        if (seen > letter * 1000) return arrival.at;
      }
      return NaN;
    };
    expectSpaced([firstOf(0), firstOf(1), firstOf(2)], 150);
  });

  it('caps bandwidth without changing a byte, and ends a download after N bytes', async () => {
    const started = performance.now();
    const capped = await fetch('/download?bytes=20000', [
      rule('dial-up', [{ type: 'bandwidth', bytesPerSecond: 40_000 }]),
    ]);
    const took = performance.now() - started;
    expect(capped.body.length).toBe(20_000);
    expect(capped.body.every((b, i) => b === i % 251)).toBe(true);
    // 20,000 bytes at 40,000 a second, in twentieths of a second: the last slice goes at 475 ms.
    expect(took).toBeGreaterThanOrEqual(450);
    expect(capped.arrivals.length).toBeGreaterThanOrEqual(10);

    const cut = await fetch('/download?bytes=20000', [rule('short', [{ type: 'end', afterBytes: 1234 }])]);
    expect(cut.complete).toBe(true);
    expect(cut.body.length).toBe(1234);
    expect(cut.body.every((b, i) => b === i % 251)).toBe(true);
  });

  it('answers in the upstream’s place with a respond rule, and leaves unmatched exchanges alone', async () => {
    const hits = upstreamHits;
    const rules = [
      rule('mock', [{ type: 'respond', status: 503, headers: { 'Retry-After': '1' }, body: 'busy' }], {
        path: '/mocked',
        method: 'GET',
      }),
      rule('only sse', [{ type: 'end', afterBytes: 0 }], { contentType: 'text/event-stream*' }),
      { ...rule('off', [{ type: 'end', afterBytes: 1 }]), enabled: false },
    ];
    const mocked = await fetch('/mocked', rules);
    expect(mocked.status).toBe(503);
    expect(mocked.body.toString()).toBe('busy');
    expect(mocked.rawHeaders).toContain('Retry-After');
    expect(upstreamHits).toBe(hits);
    const json = await fetch('/json', rules);
    expect(json.body.toString()).toBe('{"ok":true}');
    const { id } = await closedOf('/json');
    expect(ruleEvents(rig.proxy.events, id)).toEqual([]);
  });
});

describe('a slow-reader rule', () => {
  let writerBlocked = false;
  let written = 0;
  const total = 64 << 20;
  const rig = useRig('http', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) });
    const piece = Buffer.alloc(256 * 1024, 7);
    const more = (): void => {
      while (written < total && !res.destroyed) {
        written += piece.length;
        if (!res.write(piece)) {
          writerBlocked = true;
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });

  it('makes the upstream’s writes block: Sluice reads at the set rate and holds no more than a read', async () => {
    rig.proxy.proxy.setRules([rule('slow reader', [{ type: 'bandwidth', bytesPerSecond: 256 * 1024 }])]);
    const abort = new AbortController();
    let received = 0;
    const done = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/big`, {
      signal: abort.signal,
      onChunk: (chunk) => (received += chunk.length),
    });
    await sleep(1500);
    // The client reads at once, yet gets only what the rate allows; the upstream, which writes
    // flat out, is blocked with most of its 64 MiB unsent (kernel buffers hold a few MiB).
    expect(received).toBeLessThanOrEqual(1.5 * 256 * 1024 + 64 * 1024);
    expect(received).toBeGreaterThan(256 * 1024);
    expect(writerBlocked).toBe(true);
    expect(written).toBeLessThan(total / 2);
    abort.abort();
    await done;
  });

  it('holds no more than a read while a breakpoint holds the stream: the upstream’s writes block', async () => {
    written = 0;
    writerBlocked = false;
    rig.proxy.proxy.setRules([rule('hold', [{ type: 'breakpoint', event: 2 }])]);
    const abort = new AbortController();
    let received = 0;
    const done = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/held`, {
      signal: abort.signal,
      onChunk: (chunk) => (received += chunk.length),
    });
    const held = (await rig.proxy.waitFor((e) => e.type === 'breakpoint-held')) as Extract<
      ProxyEvent,
      { type: 'breakpoint-held' }
    >;
    const heapBefore = process.memoryUsage().arrayBuffers;
    await sleep(1000);
    // A body that is not an event stream is held a read at a time: the second read waits, the rest stays upstream.
    expect(received).toBeLessThanOrEqual(512 * 1024);
    expect(writerBlocked).toBe(true);
    expect(written).toBeLessThan(total / 2);
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 << 20);
    expect(rig.proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'released-all' })).toBe(true);
    await vi.waitFor(() => expect(received).toBeGreaterThan(512 * 1024), { timeout: 5_000 });
    abort.abort();
    await done;
  });
});

describe('stream rules over HTTP/2', () => {
  let authority: UpstreamAuthority;
  let h2Upstream: H2Server;
  let h1Upstream: TestServer;
  let proxy: TestProxy;
  const upstreamResets = new Map<string, number>();
  const upstreamSeen = new Set<string>();
  /** The `x-edited` field each path came with, when it had one. */
  const editedSeen = new Map<string, string>();

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    h2Upstream = await startH2Server(
      (stream, headers) => {
        const path = String(headers[':path']);
        upstreamSeen.add(path);
        if (headers['x-edited'] !== undefined) editedSeen.set(path, String(headers['x-edited']));
        stream.on('error', () => undefined);
        stream.on('close', () => upstreamResets.set(path, stream.rstCode ?? -1));
        if (path === '/grpc') {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(Buffer.concat([grpcFrame('first'), grpcFrame('second'), grpcFrame('third')]));
          return;
        }
        if (path === '/connect-json') {
          // Connect streaming with the JSON codec: two messages, then the end-of-stream envelope.
          const endStream = Buffer.concat([Buffer.from([0x02, 0, 0, 0, 2]), Buffer.from('{}')]);
          stream.respond({ ':status': 200, 'content-type': 'application/connect+json' });
          stream.end(Buffer.concat([grpcFrame('{"n":1}'), grpcFrame('{"n":2}'), endStream]));
          return;
        }
        if (path === '/h2-download') {
          const body = Buffer.alloc(20_000);
          for (let i = 0; i < body.length; i++) body[i] = i % 251;
          stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': body.length });
          stream.end(body);
          return;
        }
        if (path === '/h2-length') {
          const body = Array.from({ length: 6 }, (_, i) => sseBody(i)).join('');
          stream.respond({ ':status': 200, 'content-type': 'text/event-stream', 'content-length': body.length });
          stream.end(body);
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'text/event-stream' });
        let i = 0;
        const timer = setInterval(() => {
          if (stream.destroyed || stream.closed) return clearInterval(timer);
          stream.write(sseBody(i++));
          if (i === 40) {
            clearInterval(timer);
            stream.end();
          }
        }, 15);
      },
      { authority },
    );
    h1Upstream = await startServer(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(Array.from({ length: 6 }, (_, i) => sseBody(i)).join(''));
      },
      { authority },
    );
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy?.close();
    await h2Upstream?.close();
    await h1Upstream?.close();
    await authority?.remove();
  });

  const request = async (
    port: number,
    path: string,
    rules: StreamRule[],
    /** Cancel the stream this long after it opened (a client that gives up). */
    cancelAfterMs?: number,
  ): Promise<{ body: string; arrivals: number[]; rstCode: number; status: number }> => {
    proxy.proxy.setRules(rules);
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    try {
      return await new Promise((resolve) => {
        const stream = session.request({ ':path': path });
        if (cancelAfterMs !== undefined) setTimeout(() => stream.close(0x8), cancelAfterMs);
        let body = '';
        let status = 0;
        const arrivals: number[] = [];
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (d: Buffer) => {
          body += d.toString('latin1');
          const events = body.split('\n\n').length - 1;
          while (arrivals.length < events) arrivals.push(performance.now());
        });
        stream.on('error', () => undefined);
        stream.on('close', () => resolve({ body, arrivals, rstCode: stream.rstCode ?? -1, status }));
      });
    } finally {
      session.destroy();
    }
  };

  it('adds latency per event and ends cleanly after N events, on an HTTP/2 upstream', async () => {
    const slow = await request(h2Upstream.port, '/h2-latency', [
      rule('slow', [
        { type: 'latency', ms: 80 },
        { type: 'end', afterEvents: 4 },
      ]),
    ]);
    expect(slow.rstCode).toBe(0);
    expect(slow.body).toBe(Array.from({ length: 4 }, (_, i) => sseBody(i)).join(''));
    expectSpaced(slow.arrivals, 80);
    // The upstream's stream is let go: it hears CANCEL.
    await proxy.waitFor((e) => e.type === 'exchange-closed');
    await sleep(50);
    expect(upstreamResets.get('/h2-latency')).toBe(0x8);
  });

  it('stalls, caps bandwidth and holds at a breakpoint on HTTP/2 too', async () => {
    const pending = request(h2Upstream.port, '/h2-break', [
      rule('h2 shaping', [
        { type: 'stall', afterEvents: 1, ms: 200 },
        { type: 'bandwidth', bytesPerSecond: 2_000 },
        { type: 'breakpoint', event: 3 },
        { type: 'end', afterEvents: 4 },
      ]),
    ]);
    const held = (await proxy.waitFor((e) => e.type === 'breakpoint-held' && e.rule === 'h2 shaping')) as Extract<
      ProxyEvent,
      { type: 'breakpoint-held' }
    >;
    expect(held).toMatchObject({ event: 3, text: sseBody(2) });
    expect(
      proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'edited', bytes: Buffer.from('data: h2 edit\n\n') }),
    ).toBe(true);
    const res = await pending;
    expect(res.rstCode).toBe(0);
    expect(res.body).toBe(sseBody(0) + sseBody(1) + 'data: h2 edit\n\n' + sseBody(3));
    expectSpaced(res.arrivals.slice(0, 2), 200);
  });

  it('resets the stream with the chosen code after N events, and translates for an HTTP/1.1 upstream', async () => {
    const reset = await request(h2Upstream.port, '/h2-reset', [
      rule('calm', [{ type: 'reset', afterEvents: 3, code: 'ENHANCE_YOUR_CALM' }]),
    ]);
    expect(reset.body).toBe(Array.from({ length: 3 }, (_, i) => sseBody(i)).join(''));
    expect(reset.rstCode).toBe(0xb);
    const opened = lastOpened(proxy.events, (e) => e.request.url.endsWith('/h2-reset'))!;
    const closed = (await proxy.waitFor(
      (e) => e.type === 'exchange-closed' && e.id === opened.id,
    )) as ExchangeClosedEvent;
    expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'rule-reset' });

    const h1 = await request(h1Upstream.port, '/h1-behind-h2', [rule('cut', [{ type: 'end', afterEvents: 2 }])]);
    expect(h1.rstCode).toBe(0);
    expect(h1.body).toBe(sseBody(0) + sseBody(1));
  });

  it('caps bandwidth on an HTTP/2 download and ends it after N bytes', async () => {
    const started = performance.now();
    const capped = await request(h2Upstream.port, '/h2-download', [
      rule('h2 download', [
        { type: 'bandwidth', bytesPerSecond: 40_000 },
        { type: 'end', afterBytes: 12_345 },
      ]),
    ]);
    expect(capped.rstCode).toBe(0);
    const body = Buffer.from(capped.body, 'latin1');
    expect(body.length).toBe(12_345);
    expect(body.every((b, i) => b === i % 251)).toBe(true);
    // 12,345 bytes at 40,000 a second: about 0.3 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('drops the announced length when a rule changes the body, as HTTP/2 clients check it', async () => {
    const res = await request(h2Upstream.port, '/h2-length', [
      rule('shorter', [
        { type: 'drop', where: '"n":1' },
        { type: 'end', afterEvents: 3 },
      ]),
    ]);
    expect(res.rstCode).toBe(0);
    expect(res.body).toBe(sseBody(0) + sseBody(2) + sseBody(3));
  });

  it('drops, duplicates, puts in, rewrites and tears events on HTTP/2 as on HTTP/1.1', async () => {
    const res = await request(h2Upstream.port, '/h2-length', [
      rule('content', [
        { type: 'drop', event: 1 },
        { type: 'duplicate', event: 2 },
        { type: 'inject', event: 3, position: 'before', data: 'data: put in' },
        { type: 'rewrite', event: 4, set: { path: 'n', value: 40 } },
        { type: 'corrupt', event: 6 },
      ]),
    ]);
    expect(res.rstCode).toBe(0);
    const torn = sseBody(5).slice(0, Math.floor(sseBody(5).length / 2));
    expect(res.body).toBe(
      sseBody(1) + sseBody(1) + 'data: put in\n\n' + sseBody(2) + 'id: 3\ndata: {"n":40}\n\n' + sseBody(4) + torn,
    );
  });

  it('hangs after N events on HTTP/2: nothing more comes and the stream stays open until the client leaves', async () => {
    // The upstream sends an event every 15 ms: in 400 ms it would have sent more than 20.
    const res = await request(h2Upstream.port, '/h2-hang', [rule('hang', [{ type: 'hang', afterEvents: 2 }])], 400);
    expect(res.body).toBe(sseBody(0) + sseBody(1));
    expect(res.rstCode).toBe(0x8);
    const opened = lastOpened(proxy.events, (e) => e.request.url.endsWith('/h2-hang'))!;
    const closed = (await proxy.waitFor(
      (e) => e.type === 'exchange-closed' && e.id === opened.id,
    )) as ExchangeClosedEvent;
    // Open until the client gave up: the rule never ended it.
    expect(closed.outcome).not.toBe('completed');
    expect(closed.t - opened.t).toBeGreaterThanOrEqual(350);
  });

  it('shapes an HTTP/1.1 client’s stream from an HTTP/2-only upstream too', async () => {
    proxy.proxy.setRules([rule('h1 client', [{ type: 'end', afterEvents: 3 }], { protocol: 'http/1.1' })]);
    const res = await fetchViaProxy(proxy.port, `https://localhost:${h2Upstream.port}/h1-client`, {
      caPem: proxy.caPem,
    });
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe(sseBody(0) + sseBody(1) + sseBody(2));
    const opened = lastOpened(proxy.events, (e) => e.request.url.endsWith('/h1-client'))!;
    const closed = (await proxy.waitFor(
      (e) => e.type === 'exchange-closed' && e.id === opened.id,
    )) as ExchangeClosedEvent;
    expect(closed.outcome).toBe('completed');
  });

  it('holds an HTTP/2 request before it goes upstream until released', async () => {
    const pending = request(h2Upstream.port, '/h2-held-request', [
      rule(
        'hold h2',
        [
          { type: 'breakpoint', direction: 'request' },
          { type: 'end', afterEvents: 1 },
        ],
        { protocol: 'h2' },
      ),
    ]);
    const held = (await proxy.waitFor((e) => e.type === 'breakpoint-held' && e.rule === 'hold h2')) as Extract<
      ProxyEvent,
      { type: 'breakpoint-held' }
    >;
    expect(held.text).toMatch(/^GET https:\/\/localhost:\d+\/h2-held-request HTTP\/2\n/);
    await sleep(100);
    expect(upstreamSeen.has('/h2-held-request')).toBe(false);
    proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'released' });
    const res = await pending;
    expect(res).toMatchObject({ rstCode: 0, body: sseBody(0) });
  });

  it('counts gRPC messages as events: latency before each, one dropped, the trailers untouched', async () => {
    proxy.proxy.setRules([
      rule('grpc', [
        { type: 'latency', ms: 100 },
        { type: 'drop', event: 2 },
      ]),
    ]);
    const { session } = await connectH2(proxy.port, `localhost:${h2Upstream.port}`, { caPem: proxy.caPem });
    try {
      const got = await new Promise<{ body: Buffer; at: number[]; trailers: http2.IncomingHttpHeaders }>((resolve) => {
        const stream = session.request({ ':path': '/grpc', 'content-type': 'application/grpc' });
        const chunks: Buffer[] = [];
        const at: number[] = [];
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('data', (d: Buffer) => {
          chunks.push(d);
          at.push(performance.now());
        });
        stream.on('trailers', (t) => (trailers = t));
        stream.on('close', () => resolve({ body: Buffer.concat(chunks), at, trailers }));
        stream.end();
      });
      expect(got.body.equals(Buffer.concat([grpcFrame('first'), grpcFrame('third')]))).toBe(true);
      expect(got.at[got.at.length - 1]! - got.at[0]!).toBeGreaterThanOrEqual(95);
      expect(got.trailers['grpc-status']).toBe('0');
    } finally {
      session.destroy();
    }
  });

  it('sends a held HTTP/2 request as the user edited its head', async () => {
    const from = proxy.events.length;
    const pending = request(h2Upstream.port, '/h2-held', [
      rule('edit h2', [{ type: 'breakpoint', direction: 'request' }], { path: '/h2-held' }),
    ]);
    const held = (await proxy.waitFor(
      (e) => e.type === 'breakpoint-held' && proxy.events.indexOf(e) >= from,
    )) as Extract<ProxyEvent, { type: 'breakpoint-held' }>;
    const lines = held.text!.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^GET https:\/\/localhost:\d+\/h2-held HTTP\/2$/);
    // Pseudo-headers are the request line's: they are not shown as fields.
    expect(lines.some((line) => line.startsWith(':'))).toBe(false);
    const edited = ['GET /h2-length HTTP/2', ...lines.slice(1), 'x-edited: yes'].join('\n');
    proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'edited', bytes: Buffer.from(edited) });
    const res = await pending;
    expect(res.body).toBe(Array.from({ length: 6 }, (_, i) => sseBody(i)).join(''));
    expect(upstreamSeen.has('/h2-held')).toBe(false);
    expect(editedSeen.get('/h2-length')).toBe('yes');
  });

  it('rewrites and puts in messages of a JSON codec (Connect streaming) with no schema needed', async () => {
    const got = await request(h2Upstream.port, '/connect-json', [
      rule('connect json', [
        { type: 'rewrite', where: '"n":2', set: { path: 'n', value: 20 } },
        { type: 'inject', event: 1, data: '{"n":1.5}' },
      ]),
    ]);
    const endStream = Buffer.concat([Buffer.from([0x02, 0, 0, 0, 2]), Buffer.from('{}')]);
    expect(
      Buffer.from(got.body, 'latin1').equals(
        Buffer.concat([grpcFrame('{"n":1}'), grpcFrame('{"n":1.5}'), grpcFrame('{"n":20}'), endStream]),
      ),
    ).toBe(true);
  });

  it('answers with a respond rule on HTTP/2 without asking the upstream', async () => {
    const mocked = await request(h2Upstream.port, '/h2-mocked', [
      rule('mock', [{ type: 'respond', status: 429, body: 'slow down' }], { protocol: 'h2' }),
    ]);
    expect(mocked).toMatchObject({ status: 429, body: 'slow down', rstCode: 0 });
    expect(upstreamSeen.has('/h2-mocked')).toBe(false);
  });
});

describe('stream rules on WebSocket messages', () => {
  let proxy: TestProxy;
  let server: http.Server;
  let url = '';
  /** What the server got on `/inbox`, and when. */
  const inbox: { text: string; at: number }[] = [];
  beforeAll(async () => {
    server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (socket, req) => {
      if (req.url === '/inbox') {
        socket.on('message', (data) => inbox.push({ text: String(data), at: performance.now() }));
        return;
      }
      if (req.url === '/fragments') {
        // The second message in two fragments, with a ping between them (RFC 6455 allows it).
        socket.send('message 0');
        socket.send('part one, ', { fin: false });
        socket.ping();
        socket.send('part two', { fin: true });
        socket.send('message 2');
        return;
      }
      for (let i = 0; i < 4; i++) socket.send(`message ${i}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/live`;
    proxy = await startProxy();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await proxy?.close();
  });

  /** Opens a WebSocket through the proxy and gathers the server's messages until it closes or `ms` pass. */
  async function messages(
    rules: StreamRule[],
    ms = 1_500,
    path = '/live',
  ): Promise<{ got: string[]; at: number[]; code?: number }> {
    proxy.proxy.setRules(rules);
    const target = new URL(path, url).toString().replace(/^http/, 'ws');
    const socket = await connectThroughProxy(proxy.port, new URL(target));
    const client = new WebSocket(target, { createConnection: () => socket });
    return new Promise((resolve) => {
      const got: string[] = [];
      const at: number[] = [];
      let code: number | undefined;
      const done = (): void => {
        clearTimeout(timer);
        client.terminate();
        resolve({ got, at, ...(code === undefined ? {} : { code }) });
      };
      const timer = setTimeout(done, ms);
      client.on('message', (data) => {
        got.push(String(data));
        at.push(performance.now());
      });
      client.on('error', () => undefined);
      client.on('close', (closeCode) => {
        code = closeCode;
        done();
      });
    });
  }

  it('puts in and rewrites text messages', async () => {
    const edited = await messages(
      [
        rule('ws edits', [
          { type: 'inject', event: 1, data: '{"injected":true}' },
          { type: 'rewrite', event: 3, replace: { from: 'message', to: 'msg' } },
          { type: 'rewrite', event: 4, set: { path: 'n', value: 4 } },
        ]),
      ],
      600,
    );
    // Event 4's text is not JSON: it goes as it was, and says so.
    expect(edited.got).toEqual(['message 0', '{"injected":true}', 'message 1', 'msg 2', 'message 3']);
    const opened = lastOpened(proxy.events, (e) => e.kind === 'websocket')!;
    const details = proxy.events
      .filter((e): e is RuleAppliedEvent => e.type === 'rule-applied' && e.id === opened.id && e.action !== 'match')
      .map((e) => e.detail);
    expect(details).toContain('left event 4 as it was: its data is not JSON');
  });

  it('takes a message sent in fragments as one event: rewritten whole, dropped whole, held whole as text', async () => {
    const edited = await messages(
      [
        rule('fragments', [
          { type: 'rewrite', event: 2, replace: { from: 'part', to: 'piece' } },
          { type: 'drop', event: 3 },
        ]),
      ],
      600,
      '/fragments',
    );
    expect(edited.got).toEqual(['message 0', 'piece one, piece two']);

    const from = proxy.events.length;
    const pending = messages(
      [rule('hold fragments', [{ type: 'breakpoint', where: 'part two' }])],
      2_000,
      '/fragments',
    );
    const held = (await proxy.waitFor(
      (e) => e.type === 'breakpoint-held' && proxy.events.indexOf(e) >= from,
    )) as Extract<ProxyEvent, { type: 'breakpoint-held' }>;
    expect(held).toMatchObject({ event: 2, text: 'part one, part two' });
    proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'edited', bytes: Buffer.from('edited whole') });
    expect((await pending).got).toEqual(['message 0', 'edited whole', 'message 2']);
  });

  /** Sends `texts` through the proxy to `/inbox` and waits until the server has `expected` messages. */
  async function send(rules: StreamRule[], texts: string[], expected: number): Promise<{ text: string; at: number }[]> {
    proxy.proxy.setRules(rules);
    inbox.length = 0;
    const target = new URL('/inbox', url).toString().replace(/^http/, 'ws');
    const socket = await connectThroughProxy(proxy.port, new URL(target));
    const client = new WebSocket(target, { createConnection: () => socket });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    for (const text of texts) client.send(text);
    try {
      await vi.waitFor(() => expect(inbox.length).toBeGreaterThanOrEqual(expected), { timeout: 5_000 });
      return [...inbox];
    } finally {
      client.terminate();
    }
  }

  it('shapes what the client sends with direction "request": delays, drops, rewrites and puts in, masked', async () => {
    const got = await send(
      [
        rule('client side', [
          { type: 'latency', ms: 100, direction: 'request' },
          { type: 'drop', event: 2, direction: 'request' },
          { type: 'rewrite', where: 'three', replace: { from: 'three', to: 'THREE' }, direction: 'request' },
          { type: 'inject', event: 4, data: 'put in', direction: 'request' },
        ]),
      ],
      ['one', 'two', 'three', 'four'],
      4,
    );
    // The server (ws, which refuses unmasked client frames) read every one: rewritten and put-in
    // frames went out masked.
    expect(got.map((m) => m.text)).toEqual(['one', 'THREE', 'four', 'put in']);
    expectSpaced(
      got.slice(0, 3).map((m) => m.at),
      100,
    );
    const opened = lastOpened(proxy.events, (e) => e.kind === 'websocket')!;
    const applied = ruleEvents(proxy.events, opened.id).filter((e) => e.action !== 'match');
    expect(applied.every((e) => e.direction === 'request')).toBe(true);
    expect(applied.map((e) => e.detail)).toEqual(expect.arrayContaining(['dropped event 2', 'rewrote event 3']));
  });

  it('holds a client message at a request breakpoint, shown unmasked, and sends the edit', async () => {
    const from = proxy.events.length;
    const pending = send(
      [rule('hold secret', [{ type: 'breakpoint', where: 'secret', direction: 'request' }])],
      ['hello', 'my secret'],
      2,
    );
    const held = (await proxy.waitFor(
      (e) => e.type === 'breakpoint-held' && proxy.events.indexOf(e) >= from,
    )) as Extract<ProxyEvent, { type: 'breakpoint-held' }>;
    expect(held).toMatchObject({ direction: 'request', event: 2, text: 'my secret' });
    proxy.proxy.resolveBreakpoint(held.breakpoint, { outcome: 'edited', bytes: Buffer.from('my [redacted]') });
    expect((await pending).map((m) => m.text)).toEqual(['hello', 'my [redacted]']);
  });

  it('delays, drops and resets per message (each message the server sends is an event)', async () => {
    const slow = await messages(
      [
        rule('ws', [
          { type: 'latency', ms: 120 },
          { type: 'drop', event: 2 },
        ]),
      ],
      1_200,
    );
    expect(slow.got).toEqual(['message 0', 'message 2', 'message 3']);
    expectSpaced(slow.at, 120);

    const cut = await messages([rule('ws reset', [{ type: 'reset', afterEvents: 2 }], { path: '/live' })]);
    expect(cut.got).toEqual(['message 0', 'message 1']);
    // Cut without a close frame: the client sees an abnormal closure (1006), as after a crash.
    expect(cut.code).toBe(1006);
    const opened = lastOpened(proxy.events, (e) => e.kind === 'websocket')!;
    const closed = (await proxy.waitFor(
      (e) => e.type === 'exchange-closed' && e.id === opened.id,
    )) as ExchangeClosedEvent;
    expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'rule-reset' });
  });
});
