import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { ExchangeClosedEvent, ExchangeKind, ProxyEvent } from '../../app/proxy-events.js';
import { buildEntry } from '../../main/har/har-entry.js';
import { exchangesIn } from '../../main/har/exchange-events.js';
import type { HarEntry } from '../../main/har/har-types.js';
import { connectThroughProxy, fetchViaProxy } from '../helpers/client.js';
import { connectH2, h2Request, startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long each upstream makes its exchange last, so a wrong phase would show by far. */
const HOLD_MS = 150;

/**
 * HAR timings of every kind of exchange, from real traffic: each phase known or -1, none
 * negative otherwise, and together (what HAR calls `time`) the exchange's real duration.
 */
describe('HAR timings of every exchange kind add up to its duration', () => {
  let proxy: TestProxy;
  let authority: UpstreamAuthority;
  let h1: TestServer;
  let h2: H2Server;
  let ws: { port: number; close: () => Promise<void> };
  let tcp: net.Server;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    h1 = await startServer((req, res) => {
      req.resume();
      // The head waits (time to first byte), then the body is held open a while (receive).
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first ');
        setTimeout(() => res.end('last'), HOLD_MS);
      }, HOLD_MS);
    });
    h2 = await startH2Server(
      (stream) => {
        stream.on('error', () => undefined);
        setTimeout(() => {
          stream.respond({ ':status': 200 });
          stream.write('first ');
          setTimeout(() => stream.end('last'), HOLD_MS);
        }, HOLD_MS);
      },
      { authority },
    );
    ws = await startWebSocketServer();
    tcp = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write('220 ready\r\n');
      setTimeout(() => socket.end(), HOLD_MS);
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    proxy = await startProxy({
      upstreamCaPems: [authority.ca.certPem],
      timeouts: { firstBytesAfterConnectMs: 50 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await h1?.close();
    await h2?.close();
    await ws?.close();
    await new Promise((resolve) => tcp?.close(resolve));
    await authority?.remove();
  });

  /** The HAR entry of the one exchange `run` makes, once it has closed. */
  async function entryOf(kind: ExchangeKind, run: () => Promise<void>): Promise<{ entry: HarEntry; ms: number }> {
    const from = proxy.events.length;
    await run();
    const opened = await proxy.waitFor(
      (e) => e.type === 'exchange-opened' && e.kind === kind && proxy.events.indexOf(e) >= from,
    );
    const closed = await proxy.waitFor(
      (e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && 'id' in opened && e.id === opened.id,
    );
    const own = proxy.events.filter((e: ProxyEvent) => 'id' in e && e.id === closed.id);
    const [exchange] = [...exchangesIn(own)];
    const entry = buildEntry(exchange!, {});
    return { entry, ms: closed.t - (opened as { t: number }).t };
  }

  function expectConsistent({ entry, ms }: { entry: HarEntry; ms: number }, atLeastMs = HOLD_MS): void {
    const { timings } = entry;
    for (const value of Object.values(timings)) {
      if (typeof value === 'number') expect(value).toBeGreaterThanOrEqual(-1);
    }
    // Rounded to 0.001 ms per phase in HAR; a few phases' rounding is all that may differ.
    expect(Math.abs(entry.time - ms)).toBeLessThan(1);
    expect(entry.time).toBeGreaterThanOrEqual(atLeastMs);
  }

  it('HTTP/1.1: waiting for the head is wait, the held body is receive', async () => {
    const result = await entryOf('http', async () => {
      await fetchViaProxy(proxy.port, `http://127.0.0.1:${h1.port}/slow`);
    });
    expectConsistent(result);
    // The request is stamped sent in a callback: a loop stalled by a busy machine between the write
    // and that callback moves time from wait to send, never to receive.
    expect(result.entry.timings.send + result.entry.timings.wait).toBeGreaterThanOrEqual(HOLD_MS - 5);
    expect(result.entry.timings.receive).toBeGreaterThanOrEqual(HOLD_MS - 5);
  });

  it('HTTP/2 over intercepted TLS', async () => {
    const result = await entryOf('http', async () => {
      const { session } = await connectH2(proxy.port, `localhost:${h2.port}`, { caPem: proxy.caPem });
      try {
        await h2Request(session, { ':path': '/slow' });
      } finally {
        session.destroy();
      }
    });
    expectConsistent(result);
    expect(result.entry.timings.wait).toBeGreaterThanOrEqual(HOLD_MS - 5);
  });

  it('a WebSocket: the upgrade is sent and answered, the conversation is receive', async () => {
    const result = await entryOf('websocket', async () => {
      const url = `ws://127.0.0.1:${ws.port}/chat`;
      const socket = await connectThroughProxy(proxy.port, new URL(url));
      const client = new WebSocket(url, { createConnection: () => socket });
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      client.send('hello');
      await sleep(HOLD_MS);
      client.close(1000, 'bye');
      await new Promise((resolve) => client.once('close', resolve));
    });
    expectConsistent(result);
    // The whole conversation is after the 101: nowhere near all of it is waiting.
    expect(result.entry.timings.wait).toBeLessThan(HOLD_MS / 2);
    expect(result.entry.timings.receive).toBeGreaterThanOrEqual(HOLD_MS - 5);
  });

  it('a raw tunnel (a server-first protocol)', async () => {
    const result = await entryOf('tunnel', async () => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.write(`CONNECT 127.0.0.1:${(tcp.address() as net.AddressInfo).port} HTTP/1.1\r\n\r\n`);
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
    });
    // The upstream's clock starts at CONNECT; the exchange's once the client's first bytes were awaited.
    expectConsistent(result, HOLD_MS / 3);
  });

  it('a CONNECT that could not be connected', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const { entry } = await entryOf('tunnel', async () => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.write(`CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
    });
    expect(entry.response.status).toBe(502);
    for (const value of Object.values(entry.timings)) {
      if (typeof value === 'number') expect(value).toBeGreaterThanOrEqual(-1);
    }
    expect(entry.time).toBeLessThan(1000);
  });
});

async function startWebSocketServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${String(data)}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      wss.close();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
