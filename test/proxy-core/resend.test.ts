import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

describe('resend: a captured request sent again through the proxy', () => {
  let authority: UpstreamAuthority;
  let proxy: TestProxy;
  let plain: TestServer;
  let secure: TestServer;
  let h2: H2Server;
  const seen: { url: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
    const echo = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`got ${req.method} ${req.url} ${body}`);
      });
    };
    plain = await startServer(echo);
    secure = await startServer(echo, { authority });
    h2 = await startH2Server(
      (stream, headers) => {
        let body = '';
        stream.on('data', (d: Buffer) => (body += d.toString()));
        stream.on('end', () => {
          seen.push({ url: String(headers[':path']), headers, body });
          stream.respond({ ':status': 200 });
          stream.end(`h2 got ${body}`);
        });
      },
      { authority },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([plain.close(), secure.close(), h2.close()]);
    await authority.remove();
  });

  const openedAs = (id: number): ExchangeOpenedEvent =>
    proxy.events.find((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.id === id)!;

  it('sends an HTTP/1.1 request again with its method, fields and body, linked to the first, the marker never forwarded', async () => {
    const first = await fetchViaProxy(proxy.port, `${plain.url}/orders?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace': 'abc' },
      body: '{"n":1}',
    });
    expect(first.status).toBe(200);
    const original = proxy.events.find(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith('/orders?x=1'),
    )!;
    const id = await proxy.proxy.resend({ ...original.request, body: Buffer.from('{"n":2}') }, original.id);
    expect(id).not.toBe(original.id);
    const again = openedAs(id);
    expect(again.resentFrom).toBe(original.id);
    expect(again.request.method).toBe('POST');
    expect(again.request.headers.some(([name]) => name.toLowerCase() === 'x-sluice-resend')).toBe(false);
    await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id && e.outcome === 'completed');
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ url: '/orders?x=1', body: '{"n":2}' });
    expect(last.headers['x-trace']).toBe('abc');
    expect(last.headers['x-sluice-resend']).toBeUndefined();
  });

  it('sends an HTTPS request again through CONNECT and TLS, and an HTTP/2 one over HTTP/2', async () => {
    const https = await proxy.proxy.resend(
      { method: 'GET', url: `${secure.url}/secure`, httpVersion: '1.1', headers: [['accept', 'text/plain']] },
      41,
    );
    expect(openedAs(https)).toMatchObject({ resentFrom: 41, intercepted: true });
    await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === https && e.outcome === 'completed');

    const viaH2 = await proxy.proxy.resend(
      {
        method: 'PUT',
        url: `https://localhost:${h2.port}/h2path`,
        httpVersion: '2',
        headers: [
          [':method', 'PUT'],
          [':path', '/h2path'],
          ['x-kind', 'two'],
        ],
        body: Buffer.from('payload'),
      },
      42,
    );
    const opened = openedAs(viaH2);
    expect(opened).toMatchObject({ resentFrom: 42, request: { httpVersion: '2', method: 'PUT' } });
    await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === viaH2 && e.outcome === 'completed');
    expect(seen.at(-1)).toMatchObject({ url: '/h2path', body: 'payload' });
    expect(seen.at(-1)!.headers['x-kind']).toBe('two');
  });

  it('sends a chunked request again with its body whole, and a marker field in the recording is not trusted', async () => {
    const first = await fetchViaProxy(proxy.port, `${plain.url}/chunked`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked', 'x-sluice-resend': 'stale.1' },
      body: 'part one, part two',
    });
    expect(first.status).toBe(200);
    const original = proxy.events.find(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith('/chunked'),
    )!;
    expect(original.request.headers.some(([name]) => name.toLowerCase() === 'transfer-encoding')).toBe(true);
    const id = await proxy.proxy.resend({ ...original.request, body: Buffer.from('part one, part two') }, original.id);
    expect(openedAs(id).resentFrom).toBe(original.id);
    await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id && e.outcome === 'completed');
    expect(seen.at(-1)).toMatchObject({ url: '/chunked', body: 'part one, part two' });
    expect(seen.at(-1)!.headers['x-sluice-resend']).toBeUndefined();
  });

  it('ignores a marker field without the proxy’s secret: it is an ordinary field then', async () => {
    const res = await fetchViaProxy(proxy.port, `${plain.url}/forged`, { headers: { 'x-sluice-resend': 'guess.1' } });
    expect(res.status).toBe(200);
    const opened = proxy.events.find(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith('/forged'),
    )!;
    expect(opened.resentFrom).toBeUndefined();
    expect(seen.at(-1)!.headers['x-sluice-resend']).toBe('guess.1');
  });

  it('says why when it cannot send', async () => {
    await expect(
      proxy.proxy.resend({ method: 'GET', url: 'ftp://x/', httpVersion: '1.1', headers: [] }, 1),
    ).rejects.toThrow('cannot send a ftp: request again');
  });
});
