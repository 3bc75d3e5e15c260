import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRawServer, type RawServer } from '../helpers/raw-server.js';
import type { H1Request } from '../../proxy-core/forward/h1-request.js';
import { UpstreamPool } from '../../proxy-core/forward/upstream.js';

/** Everything an upstream connection received, as it arrived; the handler answers when it likes. */
interface Recorder extends RawServer {
  readonly received: string[];
}

async function recordingServer(onBytes: (socket: net.Socket, all: string) => void): Promise<Recorder> {
  const received: string[] = [];
  const server = await startRawServer((socket) => {
    const index = received.push('') - 1;
    socket.on('data', (d: Buffer) => {
      received[index] += d.toString('latin1');
      onBytes(socket, received[index]!);
    });
  });
  return { ...server, received };
}

/** Resolves with what `socket` has received once `done` says it is enough (or after 3 s). */
function readUntil(socket: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (done(text)) finish();
    };
    const timer = setTimeout(finish, 3000);
    socket.on('data', onData);
  });
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("HTTP/1.1 requests as Sluice's own client sends them upstream", () => {
  const undo: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (undo.length > 0) await undo.pop()!();
  });

  async function setup(
    onBytes: (socket: net.Socket, all: string) => void,
  ): Promise<{ proxy: TestProxy; up: Recorder }> {
    const up = await recordingServer(onBytes);
    undo.push(up.close);
    const proxy = await startProxy();
    undo.push(proxy.close);
    return { proxy, up };
  }

  function clientSocket(proxy: TestProxy): net.Socket {
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    undo.push(() => void socket.destroy());
    return socket;
  }

  it('sends the head as the client wrote it, hop-by-hop fields taken off and nothing added', async () => {
    const { proxy, up } = await setup((socket, all) => {
      if (all.endsWith('\r\n\r\n')) socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const client = clientSocket(proxy);
    client.write(
      `POST http://127.0.0.1:${up.port}/form?q=1 HTTP/1.1\r\n` +
        `X-First: a\r\nHost: 127.0.0.1:${up.port}\r\ncontent-TYPE: text/plain\r\n` +
        `Proxy-Connection: keep-alive\r\nX-Last:  z\r\n\r\n`,
    );
    expect(await readUntil(client, (t) => t.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 204 /);
    // No Connection, no Content-Length for the bodiless POST, the fields' order and case kept.
    expect(up.received).toEqual([
      `POST /form?q=1 HTTP/1.1\r\nX-First: a\r\nHost: 127.0.0.1:${up.port}\r\ncontent-TYPE: text/plain\r\nX-Last: z\r\n\r\n`,
    ]);
  });

  it('forwards a chunked upload chunk by chunk, each before the client sends the next', async () => {
    const { proxy, up } = await setup((socket, all) => {
      if (all.endsWith('0\r\n\r\n')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const client = clientSocket(proxy);
    client.write(
      `PUT http://127.0.0.1:${up.port}/upload HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n`,
    );
    await until(() => (up.received[0] ?? '').includes('first'));
    expect(up.received[0]).toMatch(/\r\n\r\n5\r\nfirst\r\n$/);
    client.write('6\r\nsecond\r\n');
    await until(() => (up.received[0] ?? '').includes('second'));
    expect(up.received[0]).toMatch(/5\r\nfirst\r\n6\r\nsecond\r\n$/);
    client.write('0\r\n\r\n');
    expect(await readUntil(client, (t) => t.endsWith('ok'))).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
  });

  it('a response that came before the upload was whole reaches the client, and that connection is not reused', async () => {
    const { proxy, up } = await setup((socket, all) => {
      if (all.startsWith('POST') && all.includes('\r\n\r\n') && !socket.destroyed && !all.includes('answered')) {
        // Answers at once, refusing the body (as a server that rejects an upload early does).
        socket.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n\r\ntoo big!');
      } else if (all.startsWith('GET') && all.endsWith('\r\n\r\n')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
    const client = clientSocket(proxy);
    client.write(
      `POST http://127.0.0.1:${up.port}/big HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\nContent-Length: 100\r\n\r\npart`,
    );
    expect(await readUntil(client, (t) => t.endsWith('too big!'))).toMatch(/^HTTP\/1\.1 413 /);
    client.write('x'.repeat(96));
    const next = await fetchViaProxy(proxy.port, `${up.url}/next`);
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('ok');
    // The upload's connection could not be trusted with the next request: a second one was made.
    expect(up.connections()).toBe(2);
    await expect
      .poll(() => proxy.events.filter((e): e is ExchangeClosedEvent => e.type === 'exchange-closed').length)
      .toBe(2);
  });

  it('a server that answered an upload early and then reset: the exchange is not told of the failed upload', async () => {
    const sockets: net.Socket[] = [];
    const up = await recordingServer((socket, all) => {
      if (sockets.includes(socket) || !all.includes('\r\n\r\n')) return;
      sockets.push(socket);
      socket.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!');
    });
    undo.push(up.close);
    const pool = new UpstreamPool({ extraCaPems: [], insecure: false });
    undo.push(() => pool.destroy());
    const errors: string[] = [];
    const body: Buffer[] = [];
    let complete!: () => void;
    const answered = new Promise<void>((resolve) => (complete = resolve));
    const request = pool.sendHttp1(
      { scheme: 'http', host: '127.0.0.1', port: up.port },
      { method: 'POST', path: '/upload', headers: ['Host', `127.0.0.1:${up.port}`, 'Content-Length', '10000000'] },
      {
        onRawHead: (_head, response) => {
          response.on('data', (piece: Buffer) => body.push(Buffer.from(piece)));
          response.on('end', complete);
        },
        onRawFailed: (message) => errors.push(message),
        onRequestSent: () => undefined,
        onUpstreamError: (err) => errors.push(err.message),
      },
    );
    request.write(Buffer.alloc(64 * 1024, 1), () => undefined);
    await answered;
    expect(Buffer.concat(body).toString()).toBe('too big!');
    sockets[0]!.resetAndDestroy();
    // The upload goes on into a connection the server reset, and fails.
    for (let i = 0; i < 50 && !request.over; i++) {
      request.write(Buffer.alloc(64 * 1024, 1), () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(request.over).toBe(true);
    expect(errors).toEqual([]);
  });

  it('passes 103 Early Hints on to the client before the final response', async () => {
    const { proxy, up } = await setup((socket, all) => {
      if (!all.endsWith('\r\n\r\n')) return;
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n');
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage'), 50);
    });
    const hints: string[] = [];
    const response = await fetchViaProxy(proxy.port, `${up.url}/page`, {
      onInformation: (status) => hints.push(String(status)),
    });
    expect(hints).toEqual(['103']);
    expect(response.body.toString()).toBe('page');
    const client = clientSocket(proxy);
    client.write(`GET ${up.url}/page HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\n\r\n`);
    const text = await readUntil(client, (t) => t.endsWith('page'));
    expect(text).toMatch(
      /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/style\.css>; rel=preload; as=style\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
    );
  });

  it('leaves nothing of a finished request on the kept-alive connection it goes back to', async () => {
    const up = await recordingServer((socket, all) => {
      const answered = (socket as net.Socket & { answered?: number }).answered ?? 0;
      const requests = all.split('\r\n\r\nbody').length - 1;
      for (let i = answered; i < requests; i++) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      (socket as net.Socket & { answered?: number }).answered = requests;
    });
    undo.push(up.close);
    const pool = new UpstreamPool({ extraCaPems: [], insecure: false });
    undo.push(() => pool.destroy());
    const target = { scheme: 'http' as const, host: '127.0.0.1', port: up.port };
    const listeners = (socket: Duplex): number[] =>
      ['drain', 'error', 'close', 'end', 'data', 'lookup', 'connect'].map((name) => socket.listenerCount(name));
    const sendOne = (): Promise<H1Request> =>
      new Promise((resolve, reject) => {
        const request: H1Request = pool.sendHttp1(
          target,
          { method: 'POST', path: '/', headers: ['Host', `127.0.0.1:${up.port}`, 'Content-Length', '4'] },
          {
            onRawHead: (_head, body) => {
              body.on('data', () => undefined);
              body.on('end', () => setImmediate(() => resolve(request)));
            },
            onRawFailed: (message) => reject(new Error(message)),
            onRequestSent: () => undefined,
            onUpstreamError: reject,
          },
        );
        // As the request body's pump does, which is not stopped when its exchange completes.
        request.on('drain', () => undefined);
        request.write(Buffer.from('body'), () => undefined);
        request.end();
      });
    const first = await sendOne();
    const after1 = listeners(first.connection.socket);
    let last = first;
    for (let i = 0; i < 30; i++) last = await sendOne();
    expect(last.connection).toBe(first.connection);
    expect(last.connection.served).toBe(31);
    expect(listeners(last.connection.socket)).toEqual(after1);
    expect(up.connections()).toBe(1);
  });

  it('keeps one connection for requests one after another, and a HEAD among them reads no body', async () => {
    const { proxy, up } = await setup((socket, all) => {
      const requests = all.split('\r\n\r\n').length - 1;
      const answered = Number((socket as net.Socket & { answered?: number }).answered ?? 0);
      for (let i = answered; i < requests; i++) {
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n' +
            (all.split('\r\n\r\n')[i]!.startsWith('HEAD') ? '' : 'hello'),
        );
      }
      (socket as net.Socket & { answered?: number }).answered = requests;
    });
    for (const method of ['GET', 'HEAD', 'GET']) {
      const response = await fetchViaProxy(proxy.port, `${up.url}/${method}`, { method });
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe(method === 'HEAD' ? '' : 'hello');
    }
    expect(up.connections()).toBe(1);
  });
});
