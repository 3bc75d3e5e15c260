import http from 'node:http';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ExchangeOpenedEvent, ResponseHeadEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { connectH2, curl, h2Request, startH2Server, type H2Server } from '../helpers/h2.js';
import { lastOpened, startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

const closedOf = (proxy: TestProxy, id: number): Promise<ExchangeClosedEvent> =>
  proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === id);

const cutBody = Buffer.alloc(4 << 20, 'abcdefghijklmnopqrstuvwxyz');

/** What the HTTP/1.1 upstream received, by path. */
const received = new Map<string, { version: string; raw: string[]; body: string; trailers: string[] }>();

const handler: http.RequestListener = (req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    received.set(req.url ?? '', { version: req.httpVersion, raw: req.rawHeaders, body, trailers: req.rawTrailers });
    if (req.url === '/no-content') {
      res.writeHead(204);
      res.end();
    } else if (req.url === '/trailers') {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('part one, ');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      res.end('part two');
    } else if (req.url === '/cut-short') {
      // Announces more than it sends, then goes: the body broke off mid-way.
      res.writeHead(200, { 'Content-Length': String(cutBody.length * 2) });
      res.write(cutBody);
      setTimeout(() => res.socket?.destroy(), 100);
    } else {
      res.writeHead(200, [
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['Connection', 'keep-alive'],
      ]);
      res.end(`h1 got ${req.method} ${req.url} ${body.length}`);
    }
  });
};

