import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ExchangeOpenedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { connectH2, curl, h2Request, startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp-dir.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const opened = (events: ProxyEvent[], path: string): ExchangeOpenedEvent | undefined =>
  events.findLast((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith(path));
const closedOf = (proxy: TestProxy, id: number): Promise<ExchangeClosedEvent> =>
  proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === id);

/** What the upstream saw of each stream, by path. */
const seen = new Map<
  string,
  { headers: http2.IncomingHttpHeaders; raw: string[]; rstCode?: number; trailers?: http2.IncomingHttpHeaders }
>();
const big = Buffer.alloc(50 << 20, 'abcdefghijklmnopqrstuvwxyz');

function upstreamHandler(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const path = String(headers[':path']);
  const record = { headers, raw: (stream as unknown as { sentHeaders: unknown }) && ([] as string[]) };
  seen.set(path, record);
  stream.on('error', () => undefined);
  stream.on('close', () => ((record as { rstCode?: number }).rstCode = stream.rstCode));
  stream.on('trailers', (t: http2.IncomingHttpHeaders) => ((record as { trailers?: unknown }).trailers = t));
  if (path === '/hello') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-up': 'one', 'set-cookie': ['a=1', 'b=2'] }, {
      sendDate: false,
    } as http2.ServerStreamResponseOptions);
    stream.end(`hello over ${stream.session?.alpnProtocol ?? 'h2c'}`);
  } else if (path === '/echo') {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => {
      stream.respond({ ':status': 200 }, { sendDate: false } as http2.ServerStreamResponseOptions);
      stream.end(sha(Buffer.concat(chunks)));
    });
  } else if (path === '/trailers') {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, {
      waitForTrailers: true,
      sendDate: false,
    } as http2.ServerStreamResponseOptions);
    stream.on('wantTrailers', () =>
      stream.sendTrailers({ 'grpc-status': '9', 'grpc-message': 'not now', 'x-why': 'because' }),
    );
    stream.end(Buffer.from([0, 0, 0, 0, 1, 7]));
  } else if (path === '/early-hints') {
    stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
    stream.respond({ ':status': 200 }, { sendDate: false } as http2.ServerStreamResponseOptions);
    stream.end('after hints');
  } else if (path === '/head') {
    stream.respond({ ':status': 204 }, { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions);
  } else if (path === '/big') {
    stream.respond({ ':status': 200, 'content-length': String(big.length) }, {
      sendDate: false,
    } as http2.ServerStreamResponseOptions);
    let at = 0;
    const pump = (): void => {
      while (at < big.length) {
        const piece = big.subarray(at, at + 64 * 1024);
        at += piece.length;
        if (!stream.write(piece)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  } else if (path === '/ticks') {
    stream.respond({ ':status': 200, 'content-type': 'text/event-stream' }, {
      sendDate: false,
    } as http2.ServerStreamResponseOptions);
    let n = 0;
    const timer = setInterval(() => {
      if (stream.destroyed || stream.closed) return clearInterval(timer);
      stream.write(`data: tick ${n++}\n\n`);
      if (n === 20) {
        clearInterval(timer);
        stream.end();
      }
    }, 25);
    stream.on('close', () => clearInterval(timer));
  } else if (path === '/forever') {
    stream.respond({ ':status': 200 }, { sendDate: false } as http2.ServerStreamResponseOptions);
    const timer = setInterval(() => !stream.destroyed && stream.write('x'.repeat(100)), 20);
    stream.on('close', () => clearInterval(timer));
  } else if (path === '/silent') {
    // Never answers: the client gives up first.
  } else if (path === '/reset-me') {
    // waitForTrailers: Node's close() ends the writable side first, which would be END_STREAM
    // (a clean end) before the reset; waiting for trailers keeps the stream open for the RST.
    stream.respond({ ':status': 200 }, { sendDate: false, waitForTrailers: true } as http2.ServerStreamResponseOptions);
    stream.write('partial');
    setTimeout(() => stream.close(NGHTTP2_ENHANCE_YOUR_CALM), 50);
  } else if (path === '/burst-then-reset') {
    // Far more than the proxy may take before its client reads: the reset comes while the
    // proxy still has bytes queued for a client that reads slowly.
    stream.respond({ ':status': 200 }, { sendDate: false, waitForTrailers: true } as http2.ServerStreamResponseOptions);
    stream.write(big.subarray(0, 4 << 20));
    setTimeout(() => stream.close(NGHTTP2_ENHANCE_YOUR_CALM), 100);
  } else {
    stream.respond({ ':status': 404 });
    stream.end();
  }
}

describe('HTTP/2 through Sluice', () => {
  let authority: UpstreamAuthority;
  let tlsUpstream: H2Server;
  let h2cUpstream: H2Server;
  let h1Upstream: TestServer;
  let proxy: TestProxy;
  let caFile: string;
  let removeDir: () => Promise<void>;
  const h1Versions: string[] = [];

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    tlsUpstream = await startH2Server(upstreamHandler, { authority, allowHTTP1: true });
    h2cUpstream = await startH2Server(upstreamHandler);
    h1Upstream = await startServer(
      (req, res) => {
        h1Versions.push(req.httpVersion);
        res.end(`h1 ${req.httpVersion}`);
      },
      { authority },
    );
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
    const dir = await tempDir('sluice-h2-');
    removeDir = dir.remove;
    caFile = join(dir.path, 'ca.pem');
    await writeFile(caFile, proxy.caPem);
  });
  afterAll(async () => {
    await proxy?.close();
    await tlsUpstream?.close();
    await h2cUpstream?.close();
    await h1Upstream?.close();
    await authority?.remove();
    await removeDir?.();
  });

  it('curl --http2 speaks HTTP/2 on both legs, headers as the upstream sent them, no date added', async () => {
    const out = await curl([
      '-s',
      '-i',
      '--http2',
      '-x',
      `http://127.0.0.1:${proxy.port}`,
      '--cacert',
      caFile,
      `https://localhost:${tlsUpstream.port}/hello`,
      '-w',
      '\n%{http_version}',
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('hello over h2');
    expect(out.stdout.trim().endsWith('\n2')).toBe(true);
    expect(out.stdout).toMatch(/^x-up: one\r?$/m);
    expect(out.stdout).toMatch(/^set-cookie: a=1\r?\nset-cookie: b=2\r?$/m);
    expect(out.stdout).not.toMatch(/^date:/im);
    const open = opened(proxy.events, '/hello')!;
    expect(open.request.httpVersion).toBe('2');
    expect(open.streamId).toBe(1);
    expect(open.connectionId).toBeGreaterThan(0);
    const closed = await closedOf(proxy, open.id);
    expect(closed.outcome).toBe('completed');
    const head = proxy.events.find((e) => e.type === 'response-head' && e.id === open.id);
    expect(head).toMatchObject({ response: { status: 200, httpVersion: '2' } });
  });

  it('curl --http2 to an HTTP/1.1-only upstream gets HTTP/1.1 on both legs, as it would directly', async () => {
    const out = await curl([
      '-s',
      '--http2',
      '-x',
      `http://127.0.0.1:${proxy.port}`,
      '--cacert',
      caFile,
      `${h1Upstream.url}/`,
      '-w',
      ' %{http_version}',
    ]);
    expect(out.stdout).toBe('h1 1.1 1.1');
    expect(h1Versions.at(-1)).toBe('1.1');
  });

  it('keeps many streams on one connection, each its own exchange with its stream id', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, { caPem: proxy.caPem });
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => h2Request(session, { ':path': '/echo', ':method': 'POST' }, `body ${i}`)),
      );
      results.forEach((r, i) => expect(r.body.toString()).toBe(sha(Buffer.from(`body ${i}`))));
      const ids = proxy.events
        .filter((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith('/echo'))
        .slice(-10);
      expect(new Set(ids.map((e) => e.streamId)).size).toBe(10);
      expect(new Set(ids.map((e) => e.connectionId)).size).toBe(1);
    } finally {
      session.destroy();
    }
  });

  it('forwards trailers, 103 Early Hints and a bodiless 204 as they were', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, { caPem: proxy.caPem });
    try {
      const trailers = await h2Request(session, { ':path': '/trailers' });
      expect(trailers.body).toEqual(Buffer.from([0, 0, 0, 0, 1, 7]));
      expect(trailers.trailers).toMatchObject({ 'grpc-status': '9', 'grpc-message': 'not now', 'x-why': 'because' });

      const informational: number[] = [];
      const stream = session.request({ ':path': '/early-hints' });
      stream.on('headers', (h: http2.IncomingHttpHeaders) => informational.push(Number(h[':status'])));
      const body = await new Promise<string>((resolve) => {
        let text = '';
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('end', () => resolve(text));
      });
      expect(informational).toEqual([103]);
      expect(body).toBe('after hints');

      const empty = await h2Request(session, { ':path': '/head' });
      expect(empty.status).toBe(204);
      expect(empty.body.length).toBe(0);
      expect(empty.rstCode).toBe(0);
    } finally {
      session.destroy();
    }
  });

  it('carries a request body far past the flow-control window, byte for byte', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, { caPem: proxy.caPem });
    try {
      const upload = Buffer.alloc(5 << 20, 'z');
      upload.write('first', 0);
      const answer = await h2Request(session, { ':path': '/echo', ':method': 'POST' }, upload);
      expect(answer.body.toString()).toBe(sha(upload));
    } finally {
      session.destroy();
    }
  });

  it('a client that cancels a stream: the upstream sees CANCEL, the exchange says the client reset it', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, { caPem: proxy.caPem });
    try {
      const stream = session.request({ ':path': '/forever' });
      stream.on('error', () => undefined);
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.close(NGHTTP2_CANCEL);
      const open = opened(proxy.events, '/forever')!;
      const closed = await closedOf(proxy, open.id);
      expect(closed).toMatchObject({ outcome: 'client-closed', reason: 'CANCEL' });
      for (let i = 0; i < 50 && seen.get('/forever')?.rstCode === undefined; i++) await sleep(20);
      expect(seen.get('/forever')?.rstCode).toBe(NGHTTP2_CANCEL);
    } finally {
      session.destroy();
    }
  });

  it('a client that resets with NO_ERROR before any response: not completed, and the upstream hears NO_ERROR', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, { caPem: proxy.caPem });
    try {
      const stream = session.request({ ':path': '/silent' });
      stream.on('error', () => undefined);
      for (let i = 0; i < 100 && !seen.has('/silent'); i++) await sleep(10);
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      const closed = await closedOf(proxy, opened(proxy.events, '/silent')!.id);
      expect(closed).toMatchObject({ outcome: 'client-closed', reason: 'NO_ERROR', responseBytes: 0 });
      for (let i = 0; i < 50 && seen.get('/silent')?.rstCode === undefined; i++) await sleep(20);
      expect(seen.get('/silent')?.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
    }
  });

  it('an upstream that resets a stream: the client gets the same code, the exchange names it', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, { caPem: proxy.caPem });
    try {
      const answer = await h2Request(session, { ':path': '/reset-me' });
      expect(answer.body.toString()).toBe('partial');
      expect(answer.rstCode).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
      const closed = await closedOf(proxy, opened(proxy.events, '/reset-me')!.id);
      expect(closed).toMatchObject({ outcome: 'upstream-reset', reason: 'ENHANCE_YOUR_CALM' });
    } finally {
      session.destroy();
    }
  });

  it('an upstream reset reaches a slow client after every byte the proxy forwarded before it', async () => {
    // A 1 KiB window: the proxy can send this client little at a time, so it holds a queue.
    const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
      caPem: proxy.caPem,
      settings: { initialWindowSize: 1024 },
    });
    try {
      const answer = await h2Request(session, { ':path': '/burst-then-reset' });
      expect(answer.rstCode).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
      const closed = await closedOf(proxy, opened(proxy.events, '/burst-then-reset')!.id);
      expect(closed).toMatchObject({ outcome: 'upstream-reset', reason: 'ENHANCE_YOUR_CALM' });
      // Reset at once, the proxy dropped what was queued for the client: fewer bytes than it forwarded.
      expect(closed.responseBytes).toBeGreaterThan(0);
      expect(answer.body.length).toBe(closed.responseBytes);
      expect(answer.body.equals(big.subarray(0, answer.body.length))).toBe(true);
    } finally {
      session.destroy();
    }
  });

  it('h2c with prior knowledge inside CONNECT', async () => {
    const { session } = await connectH2(proxy.port, `127.0.0.1:${h2cUpstream.port}`);
    try {
      const answer = await h2Request(session, { ':path': '/hello' });
      expect(answer.body.toString()).toBe('hello over h2c');
      const open = opened(proxy.events, '/hello')!;
      expect(open).toMatchObject({
        intercepted: false,
        request: { httpVersion: '2', url: `http://127.0.0.1:${h2cUpstream.port}/hello` },
      });
    } finally {
      session.destroy();
    }
  });

  it('h2c with prior knowledge to the proxy itself: :authority names the target', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    session.on('error', () => undefined);
    try {
      const answer = await h2Request(session, { ':path': '/hello', ':authority': `127.0.0.1:${h2cUpstream.port}` });
      expect(answer.body.toString()).toBe('hello over h2c');
      const curled = await curl([
        '-s',
        '--http2-prior-knowledge',
        `http://127.0.0.1:${proxy.port}/hello`,
        '-H',
        `Host: 127.0.0.1:${h2cUpstream.port}`,
        '-w',
        ' %{http_version}',
      ]);
      expect(curled.stdout).toBe('hello over h2c 2');
    } finally {
      session.destroy();
    }
  });

  it('HTTP/1.1 on the plain listener is unaffected by the HTTP/2 check', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: proxy.port,
        path: `http://127.0.0.1:${h2cUpstream.port}/x`,
        method: 'PUT',
      });
      req.on('response', (res) => resolve(String(res.statusCode)));
      req.on('error', reject);
      req.end('p');
    });
    // A PUT starts with P, as the HTTP/2 preface does: it must still reach the HTTP/1.1 server
    // (which then fails to speak h1 to an h2c-only upstream: a 502 from us, not a hang).
    expect(answer).toBe('502');
  });

  it(
    'a slow reader of 50 MiB pauses only its own stream; another stream keeps its pace; memory stays bounded',
    { timeout: 30_000 },
    async () => {
      const { session } = await connectH2(proxy.port, `localhost:${tlsUpstream.port}`, {
        caPem: proxy.caPem,
        settings: { initialWindowSize: 65_535 },
      });
      try {
        const rssBefore = process.memoryUsage().rss;
        const slow = session.request({ ':path': '/big' });
        let slowBytes = 0;
        const slowHash = createHash('sha256');
        slow.on('data', (d: Buffer) => {
          slowBytes += d.length;
          slowHash.update(d);
          slow.pause();
          setTimeout(() => slow.resume(), 15);
        });
        const slowDone = new Promise<void>((resolve) => slow.on('end', () => resolve()));
        await sleep(300);
        const ticks = session.request({ ':path': '/ticks' });
        const arrivals: number[] = [];
        ticks.on('data', () => arrivals.push(performance.now()));
        await new Promise<void>((resolve) => ticks.on('end', () => resolve()));
        expect(arrivals.length).toBeGreaterThanOrEqual(15);
        const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
        expect(Math.max(...gaps)).toBeLessThan(250);
        expect(slowBytes).toBeLessThan(big.length / 4);
        // The upstream had all 50 MiB to send: were the proxy buffering for the slow reader, this
        // process (proxy, upstream and client together) would have grown by about that much.
        const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
        expect(grownMiB).toBeLessThan(24);
        slow.removeAllListeners('data');
        slow.on('data', (d: Buffer) => {
          slowBytes += d.length;
          slowHash.update(d);
        });
        slow.resume();
        await slowDone;
        expect(slowBytes).toBe(big.length);
        expect(slowHash.digest('hex')).toBe(sha(big));
        const id = opened(proxy.events, '/big')!.id;
        expect(
          proxy.events.some((e) => e.type === 'backpressure-paused' && e.id === id && e.direction === 'response'),
        ).toBe(true);
        const ticksId = opened(proxy.events, '/ticks')!.id;
        expect(proxy.events.some((e) => e.type === 'backpressure-paused' && e.id === ticksId)).toBe(false);
        expect(proxy.events.filter((e) => e.type === 'sse-event' && e.id === ticksId)).toHaveLength(20);
      } finally {
        session.destroy();
      }
    },
  );
});
