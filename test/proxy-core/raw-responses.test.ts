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
