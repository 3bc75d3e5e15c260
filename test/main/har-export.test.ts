import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import type { Har, HarEntry } from '../../main/har/har-types.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { connectThroughProxy, fetchViaProxy } from '../helpers/client.js';
import { useCleanup } from '../helpers/cleanup.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';
import { makeUpstreamAuthority, startServer, type TestServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();
const validate = harValidator();
const CAP = 4096;
const BINARY = randomBytes(1000);
const JSON_BODY = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) });

async function makeHost(upstreamCaPems: string[] = []): Promise<{ host: SluiceHost; port: number; caPem: string }> {
  const host = await SluiceHost.create({
    dataDir: await freshDir(),
    upstreamCaPems,
    capture: { maxBytesPerBody: CAP },
  });
  defer(() => host.close());
  await host.call('proxy.setPort', { port: 0 });
  const { port } = await host.call('proxy.start', {});
  return { host, port, caPem: (await host.call('ca.get', {})).certPem };
}

/** Routes for every kind of body the export must handle. */
function upstreamHandler(held: { release?: () => void }) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    const path = req.url ?? '/';
    if (path === '/sse') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('event: delta\nid: 1\ndata: hel\n\n');
      setTimeout(() => res.write('data: lo\n\n'), 20);
      setTimeout(() => res.end('data: [DONE]\n\n'), 40);
    } else if (path === '/gzip') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(zlib.gzipSync(JSON_BODY));
    } else if (path === '/binary') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(BINARY);
    } else if (path === '/big') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('x'.repeat(CAP * 5));
    } else if (path === '/open') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: first\n\n');
      held.release = () => res.end();
    } else if (path === '/upload') {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => res.end(`got ${Buffer.concat(parts).length}`));
    } else {
      res.statusCode = 404;
      res.end();
    }
  };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function entryFor(har: Har, path: string): HarEntry {
  const entry = har.log.entries.find((e) => new URL(e.request.url).pathname === path);
  if (!entry) throw new Error(`no entry for ${path}`);
  return entry;
}

describe('the HAR creator', () => {
  it("is Sluice at the version `sluice --version` prints, when the export names none (the UI's export)", async () => {
    const { host } = await makeHost();
    const file = join(await freshDir(), 'empty.har');
    await host.writeHarFile(file);
    const har = JSON.parse(await readFile(file, 'utf8')) as Har;
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(har.log.creator).toEqual({ name: 'Sluice', version: pkg.version });
  });
});

