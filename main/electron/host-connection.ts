import { MessageChannelMain, utilityProcess, type UtilityProcess, type WebContents } from 'electron';
import { CHANNELS, type HostStopped, type SystemProxyMode, type SystemProxyStatus } from '../../app/contract.js';
import type { FromHostProcess, HostStatus, MainCallAnswer, ToHostProcess } from './host-service.js';
import { PROXY_PROCESS_NODE_FLAGS } from '../proxy-process-flags.js';
import { RestartBudget } from './restart-budget.js';

/** How long the host may take to close its exchanges and its port on quit before it is killed. */
const SHUTDOWN_GRACE_MS = 5000;
/**
 * With the system proxy on, quitting first puts the user's settings back, which on macOS means a
 * few networksetup runs per network service and on Windows a PowerShell start: allow for it.
 */
const RESTORE_GRACE_MS = 30_000;

export interface HostProcessOptions {
  readonly modulePath: string;
  readonly dataDir: string;
  /** The host cannot run (its CA is unreadable, it keeps crashing): the app has nothing to show. */
  readonly onFatal: (message: string) => void;
}

export type HostStatusListener = (status: HostStatus | undefined) => void;

/**
 * The host's utility process, seen from the main process. Each window gets its own
 * `MessageChannelMain`: one end to the host, one to the window, so calls and batches flow between
 * them directly and never through this process's event loop. A crashed host is restarted (within
 * a budget) and every window is handed a fresh port, whose feed starts again from seq 0. The main
 * process's own use (the tray) is the host's status and the system proxy switch.
 */
export class HostProcess {
  private child: UtilityProcess;
  private readonly windows = new Set<WebContents>();
  private readonly budget = new RestartBudget();
  private failure: string | undefined;
  private stopping: Promise<void> | undefined;
  private latest: HostStatus | undefined;
  private readonly statusListeners = new Set<HostStatusListener>();
  private readonly calls = new Map<number, { resolve: (reply: unknown) => void; reject: (err: Error) => void }>();
  private nextCallId = 1;

  constructor(private readonly options: HostProcessOptions) {
    this.child = this.fork();
  }

  /** Gives `contents` a new port to the host; call only for a window that passed `ipcProblem`. */
  connect(contents: WebContents): void {
    if (this.stopping || contents.isDestroyed()) return;
    if (!this.windows.has(contents)) {
      this.windows.add(contents);
      contents.once('destroyed', () => this.windows.delete(contents));
    }
    const { port1, port2 } = new MessageChannelMain();
    this.child.postMessage({ kind: 'connect' } satisfies ToHostProcess, [port1]);
    contents.postMessage(CHANNELS.connect, null, [port2]);
  }

  /** The host's latest status; undefined until it is ready, and again while it restarts. */
  get status(): HostStatus | undefined {
    return this.latest;
  }

  /** Calls `listener` on every status change, including to undefined when the host goes away. */
  onStatus(listener: HostStatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Switches the system proxy; resolves with the switch's status, which says in `state` and
   * `message` when the host refused. Rejects only when the host could not answer (it stopped).
   */
  setSystemProxy(enabled: boolean, mode?: SystemProxyMode): Promise<SystemProxyStatus> {
    if (this.stopping) return Promise.reject(new Error('Sluice is quitting'));
    const id = this.nextCallId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve: (reply) => resolve(reply as SystemProxyStatus), reject });
      this.child.postMessage({
        kind: 'call',
        id,
        command: 'systemProxy.set',
        request: mode ? { enabled, mode } : { enabled },
      } satisfies ToHostProcess);
    });
  }

  /** Asks the host to stop the proxy and exit; kills it if it has not within the grace period. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const child = this.child;
      if (child.pid === undefined) return resolve();
      const grace = this.latest?.systemProxy.state === 'off' ? SHUTDOWN_GRACE_MS : RESTORE_GRACE_MS;
      const timer = setTimeout(() => child.kill(), grace);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.postMessage({ kind: 'shutdown' } satisfies ToHostProcess);
    });
    return this.stopping;
  }

  private fork(): UtilityProcess {
    const child = utilityProcess.fork(this.options.modulePath, ['--data-dir', this.options.dataDir], {
      serviceName: 'Sluice proxy',
      stdio: 'inherit',
      execArgv: [...PROXY_PROCESS_NODE_FLAGS],
    });
    child.on('message', (message: FromHostProcess) => this.onMessage(message));
    child.once('exit', (code) => this.onExit(child, code));
    return child;
  }

  private onMessage(message: FromHostProcess): void {
    if (message.kind === 'status') return this.setStatus(message.status);
    if (message.kind === 'reply' || message.kind === 'error') return this.answer(message);
    if (message.kind === 'failed') this.failure = message.message;
    if (message.kind !== 'ready') return;
    for (const notice of message.notices) console.warn(`sluice: ${notice}`);
    const { state, host, port, error } = message.status;
    console.log(state === 'running' ? `sluice: proxy on http://${host}:${port}` : `sluice: proxy ${state}: ${error}`);
  }

  private answer(message: MainCallAnswer): void {
    const call = this.calls.get(message.id);
    if (!call) return;
    this.calls.delete(message.id);
    if (message.kind === 'reply') call.resolve(message.reply);
    else call.reject(new Error(message.error.message));
  }

  private setStatus(status: HostStatus | undefined): void {
    this.latest = status;
    for (const listener of this.statusListeners) listener(status);
  }

  private onExit(child: UtilityProcess, code: number): void {
    if (child !== this.child) return;
    // A call the dead host never answered would otherwise wait forever.
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(new Error(`the Sluice proxy process stopped (exit code ${code})`));
    if (this.stopping) return;
    // The restarted host sends its status once ready; until then the tray must not offer a stale one.
    this.setStatus(undefined);
    if (this.failure !== undefined) return this.options.onFatal(this.failure);
    const detail = `the Sluice proxy process stopped (exit code ${code})`;
    this.tellWindows(detail);
    if (!this.budget.allow(Date.now())) return this.options.onFatal(`${detail}, again; giving up`);
    console.warn(`sluice: ${detail}; restarting it`);
    this.child = this.fork();
    for (const contents of this.windows) this.connect(contents);
  }

  private tellWindows(detail: string): void {
    const notice: HostStopped = { kind: 'host-stopped', detail };
    for (const contents of this.windows) if (!contents.isDestroyed()) contents.postMessage(CHANNELS.connect, notice);
  }
}
