import type { ProxyStatus } from '../../app/contract.js';
import { servePort, type HostPort } from '../host/port-server.js';
import type { SluiceHost } from '../host/sluice-host.js';

/**
 * What runs in the host's utility process, kept free of Electron so Node tests can drive it: it
 * creates the host, starts the proxy, and serves each port the main process hands over (one per
 * window) until told to shut down. See docs/adr/0002-host-in-utility-process.md.
 */

/** Main process → host process. A `connect` carries one transferred port. */
export type ToHostProcess = { readonly kind: 'connect' } | { readonly kind: 'shutdown' };

/** Host process → main process. */
export type FromHostProcess =
  | { readonly kind: 'ready'; readonly status: ProxyStatus; readonly notices: readonly string[] }
  | { readonly kind: 'failed'; readonly message: string };

/** The host process's side of its link to the main process (Electron's `process.parentPort`). */
export interface ParentLink {
  onMessage(listener: (message: unknown, port: HostPort | undefined) => void): void;
  post(message: FromHostProcess): void;
}

export interface HostServiceOptions {
  readonly parent: ParentLink;
  readonly createHost: () => Promise<SluiceHost>;
  /** Ends the process; tests pass a spy. */
  readonly exit: (code: number) => void;
}

/** Runs until `shutdown` (exit 0) or until the host cannot be created (reported, exit 1). */
export async function runHostService({ parent, createHost, exit }: HostServiceOptions): Promise<void> {
  // Ports can arrive while the CA is still being made: they wait for the host.
  const waiting: HostPort[] = [];
  const served = new Set<() => void>();
  let host: SluiceHost | undefined;
  /** The proxy has been started: from here a shutdown can run at once. */
  let started = false;
  let shutdownAsked = false;

  const serve = (port: HostPort): void => {
    const stop = servePort(host!, port);
    served.add(stop);
    port.onClose(() => served.delete(stop));
  };
  const shutDown = async (): Promise<void> => {
    for (const stop of [...served, ...waiting.splice(0).map((port) => () => port.close())]) stop();
    served.clear();
    // Stops the proxy: open exchanges end and the listening socket is released before we go.
    await host?.close();
    exit(0);
  };

  parent.onMessage((message, port) => {
    const kind = (message as { kind?: unknown } | null)?.kind;
    if (kind === 'connect' && port) {
      if (shutdownAsked) port.close();
      else if (started) serve(port);
      else waiting.push(port);
    } else if (kind === 'shutdown' && !shutdownAsked) {
      shutdownAsked = true;
      if (started) void shutDown();
    }
  });

  try {
    host = await createHost();
  } catch (err) {
    parent.post({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    exit(1);
    return;
  }
  const status = await host.call('proxy.start', {});
  started = true;
  if (shutdownAsked) return shutDown();
  parent.post({ kind: 'ready', status, notices: host.notices });
  for (const port of waiting.splice(0)) serve(port);
}
