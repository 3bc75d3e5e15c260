import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import type { CommandName, HostEvent, HostMessage, ProxyStatus } from '../../app/contract.js';
import { HeadlessServer } from '../../main/headless/headless-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();

async function makeHost(): Promise<SluiceHost> {
  const host = await SluiceHost.create({ dataDir: await freshDir() });
  defer(() => host.close());
  await host.call('proxy.setPort', { port: 0 });
  return host;
}

/** A host served headless; `rendererDir` is an empty folder unless `files` are given. */
async function serve(
  files: Record<string, string> = {},
): Promise<{ ui: HeadlessServer; host: SluiceHost; dir: string }> {
  const host = await makeHost();
  const dir = await freshDir();
  const rendererDir = path.join(dir, 'renderer');
  await mkdir(rendererDir);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(rendererDir, name), content);
  const ui = await HeadlessServer.start(host, { rendererDir });
  defer(() => ui.close());
  return { ui, host, dir };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET sent as written: node's http does not normalise `..` in the path, as fetch would. */
function get(port: number, target: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function cookieOf(answer: Answer): string {
  const cookie = answer.headers['set-cookie']?.[0];
  expect(cookie).toMatch(/HttpOnly/);
  return cookie!.split(';')[0]!;
}

/** The status a refused WebSocket upgrade got, or 0 if it failed some other way. */
function upgradeStatus(url: string, options: ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('error', () => resolve(0));
    ws.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
  });
}

/** One browser tab: a WebSocket that keeps what it is sent. */
class Tab {
  readonly received: HostMessage[] = [];
  closed = false;
  closeCode = 0;
  private nextId = 1;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.received.push(JSON.parse(data.toString()) as HostMessage);
      for (const wake of this.waiters) wake();
    });
    ws.on('close', (code: number) => {
      this.closed = true;
      this.closeCode = code;
      for (const wake of this.waiters) wake();
    });
  }

  static async open(ui: HeadlessServer, options: ClientOptions = {}): Promise<Tab> {
    const ws = new WebSocket(`ws://127.0.0.1:${ui.port}/ws?token=${ui.token}`, options);
    // Listening before 'open': the feed's first batch can arrive in the same read as the handshake.
    const tab = new Tab(ws);
    defer(async () => tab.ws.terminate());
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return tab;
  }

  get events(): HostEvent[] {
    return this.received.flatMap((m) => (m.kind === 'batch' ? m.batch.events : []));
  }

  /** Resolves with the first thing `pick` returns for what has arrived; fails after `ms`. */
  waitFor<T>(pick: () => T | undefined, ms = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = pick();
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error('timed out waiting on the WebSocket'));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  answerTo(id: number): Promise<HostMessage> {
    return this.waitFor(() => this.received.find((m) => m.kind !== 'batch' && m.id === id));
  }

  call(command: string, request: unknown): Promise<HostMessage> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ kind: 'call', id, command, request }));
    return this.answerTo(id);
  }

  closedEvent(id: number): Promise<HostEvent> {
    return this.waitFor(() => this.events.find((e) => e.type === 'exchange-closed' && e.id === id));
  }
}

function replyOf<C extends CommandName>(_command: C, message: HostMessage): unknown {
  expect(message.kind).toBe('reply');
  return message.kind === 'reply' ? message.reply : undefined;
}

async function upstream(): Promise<string> {
  const server = await startServer((req, res) => res.end(`streamed to ${req.url}`));
  defer(() => server.close());
  return server.url;
}

