import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent, ResponseHeadEvent } from '../../app/proxy-events.js';
import type { Mock } from '../../proxy-core/index.js';
import { fetchViaProxy, type ProxiedResponse } from '../helpers/client.js';
import { connectH2 } from '../helpers/h2.js';
import { lastOpened, startProxy, type TestProxy } from '../helpers/proxy.js';
import { startServer, type TestServer } from '../helpers/servers.js';
import { EACH_WITHIN_MS, expectPlayedAt } from '../helpers/playback-timing.js';
import WebSocket from 'ws';
import { connectThroughProxy } from '../helpers/client.js';
import { webSocketFrame } from '../../proxy-core/index.js';

/** An SSE stream as recorded: four events, the waits between them uneven. */
const EVENT_TIMES_MS = [0, 120, 300, 380];
const sse = (i: number): Buffer => Buffer.from(`id: ${i}\ndata: {"n":${i}}\n\n`);

function sseMock(id: number, url: string, protocol: 'http/1.1' | 'h2' = 'http/1.1'): Mock {
  return {
    id,
    method: 'GET',
    url,
    status: 200,
    statusText: 'OK',
    headers: [
      ['Content-Type', 'text/event-stream'],
      ['Cache-Control', 'no-cache'],
    ],
    trailers: [],
    headAtMs: 40,
    pieces: EVENT_TIMES_MS.map((atMs, i) => ({ atMs, bytes: sse(i) })),
    protocol,
  };
}

/** A recorded WebSocket: its 101, then the server's frames; the client closes it. */
function webSocketMock(id: number, url: string, pieces: Mock['pieces']): Mock {
  return {
    id,
    method: 'GET',
    url,
    status: 101,
    statusText: 'Switching Protocols',
    headers: [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
    ],
    trailers: [],
    headAtMs: 0,
    pieces,
    protocol: 'http/1.1',
    websocket: { closesItself: false },
  };
}

/** Times each event reached the client, from the first. */
function gapsFromFirst(res: ProxiedResponse): number[] {
  expect(res.arrivals.length).toBe(EVENT_TIMES_MS.length);
  return res.arrivals.map((a) => a.at - res.arrivals[0]!.at);
}

// A busy CI machine fires timers late by a few ms; a mock that ignored its recording would be off by 100s.
const WITHIN_MS = EACH_WITHIN_MS;

