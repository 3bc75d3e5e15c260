import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventBatch } from '../../app/contract.js';
import { HeadlessServer } from '../../main/headless/headless-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import type { ConnectionState } from '../../app/transport/connection.js';
import { WsBridge } from '../../renderer/src/transport/ws-bridge.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();

function bridgeTo(url: string): WsBridge {
  const bridge = new WsBridge({ url, WebSocket, backoffMs: () => 20 });
  defer(async () => bridge.close());
  return bridge;
}

function recordStates(bridge: WsBridge): { state: ConnectionState; detail?: string }[] {
  const states: { state: ConnectionState; detail?: string }[] = [];
  bridge.onConnection((state, detail) => states.push(detail === undefined ? { state } : { state, detail }));
  return states;
}

/** A WebSocket server that accepts and never answers, so calls stay pending. */
async function silentServer(): Promise<{ url: string; server: WebSocketServer }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, server };
}

describe('WsBridge', () => {
  it('reconnects when the host comes back, and the new feed starts again at seq 0', async () => {
    const host = await SluiceHost.create({ dataDir: await freshDir() });
    defer(() => host.close());
    const rendererDir = await freshDir();
    const first = await HeadlessServer.start(host, { rendererDir });
    const bridge = bridgeTo(`ws://127.0.0.1:${first.port}/ws?token=${first.token}`);
    const states = recordStates(bridge);
    const batches: EventBatch[] = [];
    bridge.listen((batch) => batches.push(batch));
    await vi.waitFor(() => expect(batches.map((b) => b.seq)).toEqual([0]));
    expect(states.at(-1)).toEqual({ state: 'open' });

    await first.close();
    await vi.waitFor(() => expect(states.at(-1)?.state).not.toBe('open'));
    expect(states).toContainEqual({ state: 'closed', detail: 'Sluice is shutting down; retrying in 0.02 s' });

    const again = await HeadlessServer.start(host, { rendererDir, port: first.port, token: first.token });
    defer(() => again.close());
    await vi.waitFor(() => expect(states.at(-1)).toEqual({ state: 'open' }), { timeout: 5000 });
    await vi.waitFor(() => expect(batches.map((b) => b.seq)).toEqual([0, 0]));
    const reply = await bridge.call('proxy.status', {});
    expect(reply).toMatchObject({ kind: 'reply', reply: { state: 'stopped' } });
  });

  it('fails a call still waiting when the socket closes, saying which call', async () => {
    const { url, server } = await silentServer();
    const bridge = bridgeTo(url);
    const outcome = bridge.call('proxy.start', {});
    await vi.waitFor(() => expect(server.clients.size).toBe(1));
    for (const client of server.clients) client.terminate();
    expect(await outcome).toEqual({
      kind: 'error',
      error: { code: 'failed', message: 'the connection to Sluice closed before proxy.start was answered' },
    });
  });

  it('stops for good when closed: no reconnect, and later calls fail at once', async () => {
    const { url, server } = await silentServer();
    const bridge = bridgeTo(url);
    const states = recordStates(bridge);
    const pending = bridge.call('proxy.status', {});
    await vi.waitFor(() => expect(server.clients.size).toBe(1));
    bridge.close();
    expect(await pending).toMatchObject({ kind: 'error', error: { code: 'failed' } });
    expect(await bridge.call('proxy.status', {})).toMatchObject({ kind: 'error', error: { code: 'failed' } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(states.at(-1)?.state).toBe('closed');
    expect(server.clients.size).toBe(0);
  });
});