describe('HTTP/2 clients and HTTP/1.1-only upstreams: translated', () => {
  let authority: UpstreamAuthority;
  let tlsUpstream: TestServer;
  let plainUpstream: TestServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    tlsUpstream = await startServer(handler, { authority });
    plainUpstream = await startServer(handler);
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy?.close();
    await tlsUpstream?.close();
    await plainUpstream?.close();
    await authority?.remove();
  });

  it('an h2-only client (ALPN h2 alone) reaches an HTTP/1.1-only server: Host, joined cookies, lowercased answer', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
      caPem: proxy.caPem,
      alpn: ['h2'],
    });
    try {
      const answer = await h2Request(
        session,
        { ':path': '/hello?x=1', ':method': 'POST', cookie: ['c=1', 'd=2'], 'x-trace': 't' },
        'body!',
      );
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe('h1 got POST /hello?x=1 5');
      expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(answer.headers.connection).toBeUndefined();
      const seen = received.get('/hello?x=1')!;
      expect(seen.version).toBe('1.1');
      const headers = Object.fromEntries(
        Array.from({ length: seen.raw.length / 2 }, (_, i) => [seen.raw[2 * i]!.toLowerCase(), seen.raw[2 * i + 1]!]),
      );
      expect(headers.host).toBe(`localhost:${tlsUpstream.port}`);
      expect(headers.cookie).toBe('c=1; d=2');
      expect(headers['x-trace']).toBe('t');
      expect(seen.body).toBe('body!');
      const open = proxy.events.findLast((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened')!;
      expect(open.request.httpVersion).toBe('2');
      const head = proxy.events.find((e): e is ResponseHeadEvent => e.type === 'response-head' && e.id === open.id)!;
      expect(head.response.httpVersion).toBe('1.1');
    } finally {
      session.destroy();
    }
  });

  it('frames the request as HTTP/1.1 needs: a body of unknown length chunked, a bodiless POST with Content-Length 0', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
      caPem: proxy.caPem,
      alpn: ['h2'],
    });
    const fields = (path: string): Record<string, string> => {
      const raw = received.get(path)!.raw;
      return Object.fromEntries(
        Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i]!.toLowerCase(), raw[2 * i + 1]!]),
      );
    };
    try {
      expect((await h2Request(session, { ':path': '/streamed', ':method': 'POST' }, 'some body')).status).toBe(200);
      expect(fields('/streamed')['transfer-encoding']).toBe('chunked');
      expect(fields('/streamed')['content-length']).toBeUndefined();
      expect(received.get('/streamed')!.body).toBe('some body');
      const sized = { ':path': '/sized', ':method': 'PUT', 'content-length': '5' };
      expect((await h2Request(session, sized, 'sized')).status).toBe(200);
      expect(fields('/sized')['content-length']).toBe('5');
      expect(fields('/sized')['transfer-encoding']).toBeUndefined();
      expect((await h2Request(session, { ':path': '/empty-post', ':method': 'POST' })).status).toBe(200);
      expect(fields('/empty-post')['content-length']).toBe('0');
      expect((await h2Request(session, { ':path': '/plain-get' })).status).toBe(200);
      expect(fields('/plain-get')['content-length']).toBeUndefined();
      expect(fields('/plain-get')['transfer-encoding']).toBeUndefined();
    } finally {
      session.destroy();
    }
  });

  it('a 204 stays bodiless, and HTTP/1.1 trailers arrive as HTTP/2 trailers', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
      caPem: proxy.caPem,
      alpn: ['h2'],
    });
    try {
      const empty = await h2Request(session, { ':path': '/no-content' });
      expect(empty.status).toBe(204);
      expect(empty.rstCode).toBe(0);
      const withTrailers = await h2Request(session, { ':path': '/trailers' });
      expect(withTrailers.body.toString()).toBe('part one, part two');
      expect(withTrailers.trailers).toMatchObject({ 'x-checksum': 'abc123' });
    } finally {
      session.destroy();
    }
  });

  it('an HTTP/1.1 body that breaks off reaches a slow h2 client up to the break, then the reset', async () => {
    // A 1 KiB window: the proxy can send this client little at a time, so it holds a queue.
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
      caPem: proxy.caPem,
      alpn: ['h2'],
      settings: { initialWindowSize: 1024 },
    });
    try {
      const answer = await h2Request(session, { ':path': '/cut-short' });
      expect(answer.status).toBe(200);
      expect(answer.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
      const open = lastOpened(proxy.events, (e) => e.request.url.endsWith('/cut-short'))!;
      const closed = await closedOf(proxy, open.id);
      expect(closed.outcome).toBe('upstream-reset');
      // Reset at once, the proxy dropped what was queued for the client: fewer bytes than it forwarded.
      expect(closed.responseBytes).toBeGreaterThan(0);
      expect(answer.body.length).toBe(closed.responseBytes);
      expect(answer.body.equals(cutBody.subarray(0, answer.body.length))).toBe(true);
    } finally {
      session.destroy();
    }
  });

  it("the request's trailers reach the HTTP/1.1 server as chunked trailers", async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
      caPem: proxy.caPem,
      alpn: ['h2'],
    });
    try {
      const stream = session.request({ ':path': '/upload', ':method': 'POST' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'sum42' }));
      stream.end('uploaded');
      const done = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      stream.resume();
      await done;
      expect(received.get('/upload')).toMatchObject({ body: 'uploaded', trailers: ['x-checksum', 'sum42'] });
    } finally {
      session.destroy();
    }
  });

  it('h2c to the proxy itself for an HTTP/1.1 server: curl --http2-prior-knowledge works', async () => {
    const out = await curl([
      '-s',
      '--http2-prior-knowledge',
      `http://127.0.0.1:${proxy.port}/prior`,
      '-H',
      `Host: 127.0.0.1:${plainUpstream.port}`,
      '-w',
      ' %{http_version}',
    ]);
    expect(out.stdout).toBe('h1 got GET /prior 0 2');
    // And again, now known to be HTTP/1.1 only: no new attempt at h2c first.
    const again = await curl([
      '-s',
      '--http2-prior-knowledge',
      `http://127.0.0.1:${proxy.port}/again`,
      '-H',
      `Host: 127.0.0.1:${plainUpstream.port}`,
    ]);
    expect(again.stdout).toBe('h1 got GET /again 0');
  });

  it('a plain h2 session (Node) to the proxy for an HTTP/1.1 server over TLS', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    session.on('error', () => undefined);
    try {
      const answer = await h2Request(session, {
        ':path': '/over-tls',
        ':scheme': 'https',
        ':authority': `localhost:${tlsUpstream.port}`,
      });
      expect(answer.body.toString()).toBe('h1 got GET /over-tls 0');
    } finally {
      session.destroy();
    }
  });
});

