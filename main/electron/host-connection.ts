import { MessageChannelMain, utilityProcess, type UtilityProcess, type WebContents } from 'electron';
import { CHANNELS, type HostStopped } from '../../app/contract.js';
import type { FromHostProcess, ToHostProcess } from './host-service.js';
import { RestartBudget } from './restart-budget.js';

/** How long the host may take to close its exchanges and its port on quit before it is killed. */
const SHUTDOWN_GRACE_MS = 5000;

export interface HostProcessOptions {
  readonly modulePath: string;
  readonly dataDir: string;
  /** The host cannot run (its CA is unreadable, it keeps crashing): the app has nothing to show. */
  readonly onFatal: (message: string) => void;
}

/**
 * The host's utility process, seen from the main process. Each window gets its own
 * `MessageChannelMain`: one end to the host, one to the window, so calls and batches flow between
 * them directly and never through this process's event loop. A crashed host is restarted (within
 * a budget) and every window is handed a fresh port, whose feed starts again from seq 0.
 */
export class HostProcess {
  private child: UtilityProcess;
  private readonly windows = new Set<WebContents>();
  private readonly budget = new RestartBudget();
  private failure: string | undefined;
  private stopping: Promise<void> | undefined;

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

  /** Asks the host to stop the proxy and exit; kills it if it has not within the grace period. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const child = this.child;
      if (child.pid === undefined) return resolve();
      const timer = setTimeout(() => child.kill(), SHUTDOWN_GRACE_MS);
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
    });
    child.on('message', (message: FromHostProcess) => this.onMessage(message));
    child.once('exit', (code) => this.onExit(child, code));
    return child;
  }

  private onMessage(message: FromHostProcess): void {
    if (message.kind === 'failed') this.failure = message.message;
    if (message.kind !== 'ready') return;
    for (const notice of message.notices) console.warn(`sluice: ${notice}`);
    const { state, host, port, error } = message.status;
    console.log(state === 'running' ? `sluice: proxy on http://${host}:${port}` : `sluice: proxy ${state}: ${error}`);
  }

  private onExit(child: UtilityProcess, code: number): void {
    if (this.stopping || child !== this.child) return;
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
