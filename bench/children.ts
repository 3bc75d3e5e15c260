import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Lines kept from a child's start, so a waiter that subscribes late still sees its banner. */
const KEPT_EARLY_LINES = 50;
const STDERR_TAIL_CHARS = 4000;

const running = new Set<NodeChild>();

/** A Node script run as a child process, read line by line from its stdout. */
export class NodeChild {
  readonly process: ChildProcess;
  private readonly earlyLines: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private stderrTail = '';
  private readonly exited: Promise<void>;

  constructor(script: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}) {
    this.process = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
      env: options.env ?? process.env,
      // stdin is a pipe we never write: children that watch it exit when the bench dies.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(this);
    this.exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
    void this.exited.then(() => running.delete(this));
    this.process.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_CHARS);
    });
    const lines = createInterface({ input: this.process.stdout!, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (this.earlyLines.length < KEPT_EARLY_LINES) this.earlyLines.push(line);
      for (const listener of this.lineListeners) listener(line);
    });
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error('child process has no pid (did it fail to start?)');
    return pid;
  }

  /** Calls `listener` with every stdout line from now on; returns the unsubscribe function. */
  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** The first stdout line (already printed or still to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const seen = this.earlyLines.map((line) => line.match(pattern)).find((m) => m !== null);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, match?: RegExpMatchArray): void => {
        clearTimeout(timer);
        unsubscribe();
        this.process.off('exit', onExit);
        if (error) reject(error);
        else resolve(match!);
      };
      const unsubscribe = this.onLine((line) => {
        const match = line.match(pattern);
        if (match) finish(undefined, match);
      });
      const onExit = (code: number | null): void =>
        finish(new Error(`child exited (${code}) before printing ${pattern}: ${this.stderrTail}`));
      this.process.once('exit', onExit);
      const timer = setTimeout(
        () => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${this.stderrTail}`)),
        timeoutMs,
      );
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every child still running; used on the way out, error or not. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}
