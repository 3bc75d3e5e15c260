import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { ProxyEvent, WebSocketMessageEvent } from '../../app/proxy-events.js';
import { connectThroughProxy } from '../helpers/client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

/** A `ws` server that answers each text message with an echo and, on "binary", two bytes. */
async function startWsUpstream(perMessageDeflate: boolean) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: perMessageDeflate ? { threshold: 0 } : false });
  const received: Buffer[] = [];
  const written: Buffer[] = [];
  wss.on('connection', (socket, req) => {
    // The bytes on the upstream's side of the proxy, both ways, to compare with the client's.
    // First in line: `ws` unmasks frames in place, in the very buffer the socket read.
    req.socket.prependListener('data', (d: Buffer) => received.push(Buffer.from(d)));
    const write = req.socket.write.bind(req.socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
    req.socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      written.push(Buffer.from(chunk as Buffer));
      return write(chunk, ...rest);
    }) as typeof req.socket.write;
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = (data as Buffer).toString();
      if (text === 'binary') socket.send(Buffer.from([0xde, 0xad]), { binary: true });
      else socket.send(`echo:${text}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/chat`,
    received,
    written,
    close: () => {
      wss.close();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('WebSocket messages through the proxy', () => {
  let proxy: TestProxy | undefined;
  let upstream: Awaited<ReturnType<typeof startWsUpstream>> | undefined;
  afterEach(async () => {
    await upstream?.close();
    await proxy?.close();
  });

  it.each([false, true])(
    'reports messages both ways, byte-exact forwarding (permessage-deflate %s)',
    async (deflate) => {
      proxy = await startProxy();
      upstream = await startWsUpstream(deflate);
      const socket = await connectThroughProxy(proxy.port, new URL(upstream.url));
      // Everything the client's socket sent and got, to compare with the upstream's side.
      const clientGot: Buffer[] = [];
      const clientSent: Buffer[] = [];
      socket.on('data', (d: Buffer) => clientGot.push(Buffer.from(d)));
      const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        clientSent.push(Buffer.from(chunk as Buffer));
        return write(chunk, ...rest);
      }) as typeof socket.write;

      const client = new WebSocket(upstream.url, {
        createConnection: () => socket,
        perMessageDeflate: deflate ? { threshold: 0 } : false,
      });
      const replies: string[] = [];
      client.on('message', (data, isBinary) => replies.push(isBinary ? 'bin' : (data as Buffer).toString()));
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      client.send('hello');
      client.send('binary');
      client.send(Buffer.from([1, 2, 3]), { binary: true });
      const ponged = new Promise((resolve) => client.once('pong', resolve));
      client.ping('are-you-there');
      await ponged;
      await expect.poll(() => replies).toEqual(['echo:hello', 'bin']);
      client.close(4001, 'done here');
      await new Promise((resolve) => client.once('close', resolve));

      const closed = await proxy.waitFor((e) => e.type === 'exchange-closed');
      const messages = proxy.events.filter(
        (e: ProxyEvent): e is WebSocketMessageEvent => e.type === 'websocket-message' && e.id === closed.id,
      );
      const summary = messages.map((m) => `${m.direction === 'request' ? '↑' : '↓'} ${m.opcode} ${m.data}`);
      expect(summary).toEqual(
        expect.arrayContaining([
          '↑ 1 hello',
          '↓ 1 echo:hello',
          '↑ 1 binary',
          '↓ 2 3q0=',
          '↑ 2 AQID',
          '↑ 9 are-you-there',
          '↓ 10 are-you-there',
          '↑ 8 done here',
          '↓ 8 done here',
        ]),
      );
      expect(messages).toHaveLength(9);
      const close = messages.find((m) => m.opcode === 8 && m.direction === 'request')!;
      expect(close.closeCode).toBe(4001);
      expect(messages.every((m) => m.compressed === undefined)).toBe(true);
      expect(messages.find((m) => m.data === 'hello')).toMatchObject({ binary: false, size: 5 });
      expect(proxy.events.some((e) => e.type === 'capture-limited')).toBe(false);

      // The proxy forwarded the frames exactly: what the client sent is what the upstream got, and
      // what the upstream wrote once connected (its 101 went before) is what the client got after the proxy's 101.
      const afterHead = (b: Buffer): Buffer => b.subarray(b.indexOf('\r\n\r\n') + 4);
      const sentFrames = afterHead(Buffer.concat(clientSent));
      expect(Buffer.concat(upstream.received).equals(sentFrames)).toBe(true);
      expect(afterHead(Buffer.concat(clientGot)).equals(Buffer.concat(upstream.written))).toBe(true);
    },
  );
});