describe('mocks: recorded responses served in the upstream’s place', () => {
  let proxy: TestProxy;
  let upstream: TestServer;
  let upstreamHits = 0;

  beforeAll(async () => {
    proxy = await startProxy();
    upstream = await startServer((req, res) => {
      upstreamHits++;
      res.end(`upstream answered ${req.url}`);
    });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('plays an SSE recording with its head, its chunks and its gaps at x1, with no upstream at all', async () => {
    const url = 'http://llm.mock.invalid/v1/stream?model=a';
    proxy.proxy.setMocks([sseMock(1, url)], { speed: 1, jitterMs: 0 });
    const sent = performance.now();
    const res = await fetchViaProxy(proxy.port, url);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe(EVENT_TIMES_MS.map((_, i) => sse(i).toString()).join(''));
    // The head waited as recorded (40 ms) before the first event.
    expect(res.arrivals[0]!.at - sent).toBeGreaterThanOrEqual(35);
    expectPlayedAt(gapsFromFirst(res), EVENT_TIMES_MS, 1);
    const opened = lastOpened(proxy.events, (e) => e.request.url === url)!;
    const head = (await proxy.waitFor((e) => e.type === 'response-head' && e.id === opened.id)) as ResponseHeadEvent;
    expect(head.mock).toBe(1);
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened.id);
    expect(closed).toMatchObject({ outcome: 'completed', responseBytes: res.body.length });
    // Each piece was its own chunk, as recorded.
    expect(proxy.events.filter((e) => e.type === 'chunk' && e.id === opened.id)).toHaveLength(4);
    expect(proxy.proxy.mockServedCounts().get(1)).toBe(1);
  });

  it('plays proportionally faster at x2, and at once as fast as possible', async () => {
    const url = 'http://llm.mock.invalid/v1/stream';
    proxy.proxy.setMocks([sseMock(2, url)], { speed: 2, jitterMs: 0 });
    expectPlayedAt(gapsFromFirst(await fetchViaProxy(proxy.port, url)), EVENT_TIMES_MS, 2);
    proxy.proxy.setMocks([sseMock(2, url)], { speed: 0, jitterMs: 0 });
    const started = performance.now();
    const fast = await fetchViaProxy(proxy.port, url);
    expect(fast.body.toString()).toContain('data: {"n":3}');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('moves each wait by no more than the jitter asked for', async () => {
    const url = 'http://llm.mock.invalid/jitter';
    proxy.proxy.setMocks([sseMock(3, url)], { speed: 1, jitterMs: 20 });
    const times = gapsFromFirst(await fetchViaProxy(proxy.port, url));
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      const recorded = EVENT_TIMES_MS[i]! - EVENT_TIMES_MS[i - 1]!;
      expect(Math.abs(gap - recorded)).toBeLessThanOrEqual(20 + WITHIN_MS);
    }
  });

  it('answers a query it was not recorded with by its path, and leaves other paths to the upstream', async () => {
    const mocked = `${upstream.url}/mocked?at=1`;
    proxy.proxy.setMocks([sseMock(4, mocked)], { speed: 0, jitterMs: 0 });
    const other = await fetchViaProxy(proxy.port, `${upstream.url}/mocked?at=2`);
    expect(other.body.toString()).toContain('data: {"n":0}');
    const hits = upstreamHits;
    const real = await fetchViaProxy(proxy.port, `${upstream.url}/real`);
    expect(real.body.toString()).toBe('upstream answered /real');
    expect(upstreamHits).toBe(hits + 1);
    const post = await fetchViaProxy(proxy.port, mocked, { method: 'POST', body: 'x' });
    expect(post.body.toString()).toBe('upstream answered /mocked?at=1');
  });

  it('answers HTTPS through CONNECT to a host that does not exist, over HTTP/1.1', async () => {
    const url = 'https://api.mock.invalid/v1/chat';
    proxy.proxy.setMocks([sseMock(5, url)], { speed: 1, jitterMs: 0 });
    const res = await fetchViaProxy(proxy.port, url, { caPem: proxy.caPem });
    expect(res.status).toBe(200);
    expectPlayedAt(gapsFromFirst(res), EVENT_TIMES_MS, 1);
  });

  it('answers an HTTP/2 client in HTTP/2, with the recorded trailers (a gRPC call)', async () => {
    const grpc: Mock = {
      id: 6,
      method: 'POST',
      url: 'https://grpc.mock.invalid/pkg.Svc/Watch',
      status: 200,
      statusText: '',
      headers: [['content-type', 'application/grpc']],
      trailers: [
        ['grpc-status', '0'],
        ['grpc-message', 'done'],
      ],
      headAtMs: 0,
      pieces: [
        { atMs: 0, bytes: Buffer.from([0, 0, 0, 0, 1, 0x41]) },
        { atMs: 150, bytes: Buffer.from([0, 0, 0, 0, 1, 0x42]) },
      ],
      protocol: 'h2',
    };
    proxy.proxy.setMocks([grpc], { speed: 1, jitterMs: 0 });
    const { session } = await connectH2(proxy.port, 'grpc.mock.invalid:443', {
      caPem: proxy.caPem,
      alpn: ['h2', 'http/1.1'],
    });
    try {
      expect(session.alpnProtocol).toBe('h2');
      const stream = session.request(
        { ':method': 'POST', ':path': '/pkg.Svc/Watch', 'content-type': 'application/grpc', te: 'trailers' },
        { endStream: false },
      );
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
      const arrivals: number[] = [];
      const body: Buffer[] = [];
      let trailers: http2.IncomingHttpHeaders | undefined;
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (d: Buffer) => {
        arrivals.push(performance.now());
        body.push(d);
      });
      stream.on('trailers', (t) => (trailers = t));
      await new Promise((resolve) => stream.on('close', resolve));
      expect(status).toBe(200);
      expect(Buffer.concat(body)).toEqual(Buffer.concat(grpc.pieces.map((p) => p.bytes)));
      expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(150 - WITHIN_MS);
      expect(trailers).toMatchObject({ 'grpc-status': '0', 'grpc-message': 'done' });
    } finally {
      session.destroy();
    }
  });

  it('answers a client still sending its body, as a server that answers first would', async () => {
    const url = 'http://upload.mock.invalid/stream';
    proxy.proxy.setMocks([{ ...sseMock(9, url), method: 'POST' }], { speed: 0, jitterMs: 0 });
    const socket = await import('node:net').then((net) => net.connect(proxy.port, '127.0.0.1'));
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    socket.write(
      `POST ${url} HTTP/1.1\r\nHost: upload.mock.invalid\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    // The upload is not over, and the answer comes all the same.
    await expect.poll(() => Buffer.concat(got).toString(), { timeout: 3000 }).toContain('data: {"n":3}');
    socket.end('0\r\n\r\n');
    socket.destroy();
  });

  it('lets a WebSocket mock go when its client leaves during the recorded wait', async () => {
    const url = 'ws://ws-wait.mock.invalid/live';
    proxy.proxy.setMocks([{ ...webSocketMock(10, url, []), headAtMs: 5_000 }], { speed: 1, jitterMs: 0 });
    const net = await import('node:net');
    const socket = net.connect(proxy.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `GET http://ws-wait.mock.invalid/live HTTP/1.1\r\nHost: ws-wait.mock.invalid\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const opened = await proxy.waitFor(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url === url,
    );
    socket.destroy();
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened.id, 2_000);
    expect(closed).toMatchObject({ outcome: 'client-closed' });
  });

  it('plays a large recording whole, through the same backpressured pump as a real body', async () => {
    const big = Buffer.alloc(256 * 1024, 0x61);
    const url = 'http://bulk.mock.invalid/file';
    proxy.proxy.setMocks(
      [
        {
          ...sseMock(7, url),
          headers: [['Content-Type', 'application/octet-stream']],
          headAtMs: 0,
          pieces: Array.from({ length: 16 }, (_, i) => ({ atMs: i, bytes: big })),
        },
      ],
      { speed: 1, jitterMs: 0 },
    );
    const res = await fetchViaProxy(proxy.port, url);
    expect(res.body.length).toBe(16 * big.length);
    expect(res.complete).toBe(true);
  });

  it('keeps a recorded WebSocket open until the client closes, answering its close, over wss to no server', async () => {
    const url = 'wss://ws.mock.invalid/live';
    const mock = webSocketMock(8, url, [
      { atMs: 0, bytes: webSocketFrame(1, Buffer.from('hello'), false) },
      { atMs: 80, bytes: webSocketFrame(1, Buffer.from('world'), false) },
    ]);
    // Recorded for another client's key: the mock must make its own.
    const recorded: Mock = {
      ...mock,
      headers: [...mock.headers, ['Sec-WebSocket-Accept', 'recorded-for-another-key']],
    };
    proxy.proxy.setMocks([recorded], { speed: 1, jitterMs: 0 });
    const socket = await connectThroughProxy(proxy.port, new URL('https://ws.mock.invalid/'), proxy.caPem);
    const client = new WebSocket(url, { createConnection: () => socket, perMessageDeflate: false });
    const got: string[] = [];
    client.on('message', (data: Buffer) => {
      got.push(data.toString());
      if (got.length === 2) client.close(4000, 'done');
    });
    const [code] = await new Promise<[number, Buffer]>((resolve, reject) => {
      client.once('close', (c: number, r: Buffer) => resolve([c, r]));
      client.once('error', reject);
    });
    expect(got).toEqual(['hello', 'world']);
    // The mock answered the client's close, so the client closed cleanly and at once.
    expect(code).toBe(1000);
  });
});
