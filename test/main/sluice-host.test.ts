import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { CommandName, HostEvent } from '../../app/contract.js';
import { CommandError, SluiceHost } from '../../main/host/sluice-host.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/servers.js';
import { useCleanup } from '../helpers/cleanup.js';

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
    await expect(host.call('body.read', { id: 1, direction: 'sideways' as 'request' })).rejects.toThrow(/direction/);
    await expect(
      host.call('body.read', { id: 1, direction: 'request', start: '5' as unknown as number }),
    ).rejects.toThrow(/start must be a whole number/);
  });
});

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}
