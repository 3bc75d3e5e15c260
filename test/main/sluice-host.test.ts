import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import type { CommandName, HostEvent } from '../../app/contract.js';
import { CommandError } from '../../main/host/request-checks.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/servers.js';
import { useCleanup } from '../helpers/cleanup.js';
import { feedUntilQuiet } from '../helpers/host-events.js';

const { defer, freshDir } = useCleanup();

async function makeHost(): Promise<{ host: SluiceHost; events: HostEvent[]; dataDir: string }> {
  const dataDir = await freshDir();
  const host = await SluiceHost.create({ dataDir });
  defer(() => host.close());
  const events: HostEvent[] = [];
  host.subscribe((e) => events.push(e));
  await host.call('proxy.setPort', { port: 0 });
  return { host, events, dataDir };
}

async function upstream(): Promise<TestServer> {
  const server = await startServer((req, res) => res.end(`hello from ${req.url}`));
  defer(() => server.close());
  return server;
}

describe('the host', () => {
  it('starts the proxy, carries its events, and reads captured bodies back', async () => {
    const { host, events } = await makeHost();
    const status = await host.call('proxy.start', {});
    expect(status).toMatchObject({ state: 'running', host: '127.0.0.1', captureEnabled: true });
    expect(status.port).toBeGreaterThan(0);
    const server = await upstream();
    const res = await fetchViaProxy(status.port, `${server.url}/one`);
    expect(res.body.toString()).toBe('hello from /one');

    const opened = events.find((e) => e.type === 'exchange-opened');
    expect(opened?.type === 'exchange-opened' && opened.request.url).toBe(`${server.url}/one`);
    await new Promise((r) => setTimeout(r, 50));
    const body = await host.call('body.read', {
      id: opened!.type === 'exchange-opened' ? opened!.id : -1,
      direction: 'response',
    });
    expect(Buffer.from(body!.base64, 'base64').toString()).toBe('hello from /one');
    expect(events.some((e) => e.type === 'proxy-status' && e.status.state === 'running')).toBe(true);
  });

  it('reads bodies decoded (gzip, br, deflate), slices after decoding, and says what it undid', async () => {
    const { host, events } = await makeHost();
    const { port } = await host.call('proxy.start', {});
    const text = 'streamed and squeezed '.repeat(500);
    const encoders: Record<string, (b: Buffer) => Buffer> = {
      gzip: (b) => zlib.gzipSync(b),
      br: (b) => zlib.brotliCompressSync(b),
      deflate: (b) => zlib.deflateSync(b),
    };
    const server = await startServer((req, res) => {
      const encoding = req.url!.slice(1);
      const body = encoders[encoding]!(Buffer.from(text));
      res.writeHead(200, { 'Content-Encoding': encoding, 'Content-Type': 'text/plain' });
      // Half now and half later: the first read sees a partial stream and must not fail on it.
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => res.end(body.subarray(body.length >> 1)), 30);
    });
    defer(() => server.close());
    for (const encoding of Object.keys(encoders)) {
      const res = await fetchViaProxy(port, `${server.url}/${encoding}`);
      expect(res.complete).toBe(true);
      await new Promise((r) => setTimeout(r, 30));
      const opened = events.findLast((e) => e.type === 'exchange-opened');
      const id = opened?.type === 'exchange-opened' ? opened.id : -1;
      const decoded = await host.call('body.read', { id, direction: 'response', decoded: true, start: 22, end: 44 });
      expect(decoded?.decoded).toEqual({ encoding, decodedSize: text.length });
      expect(Buffer.from(decoded!.base64, 'base64').toString()).toBe(text.slice(22, 44));
      const raw = await host.call('body.read', { id, direction: 'response' });
      expect(raw?.decoded).toBeUndefined();
      expect(Buffer.from(raw!.base64, 'base64').equals(res.body)).toBe(true);
    }
  });

  it('replays what happened before a window opened, and a clear empties it for everyone', async () => {
    const { host } = await makeHost();
    const { port } = await host.call('proxy.start', {});
    const server = await upstream();
    await fetchViaProxy(port, `${server.url}/before`);
    await new Promise((r) => setTimeout(r, 30));
    const batches: { seq: number; types: string[] }[] = [];
    const close = host.openFeed({ send: (b) => batches.push({ seq: b.seq, types: b.events.map((e) => e.type) }) });
    defer(async () => close());
    await new Promise((r) => setTimeout(r, 50));
    expect(batches[0]?.seq).toBe(0);
    expect(batches.flatMap((b) => b.types)).toEqual(['exchange-opened', 'response-head', 'chunk', 'exchange-closed']);
    await host.call('capture.clear', {});
    await new Promise((r) => setTimeout(r, 50));
    expect(batches.flatMap((b) => b.types).at(-1)).toBe('capture-cleared');
    const later: string[] = [];
    const closeLater = host.openFeed({ send: (b) => later.push(...b.events.map((e) => e.type)) });
    defer(async () => closeLater());
    await new Promise((r) => setTimeout(r, 50));
    expect(later).toEqual([]);
  });

  it('replays a finished stream to a window in short, and gives its every event when asked (exchange.events)', async () => {
    const { host, events } = await makeHost();
    const { port } = await host.call('proxy.start', {});
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 20; i++) res.write(`data: event ${i}\n\n`);
      res.end();
    });
    defer(() => server.close());
    await fetchViaProxy(port, `${server.url}/stream`);
    const opened = await vi.waitFor(() => {
      const event = events.find((e) => e.type === 'exchange-opened');
      if (!event || !events.some((e) => e.type === 'exchange-closed')) throw new Error('not closed yet');
      return event;
    });
    // Moved to the store once closed: a window opening now is sent it in short.
    const replay = await vi.waitFor(
      async () => {
        const sent: HostEvent[] = [];
        const close = host.openFeed({ send: (b) => sent.push(...b.events) });
        await new Promise((r) => setTimeout(r, 50));
        close();
        if (!sent.some((e) => e.type === 'exchange-held')) throw new Error('not stored yet');
        return sent;
      },
      { timeout: 5000 },
    );
    expect(replay.filter((e) => e.type === 'sse-event')).toEqual([]);
    expect(replay.find((e) => e.type === 'exchange-held')).toMatchObject({ id: opened.id, held: expect.any(Number) });

    const { events: whole } = await host.call('exchange.events', { id: opened.id });
    const data = whole.flatMap((e) => (e.type === 'sse-event' ? [e.data] : []));
    expect(data).toEqual(Array.from({ length: 20 }, (_, i) => `event ${i}`));
    expect(whole.filter((e) => e.type === 'exchange-held')).toEqual([]);
    expect(await host.call('exchange.events', { id: 9999 })).toEqual({ events: [] });
    await expect(host.call('exchange.events', { id: 'x' as unknown as number })).rejects.toThrow(CommandError);
  });

  it('writes a HAR file the desktop app chose, and only ever a .har file at an absolute path', async () => {
    const { host, dataDir } = await makeHost();
    const { port } = await host.call('proxy.start', {});
    const server = await upstream();
    await fetchViaProxy(port, `${server.url}/saved`);
    await new Promise((r) => setTimeout(r, 30));
    const file = path.join(dataDir, 'export.har');
    expect(await host.call('har.export', { path: file, redact: true })).toEqual({ path: file, entries: 1 });
    const har = JSON.parse(await readFile(file, 'utf8')) as { log: { entries: { request: { url: string } }[] } };
    expect(har.log.entries[0]?.request.url).toBe(`${server.url}/saved`);
    for (const bad of ['relative.har', path.join(dataDir, 'settings.json'), path.join(dataDir, 'x.har.txt')]) {
      await expect(host.call('har.export', { path: bad })).rejects.toThrow(/absolute path to a \.har file/);
    }
    await expect(host.call('har.export', { path: file, ids: ['1'] as unknown as number[] })).rejects.toThrow(/ids/);
  });

  it('moves to another port while running and keeps numbering exchanges', async () => {
    const { host, events } = await makeHost();
    const first = await host.call('proxy.start', {});
    const server = await upstream();
    await fetchViaProxy(first.port, `${server.url}/before`);
    const free = await freePort();
    const moved = await host.call('proxy.setPort', { port: free });
    expect(moved).toMatchObject({ state: 'running', port: free });
    await fetchViaProxy(free, `${server.url}/after`);
    const ids = events
      .filter((e) => e.type === 'exchange-opened')
      .map((e) => (e.type === 'exchange-opened' ? e.id : 0));
    expect(ids).toEqual([1, 2]);
    expect((await host.call('settings.get', {})).proxyPort).toBe(free);
  });

  it('reports a port in use as an error state, and keeps working after', async () => {
    const { host } = await makeHost();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    await host.call('proxy.setPort', { port });
    const failed = await host.call('proxy.start', {});
    expect(failed).toMatchObject({ state: 'error', error: `port ${port} on 127.0.0.1 is in use; choose another port` });
    const recovered = await host.call('proxy.setPort', { port: 0 });
    expect(recovered.state).toBe('stopped');
    expect((await host.call('proxy.start', {})).state).toBe('running');
  });

  it('restarts on the port it had with --port 0, and names that port when it was taken meanwhile', async () => {
    const host = await SluiceHost.create({ dataDir: await freshDir(), overrides: { proxyPort: 0 } });
    defer(() => host.close());
    const first = await host.call('proxy.start', {});
    expect(first.port).toBeGreaterThan(0);
    expect(await host.call('proxy.stop', {})).toMatchObject({ state: 'stopped', port: first.port });
    expect(await host.call('proxy.start', {})).toMatchObject({ state: 'running', port: first.port });
    const server = await upstream();
    expect((await fetchViaProxy(first.port, `${server.url}/again`)).body.toString()).toBe('hello from /again');

    await host.call('proxy.stop', {});
    const squatter = await occupy(first.port);
    const refused = await host.call('proxy.start', {});
    expect(refused).toMatchObject({ state: 'error', port: first.port, errorCode: 'EADDRINUSE' });
    expect(refused.error).toBe(
      `port ${first.port} on 127.0.0.1 (where the proxy was) is in use now; free it or choose another port`,
    );
    await squatter.close();
    expect(await host.call('proxy.start', {})).toMatchObject({ state: 'running', port: first.port });
    // Choosing "any free port" again is the user's own choice: it forgets the old one.
    await host.call('proxy.stop', {});
    expect(await host.call('proxy.setPort', { port: 0 })).toMatchObject({ state: 'stopped', port: 0 });
  });

  it('pauses capture: traffic still flows, bodies are not kept, the choice persists', async () => {
    const { host, dataDir } = await makeHost();
    const status = await host.call('proxy.start', {});
    expect((await host.call('capture.setEnabled', { enabled: false })).captureEnabled).toBe(false);
    const server = await upstream();
    const res = await fetchViaProxy(status.port, `${server.url}/uncaptured`);
    expect(res.body.toString()).toBe('hello from /uncaptured');
    expect(await host.call('body.read', { id: 1, direction: 'response' })).toBeNull();
    await host.close();
    const again = await SluiceHost.create({ dataDir });
    defer(() => again.close());
    expect((await again.call('proxy.status', {})).captureEnabled).toBe(false);
  });

  it('keeps the capture for the next start when asked, with its bodies, and new exchanges go on past its ids', async () => {
    const { host, dataDir } = await makeHost();
    const { port } = await host.call('proxy.start', {});
    expect((await host.call('capture.setKept', { kept: true })).captureKept).toBe(true);
    const server = await upstream();
    await fetchViaProxy(port, `${server.url}/before-restart`);
    await host.close();

    const again = await SluiceHost.create({ dataDir, overrides: { proxyPort: 0 } });
    defer(() => again.close());
    expect((await again.call('proxy.status', {})).captureKept).toBe(true);
    const replayed = await feedUntilQuiet(again);
    const kept = replayed.find((e) => e.type === 'exchange-opened');
    expect(kept?.type === 'exchange-opened' && kept.request.url).toBe(`${server.url}/before-restart`);
    const body = await again.call('body.read', {
      id: kept!.type === 'exchange-opened' ? kept!.id : -1,
      direction: 'response',
    });
    expect(Buffer.from(body!.base64, 'base64').toString()).toBe('hello from /before-restart');

    const events: HostEvent[] = [];
    again.subscribe((e) => events.push(e));
    const status = await again.call('proxy.start', {});
    await fetchViaProxy(status.port, `${server.url}/after-restart`);
    const next = events.find((e) => e.type === 'exchange-opened');
    expect(next?.type === 'exchange-opened' && kept?.type === 'exchange-opened' && next.id > kept.id).toBe(true);

    // Not kept any more: the next start begins empty.
    await again.call('capture.setKept', { kept: false });
    await again.close();
    const third = await SluiceHost.create({ dataDir, overrides: { proxyPort: 0 } });
    defer(() => third.close());
    expect((await feedUntilQuiet(third)).filter((e) => e.type === 'exchange-opened')).toEqual([]);
  });

  it('gives the CA with trust instructions for each OS and for Firefox', async () => {
    const { host, dataDir } = await makeHost();
    const ca = await host.call('ca.get', {});
    expect(ca.path).toBe(`${dataDir}/ca.pem`);
    expect(ca.certPem).toContain('BEGIN CERTIFICATE');
    expect(ca.trust.map((t) => t.platform)).toEqual(['darwin', 'win32', 'linux', 'firefox']);
    expect(ca.trust.every((t) => t.steps.length > 0)).toBe(true);
  });

  it('refuses unknown commands and bad requests with a clear error', async () => {
    const { host } = await makeHost();
    await expect(host.call('proxy.explode' as CommandName, {} as never)).rejects.toThrow(CommandError);
    await expect(host.call('proxy.setPort', { port: 99999 })).rejects.toThrow(/port must be a whole number/);
    await expect(host.call('capture.setEnabled', { enabled: 'yes' as unknown as boolean })).rejects.toThrow(
      /true or false/,
    );
    await expect(host.call('capture.setKept', { kept: 1 as unknown as boolean })).rejects.toThrow(/true or false/);
    await expect(host.call('body.read', { id: 1, direction: 'sideways' as 'request' })).rejects.toThrow(/direction/);
    await expect(
      host.call('body.read', { id: 1, direction: 'request', start: '5' as unknown as number }),
    ).rejects.toThrow(/start must be a whole number/);
  });
});

/** A plain listener on `port`, as another program that took it while the proxy was stopped. */
async function occupy(port: number): Promise<{ close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await new Promise((resolve) => server.close(resolve));
  };
  defer(close);
  return { close };
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}
