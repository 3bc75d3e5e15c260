import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRawServer, type RawServer } from '../helpers/raw-server.js';

/**
 * An HTTP/1.1 server that keeps connections alive, then closes one just as its next request
 * arrives, as a server whose keep-alive timeout ran out at that moment does: the request was
 * never processed, and the client sees only a reset.
 */
async function closingServer(): Promise<RawServer & { requests: string[] }> {
  const requests: string[] = [];
  const server = await startRawServer((socket) => {
    let served = 0;
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.slice(0, end);
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const line = head.split('\r\n')[0]!;
      buffered = '';
      if (served++ > 0) {
        socket.resetAndDestroy();
        return;
      }
      requests.push(line);
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${line.length}\r\nConnection: keep-alive\r\n\r\n${line}`);
    });
  });
  return { ...server, requests };
}

describe('a keep-alive upstream connection the server closed while idle', () => {
  const undo: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (undo.length > 0) await undo.pop()!();
  });

  async function setup(): Promise<{ proxy: TestProxy; server: Awaited<ReturnType<typeof closingServer>> }> {
    const server = await closingServer();
    undo.push(server.close);
    const proxy = await startProxy();
    undo.push(proxy.close);
    return { proxy, server };
  }

  const outcomes = (proxy: TestProxy): string[] =>
    proxy.events.filter((e): e is ExchangeClosedEvent => e.type === 'exchange-closed').map((e) => e.outcome);

  it('a request nothing of which was exchanged is sent again on a fresh connection', async () => {
    const { proxy, server } = await setup();
    const url = `http://127.0.0.1:${server.port}`;
    expect((await fetchViaProxy(proxy.port, `${url}/first`)).body.toString()).toBe('GET /first HTTP/1.1');
    // Reuses the kept-alive connection, which the server drops: the client must not see that.
    const second = await fetchViaProxy(proxy.port, `${url}/second`);
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe('GET /second HTTP/1.1');
    const emptyPost = await fetchViaProxy(proxy.port, `${url}/empty-post`, { method: 'POST', body: '' });
    expect(emptyPost.body.toString()).toBe('POST /empty-post HTTP/1.1');
    // Each request was processed exactly once, the dropped connections' ones never.
    expect(server.requests).toEqual(['GET /first HTTP/1.1', 'GET /second HTTP/1.1', 'POST /empty-post HTTP/1.1']);
    expect(server.connections()).toBeGreaterThanOrEqual(3);
    await expect.poll(() => outcomes(proxy)).toEqual(['completed', 'completed', 'completed']);
  });

  it('a request whose body had started is not sent twice: the client hears of the reset', async () => {
    const { proxy, server } = await setup();
    const url = `http://127.0.0.1:${server.port}`;
    await fetchViaProxy(proxy.port, `${url}/first`);
    const post = await fetchViaProxy(proxy.port, `${url}/upload`, { method: 'POST', body: 'payload' });
    expect(post.status).toBe(502);
    expect(server.requests).toEqual(['GET /first HTTP/1.1']);
    await expect.poll(() => outcomes(proxy)).toEqual(['completed', 'upstream-reset']);
  });

  it('a kept-alive connection is let go before the keep-alive timeout the server announced, so an upload never meets a closing one', async () => {
    // A Node server announces "Keep-Alive: timeout=2" and closes an idle connection after 2 s; it
    // is told 10 s here, so only Sluice letting go (at 1 s, the announced time less a margin) can
    // make the second upload open a new connection.
    let connections = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.keepAliveTimeout = 10_000;
    server.on('connection', () => connections++);
    server.on('request', (_req, res) => res.setHeader('Keep-Alive', 'timeout=2'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    undo.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    const proxy = await startProxy();
    undo.push(proxy.close);
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/upload`;

    expect((await fetchViaProxy(proxy.port, url, { method: 'POST', body: 'one' })).status).toBe(200);
    expect((await fetchViaProxy(proxy.port, url, { method: 'POST', body: 'two' })).status).toBe(200);
    expect(connections).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await fetchViaProxy(proxy.port, url, { method: 'POST', body: 'three' })).status).toBe(200);
    expect(connections).toBe(2);
  });
});
