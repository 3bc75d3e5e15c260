import net from 'node:net';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import type { HostMessage, SystemProxyStatus } from '../../app/contract.js';
import {
  runHostService,
  type FromHostProcess,
  type HostStatus,
  type MainCallAnswer,
  type ParentLink,
} from '../../main/electron/host-service.js';
import { fromWorkerPort, type HostPort } from '../../main/host/port-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import type { SystemProxyAdapter } from '../../main/system-proxy/types.js';
import { useCleanup } from '../helpers/cleanup.js';
import { MemoryDesktop } from '../helpers/memory-desktop.js';

const { defer, freshDir } = useCleanup();

/** A host on a fresh data dir and any free port; no adapters unless given, never the machine's. */
function hostMaker(dataDir: string, adapters: SystemProxyAdapter<unknown>[] = []) {
  let host: SluiceHost | undefined;
  return {
    create: async (): Promise<SluiceHost> => {
      host = await SluiceHost.create({ dataDir, overrides: { proxyPort: 0 }, systemProxyAdapters: adapters });
      return host;
    },
    get host(): SluiceHost {
      return host!;
    },
  };
}

/** The main process's side of the link, with real ports for the windows. */
class FakeMain {
  readonly posted: FromHostProcess[] = [];
  private listener: ((message: unknown, port: HostPort | undefined) => void) | undefined;
  readonly link: ParentLink = {
    onMessage: (listener) => (this.listener = listener),
    post: (message) => this.posted.push(message),
  };

  /** Hands the host one end of a new channel, as main does per window; returns the window's end. */
  connect(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    defer(async () => port2.close());
    this.listener?.({ kind: 'connect' }, fromWorkerPort(port1));
    return port2;
  }

  send(message: unknown): void {
    this.listener?.(message, undefined);
  }
}

function statuses(main: FakeMain): HostStatus[] {
  return main.posted.flatMap((m) => (m.kind === 'status' ? [m.status] : []));
}

async function answerTo(main: FakeMain, id: number): Promise<MainCallAnswer> {
  let answer: MainCallAnswer | undefined;
  await vi.waitFor(() => {
    answer = main.posted.find((m): m is MainCallAnswer => (m.kind === 'reply' || m.kind === 'error') && m.id === id);
    expect(answer).toBeDefined();
  });
  return answer!;
}

function firstAnswer(port: MessagePort, id: number): Promise<HostMessage> {
  return new Promise((resolve) =>
    port.on('message', (message: HostMessage) => message.kind !== 'batch' && message.id === id && resolve(message)),
  );
}

function canListenOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('the host process service', () => {
  it('starts the proxy, serves windows that connected before it was ready, and stops it on shutdown', async () => {
    const main = new FakeMain();
    const exit = vi.fn();
    const dataDir = await freshDir();
    const maker = hostMaker(dataDir);
    const service = runHostService({ parent: main.link, createHost: maker.create, exit });
    const early = main.connect();
    early.postMessage({ kind: 'call', id: 1, command: 'proxy.status', request: {} });
    await service;
    defer(() => maker.host.close());

    const ready = main.posted[0];
    expect(ready).toMatchObject({ kind: 'ready', status: { state: 'running' } });
    const { port } = (ready as Extract<FromHostProcess, { kind: 'ready' }>).status;
    expect(await firstAnswer(early, 1)).toMatchObject({ kind: 'reply', reply: { state: 'running', port } });

    const late = main.connect();
    late.postMessage({ kind: 'call', id: 2, command: 'proxy.status', request: {} });
    expect(await firstAnswer(late, 2)).toMatchObject({ kind: 'reply', reply: { port } });

    main.send({ kind: 'shutdown' });
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
    expect(await canListenOn(port)).toBe(true);
  });

  it('reports a host that cannot be created and exits with 1', async () => {
    const main = new FakeMain();
    const exit = vi.fn();
    await runHostService({
      parent: main.link,
      createHost: () => Promise.reject(new Error('the CA key in /x is unreadable')),
      exit,
    });
    expect(main.posted).toEqual([{ kind: 'failed', message: 'the CA key in /x is unreadable' }]);
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('waits for the proxy to start before a shutdown asked for during start-up', async () => {
    const main = new FakeMain();
    const exit = vi.fn();
    const dataDir = await freshDir();
    const maker = hostMaker(dataDir);
    const service = runHostService({ parent: main.link, createHost: maker.create, exit });
    main.send({ kind: 'call', id: 3, command: 'systemProxy.set', request: { enabled: true } });
    main.send({ kind: 'shutdown' });
    main.send({ kind: 'call', id: 4, command: 'systemProxy.set', request: { enabled: true } });
    await service;
    defer(() => maker.host.close());
    expect(exit).toHaveBeenCalledWith(0);
    // No ready and no status; the calls are answered, not left waiting.
    const refused = { code: 'failed', message: 'the Sluice proxy process is shutting down' };
    expect(main.posted).toEqual([
      { kind: 'error', id: 4, error: refused },
      { kind: 'error', id: 3, error: refused },
    ]);
  });

  it('tells main the status right after ready and again on each change, never a repeat', async () => {
    const main = new FakeMain();
    const settings = new MemoryDesktop();
    const maker = hostMaker(await freshDir(), [settings]);
    await runHostService({ parent: main.link, createHost: maker.create, exit: vi.fn() });
    defer(() => maker.host.close());

    expect(main.posted.map((m) => m.kind)).toEqual(['ready', 'status']);
    const [first] = statuses(main);
    const { port } = first!.proxy;
    expect(first).toEqual({
      proxy: { state: 'running', host: '127.0.0.1', port, captureEnabled: true, captureKept: false },
      systemProxy: { state: 'off', supported: true, targets: ['Memory'], mode: 'manual' },
    });

    // A window changes the proxy: main hears it too.
    const window = main.connect();
    window.postMessage({ kind: 'call', id: 1, command: 'capture.setEnabled', request: { enabled: false } });
    await firstAnswer(window, 1);
    await vi.waitFor(() => expect(statuses(main)).toHaveLength(2));
    expect(statuses(main)[1]).toEqual({ ...first, proxy: { ...first!.proxy, captureEnabled: false } });

    // The switch is already off: the host reports "off" again, which is no change.
    window.postMessage({ kind: 'call', id: 2, command: 'systemProxy.set', request: { enabled: false } });
    expect(await firstAnswer(window, 2)).toMatchObject({ kind: 'reply', reply: { state: 'off' } });
    window.postMessage({ kind: 'call', id: 3, command: 'proxy.status', request: {} });
    await firstAnswer(window, 3);
    expect(statuses(main)).toHaveLength(2);
  });

  it('runs systemProxy.set for main and answers with the switch status, which the status follows', async () => {
    const main = new FakeMain();
    const settings = new MemoryDesktop();
    const maker = hostMaker(await freshDir(), [settings]);
    const service = runHostService({ parent: main.link, createHost: maker.create, exit: vi.fn() });
    // Sent before the host is ready: it waits for the host.
    main.send({ kind: 'call', id: 1, command: 'systemProxy.set', request: { enabled: true } });
    await service;
    defer(() => maker.host.close());
    const { port } = statuses(main)[0]!.proxy;

    const answer = await answerTo(main, 1);
    expect(answer).toEqual({
      kind: 'reply',
      id: 1,
      reply: { state: 'on', supported: true, targets: ['Memory'], mode: 'manual', address: `127.0.0.1:${port}` },
    });
    expect(settings.setting).toEqual({ proxy: `127.0.0.1:${port}` });
    await vi.waitFor(() => expect(statuses(main).at(-1)!.systemProxy).toEqual((answer as { reply: unknown }).reply));

    // Switching on again changes nothing, so no status is posted for it.
    const before = statuses(main).length;
    main.send({ kind: 'call', id: 2, command: 'systemProxy.set', request: { enabled: true } });
    expect(await answerTo(main, 2)).toMatchObject({ kind: 'reply', reply: { state: 'on' } });
    expect(statuses(main)).toHaveLength(before);

    main.send({ kind: 'call', id: 3, command: 'systemProxy.set', request: { enabled: false } });
    expect(((await answerTo(main, 3)) as { reply: SystemProxyStatus }).reply.state).toBe('off');
    expect(settings.setting).toEqual({ proxy: 'corp:3128' });
    expect(statuses(main).at(-1)!.systemProxy.state).toBe('off');
  });

  it("refuses main's calls outside the tray's commands and malformed ones, with the contract's errors", async () => {
    const main = new FakeMain();
    const maker = hostMaker(await freshDir());
    await runHostService({ parent: main.link, createHost: maker.create, exit: vi.fn() });
    defer(() => maker.host.close());
    expect(statuses(main)[0]!.systemProxy).toMatchObject({ state: 'off', supported: false });

    main.send({ kind: 'call', id: 1, command: 'capture.clear', request: {} });
    expect(await answerTo(main, 1)).toEqual({
      kind: 'error',
      id: 1,
      error: { code: 'unknown-command', message: 'the main process may call systemProxy.set, not "capture.clear"' },
    });
    main.send({ kind: 'call', id: 2, command: 'systemProxy.set', request: { enabled: 'yes' } });
    expect(await answerTo(main, 2)).toEqual({
      kind: 'error',
      id: 2,
      error: { code: 'bad-request', message: 'enabled must be true or false' },
    });
    main.send({ kind: 'call', id: 'x', command: 'systemProxy.set', request: { enabled: true } });
    expect(await answerTo(main, -1)).toMatchObject({ kind: 'error', error: { code: 'bad-message' } });
    // Unsupported here: the switch answers with its status, which says so, rather than failing.
    main.send({ kind: 'call', id: 3, command: 'systemProxy.set', request: { enabled: true } });
    expect(await answerTo(main, 3)).toMatchObject({ kind: 'reply', reply: { state: 'off', supported: false } });
  });
});