describe('the headless server', () => {
  it('serves nothing without the token, and an honest page while the UI is not built', async () => {
    const { ui } = await serve();
    expect(ui.url).toBe(`http://127.0.0.1:${ui.port}/?token=${ui.token}`);
    expect(ui.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const bare = await get(ui.port, '/');
    expect(bare.status).toBe(401);
    expect(bare.body).toMatch(/token/);
    expect(bare.headers['set-cookie']).toBeUndefined();
    expect((await get(ui.port, '/?token=wrong')).status).toBe(401);
    expect((await get(ui.port, `/?token=${'x'.repeat(ui.token.length)}`)).status).toBe(401);

    const page = await get(ui.port, `/?token=${ui.token}`);
    expect(page.status).toBe(503);
    expect(page.body).toMatch(/not been built/);
    expect(page.body).toMatch(/npm run build/);
    expect(page.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain(`ws://127.0.0.1:${ui.port}`);
  });

  it('serves the built renderer with the token, then by cookie; never outside its folder or to another Host', async () => {
    const { ui, dir } = await serve({ 'index.html': '<!doctype html><p>sluice</p>', 'app.js': 'export {};' });
    await writeFile(path.join(dir, 'secret.txt'), 'outside the renderer');

    const page = await get(ui.port, `/?token=${ui.token}`);
    expect(page).toMatchObject({ status: 200, body: '<!doctype html><p>sluice</p>' });
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const cookie = cookieOf(page);
    expect(page.headers['set-cookie']?.[0]).toMatch(/SameSite=Strict; Path=\//);

    const script = await get(ui.port, '/app.js', { cookie });
    expect(script).toMatchObject({ status: 200, body: 'export {};' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    expect((await get(ui.port, '/app.js')).status).toBe(401);
    expect((await get(ui.port, '/app.js', { cookie: `sluice_token_${ui.port}=wrong` })).status).toBe(401);
    expect((await get(ui.port, '/missing.js', { cookie })).status).toBe(404);

    for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/renderer/../../secret.txt']) {
      const sneaky = await get(ui.port, `${target}?token=${ui.token}`);
      expect([403, 404], target).toContain(sneaky.status);
      expect(sneaky.body).not.toContain('outside the renderer');
    }

    const rebound = await get(ui.port, `/?token=${ui.token}`, { host: `evil.example:${ui.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('sluice</p>');
    expect((await get(ui.port, `/?token=${ui.token}`, { host: `localhost:${ui.port}` })).status).toBe(200);
  });

  it('takes WebSocket upgrades only with the token or cookie, a local Origin and the right Host', async () => {
    const { ui } = await serve();
    const base = `ws://127.0.0.1:${ui.port}`;
    expect(await upgradeStatus(`${base}/ws`)).toBe(403);
    expect(await upgradeStatus(`${base}/ws?token=wrong`)).toBe(403);
    expect(await upgradeStatus(`${base}/ws?token=${ui.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(`${base}/ws?token=${ui.token}`, { headers: { host: 'evil.example' } })).toBe(403);
    expect(await upgradeStatus(`${base}/elsewhere?token=${ui.token}`)).toBe(404);

    await Tab.open(ui);
    await Tab.open(ui, { origin: `http://localhost:${ui.port}` });
    const cookie = cookieOf(await get(ui.port, `/?token=${ui.token}`));
    const byCookie = new WebSocket(`${base}/ws`, { headers: { cookie } });
    defer(async () => byCookie.terminate());
    await new Promise((resolve, reject) => byCookie.once('open', resolve).once('error', reject));
  });

  it('carries the contract: commands, events of real traffic, bodies, and errors', async () => {
    const { ui } = await serve();
    const tab = await Tab.open(ui);

    const status = replyOf('proxy.start', await tab.call('proxy.start', {})) as ProxyStatus;
    expect(status).toMatchObject({ state: 'running', host: '127.0.0.1' });
    const target = `${await upstream()}/tokens`;
    const res = await fetchViaProxy(status.port, target);
    expect(res.body.toString()).toBe('streamed to /tokens');

    const opened = await tab.waitFor(() =>
      tab.events.find((e) => e.type === 'exchange-opened' && e.request.url === target),
    );
    const id = opened.type === 'exchange-opened' ? opened.id : -1;
    await tab.closedEvent(id);
    const mine = tab.events.filter((e) => 'id' in e && e.id === id).map((e) => e.type);
    expect(mine).toEqual(expect.arrayContaining(['exchange-opened', 'response-head', 'chunk', 'exchange-closed']));
    expect(tab.events.some((e) => e.type === 'proxy-status' && e.status.state === 'running')).toBe(true);
    const seqs = tab.received.flatMap((m) => (m.kind === 'batch' ? [m.batch.seq] : []));
    expect(seqs).toEqual(seqs.map((_, i) => i));

    // A tab that opens later is given the capture so far before live events.
    const late = await Tab.open(ui);
    await late.waitFor(() => late.events.find((e) => e.type === 'exchange-closed' && e.id === id));
    expect(late.events.filter((e) => 'id' in e && e.id === id).map((e) => e.type)).toEqual(
      tab.events.filter((e) => 'id' in e && e.id === id).map((e) => e.type),
    );

    const body = replyOf('body.read', await tab.call('body.read', { id, direction: 'response' })) as { base64: string };
    expect(Buffer.from(body.base64, 'base64').toString()).toBe('streamed to /tokens');

    expect(await tab.call('proxy.explode', {})).toMatchObject({ kind: 'error', error: { code: 'unknown-command' } });
    expect(await tab.call('proxy.setPort', { port: 'eighty' })).toMatchObject({
      kind: 'error',
      error: { code: 'bad-request', message: expect.stringMatching(/port must be a whole number/) },
    });
    tab.ws.send('this is not json');
    expect(await tab.answerTo(-1)).toMatchObject({ kind: 'error', id: -1, error: { code: 'bad-message' } });
    tab.ws.send(JSON.stringify({ kind: 'shout', id: 77 }));
    expect(await tab.answerTo(77)).toMatchObject({ kind: 'error', error: { code: 'bad-message' } });
    expect(replyOf('proxy.status', await tab.call('proxy.status', {}))).toMatchObject({ state: 'running' });
  });

  it('refuses a message over 1 MiB by closing that socket', async () => {
    const { ui } = await serve();
    const tab = await Tab.open(ui);
    const code = new Promise<number>((resolve) => tab.ws.once('close', (c: number) => resolve(c)));
    tab.ws.send('x'.repeat(1024 * 1024 + 1));
    expect(await code).toBe(1009);
  });

  it('gives every open tab every event', async () => {
    const { ui, host } = await serve();
    const [first, second] = [await Tab.open(ui), await Tab.open(ui)];
    const { port } = await host.call('proxy.start', {});
    await fetchViaProxy(port, `${await upstream()}/both`);
    const [a, b] = await Promise.all([first!.closedEvent(1), second!.closedEvent(1)]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ type: 'exchange-closed', outcome: 'completed' });
  });

  it('serves the capture as a HAR download, only with the token, and takes the page form only from no foreign origin', async () => {
    const { ui, host } = await serve();
    const { port } = await host.call('proxy.start', {});
    await fetchViaProxy(port, `${await upstream()}/one`);
    await fetchViaProxy(port, `${await upstream()}/two`);
    await new Promise((r) => setTimeout(r, 50));

    expect((await get(ui.port, '/har')).status).toBe(401);
    const all = await get(ui.port, `/har?token=${ui.token}`);
    expect(all.status).toBe(200);
    expect(all.headers['content-disposition']).toMatch(/^attachment; filename="sluice-[\d-]+\.har"$/);
    const entries = (JSON.parse(all.body) as { log: { entries: { request: { url: string } }[] } }).log.entries;
    expect(entries.map((e) => new URL(e.request.url).pathname)).toEqual(['/one', '/two']);
    expect((await get(ui.port, `/har?token=${ui.token}&ids=x`)).status).toBe(400);

    const form = (origin: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const body = 'ids=2';
        const req = http.request(
          {
            host: '127.0.0.1',
            port: ui.port,
            method: 'POST',
            path: `/har?token=${ui.token}`,
            agent: false,
            headers: { origin, 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await form('https://evil.example')).toBe(403);
    expect(await form('null')).toBe(200);
    expect(await form(`http://127.0.0.1:${ui.port}`)).toBe(200);
  });

  it('closes its WebSockets and frees its port on close; says so when the port is taken', async () => {
    const { ui, host } = await serve();
    const taken = HeadlessServer.start(host, { port: ui.port, rendererDir: '/nowhere' });
    await expect(taken).rejects.toThrow(`ui port ${ui.port} on 127.0.0.1 is in use`);

    const tabs = [await Tab.open(ui), await Tab.open(ui)];
    const started = Date.now();
    await ui.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await Promise.all(tabs.map((tab) => tab.waitFor(() => (tab.closed ? true : undefined))));
    await ui.close();

    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(ui.port, '127.0.0.1', resolve));
    await new Promise((resolve) => probe.close(resolve));

    expect(tabs.map((tab) => tab.closeCode)).toEqual([1001, 1001]);
    // A peek inside the host's event feed: each closed socket gave its subscription back.
    expect((host as unknown as { feed: { listeners: Set<unknown> } }).feed.listeners.size).toBe(0);
  });
});
