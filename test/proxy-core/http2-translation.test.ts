import http from 'node:http';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent, ResponseHeadEvent } from '../../app/proxy-events.js';
import { connectH2, curl, h2Request } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

/** What the HTTP/1.1 upstream received, by path. */
const received = new Map<string, { version: string; raw: string[]; body: string }>();

const handler: http.RequestListener = (req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    received.set(req.url ?? '', { version: req.httpVersion, raw: req.rawHeaders, body });
    if (req.url === '/no-content') {
      res.writeHead(204);
      res.end();
    } else if (req.url === '/trailers') {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('part one, ');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      res.end('part two');
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