describe('HAR export from a running host', () => {
  it('writes real traffic as a HAR the published schema accepts, with bodies, timings and stream detail', async () => {
    const authority = await makeUpstreamAuthority();
    defer(() => authority.remove());
    const { host, port, caPem } = await makeHost([authority.ca.certPem]);
    const held: { release?: () => void } = {};
    const handler = upstreamHandler(held);
    const plain: TestServer = await startServer(handler);
    const secure: TestServer = await startServer(handler, { authority });
    defer(() => plain.close());
    defer(() => secure.close());
    defer(async () => held.release?.());

    expect((await fetchViaProxy(port, `${plain.url}/sse`)).complete).toBe(true);
    expect((await fetchViaProxy(port, `${secure.url}/gzip`, { caPem })).complete).toBe(true);
    expect((await fetchViaProxy(port, `${plain.url}/binary`)).body.equals(BINARY)).toBe(true);
    expect((await fetchViaProxy(port, `${plain.url}/big`)).body.length).toBe(CAP * 5);
    const upload = Buffer.from('p'.repeat(3000));
    const uploaded = await fetchViaProxy(port, `${plain.url}/upload`, {
      method: 'POST',
      body: upload,
      headers: { 'content-type': 'text/plain', authorization: 'Bearer sk-live', cookie: 'session=s3cret' },
    });
    expect(uploaded.body.toString()).toBe('got 3000');
    // A stream still open at export: its first event has arrived, the rest never will before it.
    let firstEvent = false;
    const abort = new AbortController();
    const open = fetchViaProxy(port, `${plain.url}/open`, { signal: abort.signal, onChunk: () => (firstEvent = true) });
    defer(async () => {
      abort.abort();
      await open;
    });
    await until(() => firstEvent);
    await new Promise((r) => setTimeout(r, 50));

    const file = join(await freshDir(), 'capture.har');
    const result = await host.writeHarFile(file, { creator: { name: 'Sluice', version: 'test' } });
    expect(result).toEqual({ entries: 6, incomplete: 1 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const har = JSON.parse(await readFile(file, 'utf8')) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    expect(har.log.creator).toEqual({ name: 'Sluice', version: 'test' });

    const sse = entryFor(har, '/sse');
    expect(sse._eventSourceMessages?.map((m) => [m.eventName, m.eventId, m.data])).toEqual([
      ['delta', '1', 'hel'],
      ['message', '', 'lo'],
      ['message', '', '[DONE]'],
    ]);
    const started = Date.parse(sse.startedDateTime) / 1000;
    for (const message of sse._eventSourceMessages!) expect(message.time).toBeGreaterThanOrEqual(started);
    expect(sse._chunks.filter((c) => c.direction === 'response').length).toBeGreaterThanOrEqual(3);
    expect(sse.timings.receive).toBeGreaterThanOrEqual(30);
    expect(sse.time).toBeGreaterThanOrEqual(sse.timings.receive);

    const gzip = entryFor(har, '/gzip');
    expect(gzip.response.content.text).toBe(JSON_BODY);
    expect(gzip.response.content.size).toBe(JSON_BODY.length);
    expect(gzip.response.bodySize).toBe(zlib.gzipSync(JSON_BODY).length);
    expect(gzip.response.content.compression).toBe(JSON_BODY.length - gzip.response.bodySize);
    // A new TLS connection upstream: its handshake was measured, and counts inside connect.
    expect(gzip.timings.ssl).toBeGreaterThan(0);
    expect(gzip.timings.connect).toBeGreaterThanOrEqual(gzip.timings.ssl);

    const binary = entryFor(har, '/binary');
    expect(binary.response.content.encoding).toBe('base64');
    expect(Buffer.from(binary.response.content.text!, 'base64').equals(BINARY)).toBe(true);

    const big = entryFor(har, '/big');
    expect(big.response.bodySize).toBe(CAP * 5);
    expect(big.response.content).toMatchObject({ _truncated: true, _truncatedReason: 'body-cap', _capturedBytes: CAP });
    expect(big.response.content.text).toBe('x'.repeat(CAP));

    const post = entryFor(har, '/upload');
    expect(post.request.method).toBe('POST');
    expect(post.request.postData).toMatchObject({ mimeType: 'text/plain', text: upload.toString() });
    expect(post.request.bodySize).toBe(3000);
    expect(JSON.stringify(post)).toContain('sk-live');

    const stillOpen = entryFor(har, '/open');
    expect(stillOpen._incomplete).toBe(true);
    expect(stillOpen.response.status).toBe(200);
    expect(stillOpen.response.content.text).toBe('data: first\n\n');
    expect(stillOpen._eventSourceMessages?.map((m) => m.data)).toEqual(['first']);

    for (const entry of har.log.entries) {
      const { blocked, dns, connect, send, wait, receive } = entry.timings;
      const sum = [blocked, dns, connect, send, wait, receive].reduce((a, b) => a + Math.max(b, 0), 0);
      expect(entry.time).toBeCloseTo(sum, 2);
    }
  });

  it('writes HTTP/2 streams as HTTP/2 with their connection and stream ids, and an import reads them back', async () => {
    const upstreamCa = await makeUpstreamAuthority();
    defer(() => upstreamCa.remove());
    const { host, port, caPem } = await makeHost([upstreamCa.ca.certPem]);
    // An HTTP/2 upstream over TLS, and a client that CONNECTs and speaks HTTP/2 (ALPN h2) to the
    // intercepting proxy: two streams on one connection; then HTTP/1.1 on a connection of its own.
    const upstream = http2.createSecureServer(upstreamCa.issue('localhost'));
    const upstreamSessions = new Set<http2.ServerHttp2Session>();
    upstream.on('session', (session) => upstreamSessions.add(session));
    upstream.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end(`h2 ${String(headers[':path'])}`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const session of upstreamSessions) session.destroy();
          upstream.close(() => resolve());
        }),
    );
    const origin = `https://localhost:${(upstream.address() as AddressInfo).port}`;
    // An http: URL for the same host and port: the CONNECT only, TLS is ours to start.
    const tunnel = await connectThroughProxy(port, new URL(origin.replace('https:', 'http:')));
    const secure = tls.connect({ socket: tunnel, servername: 'localhost', ca: caPem, ALPNProtocols: ['h2'] });
    await once(secure, 'secureConnect');
    expect(secure.alpnProtocol).toBe('h2');
    const client = http2.connect(origin, { createConnection: () => secure });
    defer(async () => {
      client.destroy();
    });
    const get = (path: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const stream = client.request({ ':path': path });
        const parts: Buffer[] = [];
        stream.on('data', (part: Buffer) => parts.push(part));
        stream.on('end', () => resolve(Buffer.concat(parts).toString()));
        stream.on('error', reject);
      });
    expect(await Promise.all([get('/first'), get('/second')])).toEqual(['h2 /first', 'h2 /second']);
    const plain = await startServer((_req, res) => res.end('h1'));
    defer(() => plain.close());
    expect((await fetchViaProxy(port, `${plain.url}/old`)).body.toString()).toBe('h1');
    await new Promise((r) => setTimeout(r, 50));

    const file = join(await freshDir(), 'h2.har');
    expect((await host.writeHarFile(file)).entries).toBe(3);
    const har = JSON.parse(await readFile(file, 'utf8')) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    const [first, second, old] = [entryFor(har, '/first'), entryFor(har, '/second'), entryFor(har, '/old')];
    for (const entry of [first, second]) {
      expect([entry.request.httpVersion, entry.response.httpVersion]).toEqual(['HTTP/2', 'HTTP/2']);
      expect(entry.connection).toMatch(/^\d+$/);
    }
    expect(second.connection).toBe(first.connection);
    // Client streams are odd and rise: 1 and 3 on a fresh connection, whichever the proxy saw first.
    expect([first._streamId, second._streamId].sort()).toEqual([1, 3]);
    expect(old.request.httpVersion).toBe('HTTP/1.1');
    expect(old.connection).toMatch(/^\d+$/);
    expect(old.connection).not.toBe(first.connection);
    expect('_streamId' in old).toBe(false);

    const target = await SluiceHost.create({ dataDir: await freshDir() });
    defer(() => target.close());
    const opened: ExchangeOpenedEvent[] = [];
    target.subscribe((event) => {
      if (event.type === 'exchange-opened') opened.push(event);
    });
    await target.call('har.import', { path: file });
    const back = (path: string) => {
      const found = opened.find((e) => new URL(e.request.url).pathname === path)!;
      return [found.request.httpVersion, found.connectionId, found.streamId];
    };
    expect(back('/first')).toEqual(['2', Number(first.connection), first._streamId]);
    expect(back('/second')).toEqual(['2', Number(second.connection), second._streamId]);
    expect(back('/old')).toEqual(['1.1', Number(old.connection), undefined]);
  });

  it('redacts when asked, and exports only the selected exchanges', async () => {
    const { host, port } = await makeHost();
    const server = await startServer((_req, res) => res.end('ok'));
    defer(() => server.close());
    const headers = { authorization: 'Bearer sk-live', 'x-api-key': 'k-123', cookie: 'a=b' };
    await fetchViaProxy(port, `${server.url}/one`, { headers });
    await fetchViaProxy(port, `${server.url}/two`, { headers });

    const dir = await freshDir();
    const file = join(dir, 'redacted.har');
    const result = await host.writeHarFile(file, { redactHeaders: ['X-Api-Key'], ids: new Set([2]) });
    expect(result.entries).toBe(1);
    const text = await readFile(file, 'utf8');
    const har = JSON.parse(text) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    expect(har.log.entries.map((e) => new URL(e.request.url).pathname)).toEqual(['/two']);
    for (const secret of ['sk-live', 'k-123', 'a=b']) expect(text).not.toContain(secret);
    expect(har.log.comment).toContain('authorization');
  });

  it('streams: waits for a slow destination instead of buffering the export', async () => {
    const { host, port } = await makeHost();
    const server = await startServer((req, res) => res.end('y'.repeat(2000)));
    defer(() => server.close());
    for (let i = 0; i < 30; i++) await fetchViaProxy(port, `${server.url}/${i}`);

    let written = '';
    let mostPending = 0;
    let pending = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        pending += chunk.length;
        mostPending = Math.max(mostPending, pending);
        setTimeout(() => {
          pending -= chunk.length;
          written += chunk.toString();
          callback();
        }, 1);
      },
    });
    const result = await host.writeHar(slow);
    await new Promise<void>((resolve) => slow.end(resolve));
    expect(result.entries).toBe(30);
    expect(validate(JSON.parse(written)), harErrors(validate)).toBe(true);
    // Never more than one entry (about 2 kB of body plus headers and timings) waiting at once.
    expect(mostPending).toBeLessThan(8 * 1024);
  });

  it('fails, leaving no file, when the destination cannot be written', async () => {
    const { host } = await makeHost();
    const missing = join(await freshDir(), 'no-such-folder', 'x.har');
    await expect(host.writeHarFile(missing)).rejects.toThrow(/ENOENT/);
    const broken = new Writable({ write: (_c, _e, callback) => callback(new Error('disk full')) });
    await expect(host.writeHar(broken)).rejects.toThrow('disk full');
  });
});