describe('HTTP/1.1 clients and HTTP/2-only upstreams: translated', () => {
  const burst = Buffer.alloc(32 << 20, 'abcdefghijklmnopqrstuvwxyz');
  /** What the HTTP/2 upstream received, by path. */
  const seen = new Map<string, { headers: http2.IncomingHttpHeaders; body: string }>();
  let authority: UpstreamAuthority;
  let upstream: H2Server;
  let proxy: TestProxy;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    // allowHTTP1 false: a client offering only http/1.1 gets the no_application_protocol alert.
    upstream = await startH2Server(
      (stream, headers) => {
        let body = '';
        stream.on('error', () => undefined);
        stream.on('data', (d: Buffer) => (body += d.toString()));
        stream.on('end', () => {
          const path = String(headers[':path']);
          seen.set(path, { headers, body });
          if (path === '/trailers') {
            stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
            stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
            stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
            stream.write('part one, ');
            stream.end('part two');
          } else if (path === '/reset') {
            // Waiting for trailers: Node's close() ends the writable side first, which would
            // otherwise be an END_STREAM ahead of the reset.
            stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
            stream.write('a start and then ', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
          } else if (path === '/burst-then-reset') {
            // More than the client's socket buffers hold: the reset comes while the proxy still
            // has bytes queued for a client that has not started reading.
            stream.respond({ ':status': 200 }, { waitForTrailers: true });
            stream.write(burst);
            setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 300);
          } else {
            stream.respond({ ':status': 200, 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
            stream.end(`h2 got ${String(headers[':method'])} ${path} ${body.length}`);
          }
        });
      },
      { authority },
    );
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await authority?.remove();
  });

  const url = (path: string): string => `https://localhost:${upstream.port}${path}`;

  it('an HTTP/1.1-only client (ALPN http/1.1) reaches an h2-only server: :authority from Host, no connection fields', async () => {
    const answer = await fetchViaProxy(proxy.port, url('/hello?x=1'), {
      caPem: proxy.caPem,
      method: 'POST',
      headers: { Connection: 'keep-alive, X-Hop', 'X-Hop': 'dropped', 'X-Trace': 't' },
      body: 'body!',
    });
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('h2 got POST /hello?x=1 5');
    const cookies = answer.rawHeaders.filter((_, i) => answer.rawHeaders[i - 1]?.toLowerCase() === 'set-cookie');
    expect(cookies).toEqual(['a=1', 'b=2']);
    const request = seen.get('/hello?x=1')!;
    expect(request.body).toBe('body!');
    expect(request.headers[':authority']).toBe(`localhost:${upstream.port}`);
    expect(request.headers['x-trace']).toBe('t');
    expect(request.headers['x-hop']).toBeUndefined();
    expect(request.headers.connection).toBeUndefined();
    expect(request.headers.host).toBeUndefined();
    const open = lastOpened(proxy.events, (e) => e.request.url.endsWith('/hello?x=1'))!;
    expect(open.request.httpVersion).toBe('1.1');
    const head = proxy.events.find((e): e is ResponseHeadEvent => e.type === 'response-head' && e.id === open.id)!;
    expect(head.response.httpVersion).toBe('2');
    expect((await closedOf(proxy, open.id)).outcome).toBe('completed');
  });

  it('HTTP/2 trailers arrive as chunked trailers, after a 103 the client hears', async () => {
    const informational: number[] = [];
    const answer = await fetchViaProxy(proxy.port, url('/trailers'), {
      caPem: proxy.caPem,
      headers: { TE: 'trailers' },
      onInformation: (status) => informational.push(status),
    });
    expect(answer.body.toString()).toBe('part one, part two');
    expect(answer.rawTrailers).toEqual(['grpc-status', '0']);
    expect(informational).toEqual([103]);
  });

  it('an upstream reset mid-body cuts the client connection and names the code', async () => {
    const answer = await fetchViaProxy(proxy.port, url('/reset'), { caPem: proxy.caPem });
    expect(answer.status).toBe(200);
    expect(answer.complete).toBe(false);
    const open = lastOpened(proxy.events, (e) => e.request.url.endsWith('/reset'))!;
    const closed = await closedOf(proxy, open.id);
    expect(closed.outcome).toBe('upstream-reset');
    expect(closed.reason).toBe('INTERNAL_ERROR');
  });

  it('a slow client of a response the upstream reset still gets every byte the proxy forwarded', async () => {
    const answer = await fetchViaProxy(proxy.port, url('/burst-then-reset'), { caPem: proxy.caPem, readAfterMs: 800 });
    expect(answer.complete).toBe(false);
    const open = lastOpened(proxy.events, (e) => e.request.url.endsWith('/burst-then-reset'))!;
    const closed = await closedOf(proxy, open.id);
    expect(closed).toMatchObject({ outcome: 'upstream-reset', reason: 'INTERNAL_ERROR' });
    // Cut at once, the proxy's connection to the client dropped what was still queued for it.
    expect(closed.responseBytes).toBeGreaterThan(0);
    expect(answer.body.length).toBe(closed.responseBytes);
    expect(answer.body.equals(burst.subarray(0, answer.body.length))).toBe(true);
  });
});
