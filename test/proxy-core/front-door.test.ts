import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { lastOpened, startProxy, type TestProxy } from '../helpers/proxy.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP upstream that records what it received and how many connections are open. */
async function tcpUpstream(onSocket: (socket: net.Socket) => void = () => undefined): Promise<{
  port: number;
  received: () => string;
  open: () => number;
  close: () => Promise<void>;
}> {
  let received = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends CONNECT on a raw socket and resolves with the socket once the proxy's answer head is in. */
function rawConnect(proxyPort: number, target: string): Promise<{ socket: net.Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const rest = got.slice(end + 4);
      if (rest.length > 0) socket.unshift(Buffer.from(rest, 'latin1'));
      resolve({ socket, head: got.slice(0, end) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  for (const start = Date.now(); !condition();) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const closedEvents = (events: ProxyEvent[]): ExchangeClosedEvent[] =>
  events.filter((e): e is ExchangeClosedEvent => e.type === 'exchange-closed');

describe('the front door', () => {
  const undo: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (undo.length > 0) await undo.pop()!();
  });
  const proxyWith = async (options: Parameters<typeof startProxy>[0] = {}): Promise<TestProxy> => {
    const proxy = await startProxy(options);
    undo.push(() => proxy.close());
    return proxy;
  };

  it('answers CONNECT to a port nobody listens on with 502 and the reason, and records it', async () => {
    const proxy = await proxyWith();
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const { socket, head } = await rawConnect(proxy.port, `127.0.0.1:${closedPort}`);
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(head).toContain('X-Sluice-Error: ECONNREFUSED');
    const closed = await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed');
    expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'ECONNREFUSED' });
    expect(lastOpened(proxy.events)?.request).toMatchObject({ method: 'CONNECT', url: `127.0.0.1:${closedPort}` });
    expect(lastOpened(proxy.events)?.connectionId).toBeGreaterThan(0);
  });

  it('loses no byte a client sends just as the wait for its first bytes runs out', async () => {
    const upstream = await tcpUpstream();
    undo.push(upstream.close);
    const proxy = await proxyWith({ timeouts: { firstBytesAfterConnectMs: 100 } });
    const { socket } = await rawConnect(proxy.port, `127.0.0.1:${upstream.port}`);
    // Quiet past most of the wait, then a write every 2 ms across the moment it ends.
    await sleep(80);
    let sent = '';
    for (let i = 0; i < 40; i++) {
      const piece = `<${i}>`;
      sent += piece;
      socket.write(piece);
      await sleep(2);
    }
    await until(() => upstream.received().length >= sent.length);
    expect(upstream.received()).toBe(sent);
    socket.destroy();
  });

  it('a server-first protocol: the upstream speaks first, then the client answers', async () => {
    const upstream = await tcpUpstream((s) => s.write('220 ready\r\n'));
    undo.push(upstream.close);
    const proxy = await proxyWith({ timeouts: { firstBytesAfterConnectMs: 100 } });
    const { socket } = await rawConnect(proxy.port, `127.0.0.1:${upstream.port}`);
    const greeting = await new Promise<string>((resolve) => {
      socket.once('data', (d: Buffer) => resolve(d.toString()));
      socket.resume();
    });
    expect(greeting).toBe('220 ready\r\n');
    socket.write('QUIT\r\n');
    await until(() => upstream.received() === 'QUIT\r\n');
    socket.destroy();
    // A raw tunnel is one exchange on its client connection, numbered like any other.
    expect(lastOpened(proxy.events)).toMatchObject({ kind: 'tunnel', connectionId: expect.any(Number) });
  });

  it('a client that leaves while the tunnel waits for its first bytes is noticed at once', async () => {
    const upstream = await tcpUpstream();
    undo.push(upstream.close);
    const proxy = await proxyWith({ timeouts: { firstBytesAfterConnectMs: 10_000 } });
    const { socket } = await rawConnect(proxy.port, `127.0.0.1:${upstream.port}`);
    await until(() => upstream.open() === 1);
    socket.destroy();
    await until(() => upstream.open() === 0, 1000);
    // Nothing was said, so nothing was exchanged: no exchange is left open either way.
    const opened = proxy.events.filter((e) => e.type === 'exchange-opened').length;
    expect(closedEvents(proxy.events).length).toBe(opened);
  });

  it('a client that leaves a raw tunnel at once ends the exchange and the upstream connection at once', async () => {
    const upstream = await tcpUpstream();
    undo.push(upstream.close);
    const proxy = await proxyWith({ passThroughHosts: ['127.0.0.1'] });
    const { socket } = await rawConnect(proxy.port, `127.0.0.1:${upstream.port}`);
    socket.destroy();
    // A FIN from each side in turn: the tunnel ended cleanly, as TCP says it did.
    const closed = await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed', 1000);
    expect(closed.outcome).toBe('completed');
    await until(() => upstream.open() === 0, 1000);
  });

  describe('WebSocket upgrades', () => {
    const upgradeRequest = (port: number): string =>
      `GET http://127.0.0.1:${port}/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

    /** An HTTP server that takes upgrade requests and never answers them. */
    async function silentUpgrades(): Promise<{ port: number; open: () => number; close: () => Promise<void> }> {
      const sockets = new Set<import('node:stream').Duplex>();
      const server = http.createServer();
      server.on('upgrade', (_req, socket) => {
        sockets.add(socket);
        // HTTP servers allow half-open sockets; a peer that ends is gone here.
        socket.on('end', () => socket.destroy());
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return {
        port: (server.address() as net.AddressInfo).port,
        open: () => sockets.size,
        close: () =>
          new Promise<void>((resolve) => {
            for (const s of sockets) s.destroy();
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    }

    it('an upstream that never answers the upgrade gets the response-head timeout: 504', async () => {
      const upstream = await silentUpgrades();
      undo.push(upstream.close);
      const proxy = await proxyWith({ timeouts: { responseHeaderMs: 300 } });
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.write(upgradeRequest(upstream.port));
      const answer = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
      expect(answer).toMatch(/^HTTP\/1\.1 504 /);
      expect(answer).toContain('X-Sluice-Error: response-header-timeout');
      const closed = await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed');
      expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'response-header-timeout' });
      await until(() => upstream.open() === 0, 1000);
      socket.destroy();
    });

    it('a client that leaves before the 101 ends the exchange and the upstream connection', async () => {
      const upstream = await silentUpgrades();
      undo.push(upstream.close);
      const proxy = await proxyWith();
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.write(upgradeRequest(upstream.port));
      await until(() => upstream.open() === 1);
      socket.destroy();
      const closed = await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed', 1000);
      expect(closed.outcome).toBe('client-closed');
      await until(() => upstream.open() === 0, 1000);
    });

    it('a refusal cut short by the upstream is not passed on as whole', async () => {
      const server = net.createServer((s) => {
        s.on('error', () => undefined);
        s.once('data', () => {
          s.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nonly part');
          setTimeout(() => s.destroy(), 50);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      undo.push(() => new Promise((r) => server.close(() => r(undefined))));
      const proxy = await proxyWith();
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.on('error', () => undefined);
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(upgradeRequest((server.address() as net.AddressInfo).port));
      await Promise.race([closed, sleep(2000)]);
      expect(got).toMatch(/^HTTP\/1\.1 403 /);
      expect(socket.destroyed).toBe(true);
      const ended = await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed', 1000);
      expect(ended).toMatchObject({ outcome: 'upstream-reset' });
    });

    it('close() ends an upgrade still waiting for its 101', async () => {
      const upstream = await silentUpgrades();
      undo.push(upstream.close);
      const proxy = await startProxy();
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.on('error', () => undefined);
      const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(upgradeRequest(upstream.port));
      await until(() => upstream.open() === 1);
      await proxy.close();
      await socketClosed;
      await until(() => upstream.open() === 0, 1000);
      expect(closedEvents(proxy.events)).toHaveLength(1);
    });
  });
});
