import net from 'node:net';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import type { HostMessage } from '../../app/contract.js';
import { runHostService, type FromHostProcess, type ParentLink } from '../../main/electron/host-service.js';
import { fromWorkerPort, type HostPort } from '../../main/host/port-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();

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
    let host: SluiceHost | undefined;
    const createHost = async (): Promise<SluiceHost> => {
      host = await SluiceHost.create({ dataDir, overrides: { proxyPort: 0 } });
      return host;
    };
    const service = runHostService({ parent: main.link, createHost, exit });
    const early = main.connect();
    early.postMessage({ kind: 'call', id: 1, command: 'proxy.status', request: {} });
    await service;
    defer(() => host!.close());

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
    let host: SluiceHost | undefined;
    const service = runHostService({
      parent: main.link,
      createHost: async () => {
        host = await SluiceHost.create({ dataDir, overrides: { proxyPort: 0 } });
        return host;
      },
      exit,
    });
    main.send({ kind: 'shutdown' });
    await service;
    defer(() => host!.close());
    expect(exit).toHaveBeenCalledWith(0);
    expect(main.posted).toEqual([]);
  });
});
