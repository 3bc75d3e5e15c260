import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { build } from 'vite';
import { describe, expect, it, vi } from 'vitest';
import { BRIDGE_KEY, CHANNELS, type BridgeApi, type EventBatch } from '../../app/contract.js';
import { fromWorkerPort, servePort } from '../../main/host/port-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import type { ConnectionAware } from '../../app/transport/connection.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();

type IpcListener = (event: { ports: unknown[] }, message?: unknown) => void;

/**
 * The preload as Electron runs it, short of Electron: the bundle vite.preload.config.ts makes, run
 * as a sandboxed preload is (CommonJS whose `require` knows only `electron`), with stand-ins for
 * contextBridge and ipcRenderer, and a real host on the other end of a real port.
 */
async function loadPreload(): Promise<{
  exposed: Record<string, unknown>;
  sent: string[];
  invoked: [string, unknown][];
  fromMain: (ports: unknown[], message?: unknown) => void;
  menu: (action: unknown) => void;
}> {
  const outDir = await freshDir();
  await build({ configFile: 'vite.preload.config.ts', logLevel: 'silent', build: { outDir, sourcemap: false } });
  const code = await readFile(path.join(outDir, 'preload.cjs'), 'utf8');
  const exposed: Record<string, unknown> = {};
  const sent: string[] = [];
  const invoked: [string, unknown][] = [];
  const listeners = new Map<string, IpcListener>();
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
    ipcRenderer: {
      send: (channel: string) => sent.push(channel),
      invoke: async (channel: string, request: unknown) => {
        invoked.push([channel, request]);
        return '/home/someone/chosen.har';
      },
      on: (channel: string, listener: IpcListener) => listeners.set(channel, listener),
      removeListener: (channel: string, listener: IpcListener) => {
        if (listeners.get(channel) === listener) listeners.delete(channel);
      },
    },
  };
  const sandboxedRequire = (name: string): unknown => {
    if (name === 'electron') return electron;
    throw new Error(`a sandboxed preload cannot require ${name}`);
  };
  const module = { exports: {} };
  new Function('require', 'module', 'exports', code)(sandboxedRequire, module, module.exports);
  const fromMain = (ports: unknown[], message?: unknown): void => listeners.get(CHANNELS.connect)?.({ ports }, message);
  const menu = (action: unknown): void => listeners.get(CHANNELS.menu)?.({ ports: [] }, action);
  return { exposed, sent, invoked, fromMain, menu };
}

describe('the preload bundle', () => {
  it('exposes one bridge that asks main for a port on first use and speaks the contract over it', async () => {
    const { exposed, sent, fromMain } = await loadPreload();
    expect(Object.keys(exposed)).toEqual([BRIDGE_KEY]);
    const bridge = exposed[BRIDGE_KEY] as BridgeApi & ConnectionAware;
    expect(Object.keys(bridge).sort()).toEqual(['call', 'chooseFile', 'listen', 'onConnection', 'onMenu']);
    expect(sent).toEqual([]);

    const states: string[] = [];
    bridge.onConnection((state) => states.push(state));
    const batches: EventBatch[] = [];
    bridge.listen((batch) => batches.push(batch));
    const status = bridge.call('proxy.status', {});
    expect(sent).toEqual([CHANNELS.connect]);

    // What main does on that request: one end to the host, the other to the window.
    const host = await SluiceHost.create({ dataDir: await freshDir() });
    defer(() => host.close());
    const { port1, port2 } = new MessageChannel();
    defer(async () => port1.close());
    servePort(host, fromWorkerPort(port1));
    // Node's port is an EventTarget like the DOM's, which is what the preload gets.
    fromMain([port2]);

    expect(await status).toMatchObject({ kind: 'reply', reply: { state: 'stopped' } });
    await vi.waitFor(() => expect(batches[0]?.seq).toBe(0));
    expect(states).toEqual(['connecting', 'open']);

    fromMain([], { kind: 'host-stopped', detail: 'the Sluice proxy process stopped (exit code 9)' });
    expect(states.at(-1)).toBe('closed');
  });

  it("passes the app menu's page actions on, only known ones, until told to stop", async () => {
    const { exposed, menu } = await loadPreload();
    const bridge = exposed[BRIDGE_KEY] as BridgeApi;
    const heard: string[] = [];
    const stop = bridge.onMenu!((action) => heard.push(action));
    menu('har-export');
    menu('format-disk');
    menu({ action: 'har-import' });
    stop();
    menu('har-import');
    expect(heard).toEqual(['har-export']);
  });

  it('asks main for a file dialog on its one invoke channel and gives back only the path', async () => {
    const { exposed, invoked } = await loadPreload();
    const bridge = exposed[BRIDGE_KEY] as BridgeApi;
    expect(await bridge.chooseFile?.({ purpose: 'har-save', suggestedName: 'x.har' })).toBe('/home/someone/chosen.har');
    expect(invoked).toEqual([[CHANNELS.chooseFile, { purpose: 'har-save', suggestedName: 'x.har' }]]);
  });
});
