import type { CallMessage, CommandName, HostMessage, ProxyStatus, SystemProxyStatus } from '../../app/contract.js';
import { answerCall, readCall } from '../host/call-messages.js';
import { servePort, type HostPort } from '../host/port-server.js';
import type { SluiceHost } from '../host/sluice-host.js';
import { errorMessage } from '../../app/error-message.js';

/**
 * What runs in the host's utility process, kept free of Electron so Node tests can drive it: it
 * creates the host, starts the proxy, and serves each port the main process hands over (one per
 * window) until told to shut down. The main process itself gets the two statuses the tray shows
 * and may run the few commands the tray needs. See docs/adr/0002-host-in-utility-process.md.
 */

/** What the main process shows of the host (the tray): the proxy and the system proxy switch. */
export interface HostStatus {
  readonly proxy: ProxyStatus;
  readonly systemProxy: SystemProxyStatus;
}

/**
 * The commands the main process may run. Windows reach the whole contract over their own ports;
 * the main process only drives the tray, so its link stays that narrow.
 */
export const MAIN_COMMANDS = ['systemProxy.set'] as const satisfies readonly CommandName[];
export type MainCommand = (typeof MAIN_COMMANDS)[number];

/** The contract's call envelope, limited to the main process's commands. */
export type MainCall<C extends MainCommand = MainCommand> = CallMessage<C>;

/** Main process → host process. A `connect` carries one transferred port. */
export type ToHostProcess = { readonly kind: 'connect' } | { readonly kind: 'shutdown' } | MainCall;

/** The answer to a `MainCall`: the contract's `reply` or `error`, as windows get them. */
export type MainCallAnswer = Exclude<HostMessage, { readonly kind: 'batch' }>;

/** Host process → main process. `status` follows `ready` and then comes only when it changed. */
export type FromHostProcess =
  | { readonly kind: 'ready'; readonly status: ProxyStatus; readonly notices: readonly string[] }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'status'; readonly status: HostStatus }
  | MainCallAnswer;

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
  // Ports and calls can arrive while the CA is still being made: they wait for the host.
  const waiting: HostPort[] = [];
  const waitingCalls: MainCall[] = [];
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
  const run = (call: MainCall): void => {
    void answerCall(host!, call).then((answer) => parent.post(answer as MainCallAnswer));
  };
  const shutDown = async (): Promise<void> => {
    for (const stop of [...served, ...waiting.splice(0).map((port) => () => port.close())]) stop();
    served.clear();
    for (const call of waitingCalls.splice(0)) parent.post(shuttingDown(call.id));
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
    } else if (kind === 'call') {
      const call = readMainCall(message);
      if (call.kind === 'error') parent.post(call);
      else if (shutdownAsked) parent.post(shuttingDown(call.id));
      else if (started) run(call);
      else waitingCalls.push(call);
    }
  });

  try {
    host = await createHost();
  } catch (err) {
    parent.post({ kind: 'failed', message: errorMessage(err) });
    exit(1);
    return;
  }
  const proxy = await host.call('proxy.start', {});
  // Read before anything else may call the host, so no change can fall between it and the subscription.
  const systemProxy = await host.call('systemProxy.status', {});
  started = true;
  if (shutdownAsked) return shutDown();
  parent.post({ kind: 'ready', status: proxy, notices: host.notices });
  announceStatus(host, { proxy, systemProxy }, parent);
  for (const port of waiting.splice(0)) serve(port);
  for (const call of waitingCalls.splice(0)) run(call);
}

/**
 * Posts the status now and again whenever the host reports a different one. The host repeats
 * itself (a switch-off when already off reports "off" again); the tray rebuilds its menu on
 * every message, so only real changes cross the process boundary.
 */
function announceStatus(host: SluiceHost, initial: HostStatus, parent: ParentLink): void {
  let posted = initial;
  parent.post({ kind: 'status', status: posted });
  host.subscribe((event) => {
    let next: HostStatus;
    if (event.type === 'proxy-status') next = { ...posted, proxy: event.status };
    else if (event.type === 'system-proxy-status') next = { ...posted, systemProxy: event.status };
    else return;
    if (sameFields(next.proxy, posted.proxy) && sameFields(next.systemProxy, posted.systemProxy)) return;
    posted = next;
    parent.post({ kind: 'status', status: posted });
  });
}

/** A call from the main process, or the error to answer it with: a malformed one or a command outside MAIN_COMMANDS. */
function readMainCall(message: unknown): MainCall | Extract<MainCallAnswer, { kind: 'error' }> {
  const call = readCall(message);
  if (call.kind === 'error') return call;
  if (!(MAIN_COMMANDS as readonly string[]).includes(call.command)) {
    const allowed = MAIN_COMMANDS.join(', ');
    return {
      kind: 'error',
      id: call.id,
      error: {
        code: 'unknown-command',
        message: `the main process may call ${allowed}, not ${JSON.stringify(call.command)}`,
      },
    };
  }
  return call as MainCall;
}

function shuttingDown(id: number): MainCallAnswer {
  return { kind: 'error', id, error: { code: 'failed', message: 'the Sluice proxy process is shutting down' } };
}

/** Equal flat records whose values are primitives or arrays of them, as both statuses are. */
function sameFields(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
    const p = x[key];
    const q = y[key];
    if (Array.isArray(p) && Array.isArray(q)) {
      if (p.length !== q.length || p.some((value, i) => value !== q[i])) return false;
    } else if (p !== q) return false;
  }
  return true;
}
