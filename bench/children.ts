import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Lines kept from a child's start, so a waiter that subscribes late still sees its banner. */
const KEPT_EARLY_LINES = 50;
const STDERR_TAIL_CHARS = 4000;

const running = new Set<NodeChild>();

export type Output = 'stdout' | 'stderr';

/** One output of a child read line by line: its first lines kept, later ones handed to listeners. */
class LineFeed {
  readonly earlyLines: string[] = [];
  readonly listeners = new Set<(line: string) => void>();

  constructor(input: Readable) {
    const lines = createInterface({ input, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (this.earlyLines.length < KEPT_EARLY_LINES) this.earlyLines.push(line);
      for (const listener of this.listeners) listener(line);
    });
  }
}

/** A Node script run as a child process, read line by line from its stdout and stderr. */
export class NodeChild {
  readonly process: ChildProcess;
  private readonly feeds: Record<Output, LineFeed>;
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
    this.process.stderr!.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_CHARS);
    });
    this.feeds = { stdout: new LineFeed(this.process.stdout!), stderr: new LineFeed(this.process.stderr!) };
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error('child process has no pid (did it fail to start?)');
    return pid;
  }

  /** Calls `listener` with every line of `output` from now on; returns the unsubscribe function. */
  onLine(listener: (line: string) => void, output: Output = 'stdout'): () => void {
    const { listeners } = this.feeds[output];
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** The first line of `output` (already printed or still to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number, output: Output = 'stdout'): Promise<RegExpMatchArray> {
    const seen = this.feeds[output].earlyLines.map((line) => line.match(pattern)).find((m) => m !== null);
    if (seen) return Promise.resolve(seen);
    return this.nextLine(pattern, timeoutMs, output);
  }

  /** The next line of `output` matching `pattern`, ignoring any printed before this call. */
  nextLine(pattern: RegExp, timeoutMs: number, output: Output = 'stdout'): Promise<RegExpMatchArray> {
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
      }, output);
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
