import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRawServer, type RawServer } from '../helpers/raw-server.js';

/**
 * An upstream that answers each request on a connection with the next of `answers`, written as
 * raw bytes in the given pieces, so framing the proxy reads itself is exercised exactly.
 */
async function rawUpstream(answers: (string | Buffer)[][]): Promise<RawServer & { requests: string[] }> {
  let next = 0;
  const requests: string[] = [];
  const server = await startRawServer((socket) => {
    let pending = '';
    socket.on('data', async (d: Buffer) => {
      pending += d.toString('latin1');
      while (pending.includes('\r\n\r\n')) {
        const end = pending.indexOf('\r\n\r\n') + 4;
        requests.push(pending.slice(0, end));
        pending = pending.slice(end);
        const pieces = answers[next++] ?? [];
        for (const piece of pieces) {
          if (piece === 'CLOSE') {
            socket.end();
            return;
          }
          socket.write(piece);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
  });
  return { ...server, requests };
}

/** A client that writes requests by hand on one connection and reads the proxy's bytes as they come. */
async function rawClient(
  port: number,
): Promise<{ send(request: string, until: string): Promise<string>; close(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  return {
    async send(request, until) {
      received = '';
      socket.write(request);
      for (let i = 0; i < 200 && !received.endsWith(until); i++) await new Promise((r) => setTimeout(r, 10));
      return received;
    },
    close: () => socket.destroy(),
  };
}

const closedEvent = (events: ProxyEvent[]): ExchangeClosedEvent[] =>
  events.filter((e): e is ExchangeClosedEvent => e.type === 'exchange-closed');

describe('HTTP/1.1 responses read raw off the upstream socket', () => {
  let proxy: TestProxy | undefined;
  const upstreams: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    for (const u of upstreams.splice(0)) await u.close();
  });

  it('forwards a chunked body with its trailers, the chunks split across reads as they came', async () => {
    const upstream = await rawUpstream([
      [
        'HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nda',
        'ta\r\n6;note=x\r\n-more-\r\n',
        '0\r\nX-Checksum: 1234\r\n\r\n',
      ],
    ]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const res = await fetchViaProxy(proxy.port, `${upstream.url}/t`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('data-more-');
    expect(res.complete).toBe(true);
    expect(res.rawTrailers).toEqual(['X-Checksum', '1234']);
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed');
    expect(closed).toMatchObject({ outcome: 'completed', responseBytes: 10 });
  });

  it('passes a chunked body on in the upstream’s own framing, and the client’s connection carries the next request', async () => {
    const wireBody = [
      '00004\r\nda',
      'ta\r\n6;note=x\r\n-more-\r\nA\r\n',
      'tenletters\r\n0\r\nX-Checksum: 1234\r\n\r\n',
    ];
    const upstream = await rawUpstream([
      [
        'HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n' + wireBody[0],
        ...wireBody.slice(1),
      ],
      ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + wireBody[0], ...wireBody.slice(1)],
    ]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const client = await rawClient(proxy.port);
    const host = upstream.url.slice('http://'.length);
    try {
      const first = await client.send(`GET ${upstream.url}/f HTTP/1.1\r\nHost: ${host}\r\n\r\n`, '1234\r\n\r\n');
      const [head, ...rest] = first.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/);
      // The sizes as the upstream wrote them (leading zeros, an extension, upper-case hex), its
      // chunks uncut where its reads were, and its trailer: nothing re-framed.
      expect(rest.join('\r\n\r\n')).toBe(wireBody.join(''));
      const second = await client.send(`GET ${upstream.url}/n HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'next');
      expect(second).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nnext$/);
    } finally {
      client.close();
    }
    // An HTTP/1.0 client knows no chunks: it gets the body alone, ended by the close.
    const old = await rawClient(proxy.port);
    try {
      const answer = await old.send(`GET ${upstream.url}/o HTTP/1.0\r\n\r\n`, '\r\n\r\ndata-more-tenletters');
      expect(answer).not.toMatch(/Transfer-Encoding/i);
      expect(answer.endsWith('\r\n\r\ndata-more-tenletters')).toBe(true);
    } finally {
      old.close();
    }
    for (let i = 0; i < 100 && closedEvent(proxy.events).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const closed = closedEvent(proxy.events);
    expect(closed.map((e) => [e.outcome, e.responseBytes])).toEqual([
      ['completed', 20],
      ['completed', 4],
      ['completed', 20],
    ]);
    // What is recorded is the body itself, a chunk for each piece of it as read.
    const id = closed[0]!.id;
    expect((await proxy.proxy.readBody(id, 'response'))?.bytes.toString()).toBe('data-more-tenletters');
    const chunks = proxy.events.filter((e) => e.type === 'chunk' && e.id === id);
    expect(chunks.map((c) => (c.type === 'chunk' ? [c.offset, c.size] : []))).toEqual([
      [0, 2],
      [2, 2],
      [4, 6],
      [10, 10],
    ]);
  });

  it('keeps the upstream connection alive across responses, a HEAD with a length among them', async () => {
    const upstream = await rawUpstream([
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '6\r\nthird!\r\n0\r\n\r\n'],
      ['HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfifth'],
    ]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const bodies: string[] = [];
    for (const method of ['GET', 'HEAD', 'GET', 'GET', 'GET']) {
      const res = await fetchViaProxy(proxy.port, `${upstream.url}/k`, { method });
      expect(res.complete).toBe(true);
      bodies.push(`${res.status} ${res.body.toString()}`);
    }
    expect(bodies).toEqual(['200 first', '200 ', '200 third!', '304 ', '200 fifth']);
    expect(upstream.connections()).toBe(1);
    expect(closedEvent(proxy.events).map((e) => e.outcome)).toEqual(Array(5).fill('completed'));
  });

  it('reads a body the connection close delimits to its end, and does not reuse that connection', async () => {
    const upstream = await rawUpstream([
      ['HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'until ', 'the close', 'CLOSE'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const first = await fetchViaProxy(proxy.port, `${upstream.url}/c`);
    expect(first.body.toString()).toBe('until the close');
    const second = await fetchViaProxy(proxy.port, `${upstream.url}/c`);
    expect(second.body.toString()).toBe('ok');
    expect(upstream.connections()).toBe(2);
    expect(closedEvent(proxy.events).map((e) => e.outcome)).toEqual(['completed', 'completed']);
  });

  it('answers 502 with the reason when the upstream does not speak HTTP', async () => {
    const upstream = await rawUpstream([['SSH-2.0-OpenSSH_9.2\r\n\r\n']]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const res = await fetchViaProxy(proxy.port, `${upstream.url}/x`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toMatch(/not an HTTP\/1\.x status line/);
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed');
    expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'invalid-response' });
  });

  it('passes on and records a chunked body up to where its framing breaks, then cuts the client', async () => {
    const upstream = await rawUpstream([
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfirs\r\n', '3\r\nabc\r\nzz\r\nmore'],
    ]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const client = await rawClient(proxy.port);
    let received = '';
    try {
      const host = upstream.url.slice('http://'.length);
      received = await client.send(`GET ${upstream.url}/b HTTP/1.1\r\nHost: ${host}\r\n\r\n`, '3\r\nabc\r\n');
    } finally {
      client.close();
    }
    expect(received.split('\r\n\r\n').slice(1).join('\r\n\r\n')).toBe('4\r\nfirs\r\n3\r\nabc\r\n');
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed');
    expect(closed).toMatchObject({ outcome: 'upstream-reset', responseBytes: 7 });
    expect(closed.type === 'exchange-closed' && closed.detail).toMatch(/not a chunk size/);
    // The copy has what the client got, the bytes written as the framing broke included.
    expect((await proxy.proxy.readBody(closed.id, 'response'))?.bytes.toString()).toBe('firsabc');
  });

  it('says the upstream cut a body short, and the client sees it incomplete', async () => {
    const upstream = await rawUpstream([['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b', 'CLOSE']]);
    upstreams.push(upstream);
    proxy = await startProxy();
    const res = await fetchViaProxy(proxy.port, `${upstream.url}/cut`);
    expect(res.complete).toBe(false);
    expect(res.body.toString()).toBe('only ten b');
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed');
    expect(closed).toMatchObject({ outcome: 'upstream-reset', responseBytes: 10 });
  });
});
