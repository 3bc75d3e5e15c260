import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NodeChild } from './children.js';
import { LOOP_PROBE_PREFIX, LOOP_PROBE_READY, type LoopDelay } from './loop-delay-line.js';

export type { LoopDelay } from './loop-delay-line.js';

const PROBE_SCRIPT = fileURLToPath(new URL('./loop-delay-probe.js', import.meta.url));
const REPORT_LINE = new RegExp(`^${LOOP_PROBE_PREFIX}(\\{.*\\})$`);
const READ_TIMEOUT_MS = 10_000;

/** The node flags that load the probe into a child before its own code runs. */
export function loopProbeNodeArgs(): string[] {
  return ['--import', pathToFileURL(PROBE_SCRIPT).href];
}

/**
 * The bench's side of loop-delay-probe.ts: asks the child for its loop delay with SIGUSR2 and reads
 * the answer from its stderr. Questions are asked one at a time, so each answer is its own.
 */
export class LoopDelayProbe {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly child: NodeChild) {}

  /**
   * Waits for the probe to say it is loaded: without its listener, SIGUSR2 would kill the child
   * (the signal's default action), so we never send one before this.
   */
  static async attach(child: NodeChild, timeoutMs: number): Promise<LoopDelayProbe> {
    await child.waitForLine(new RegExp(`^${LOOP_PROBE_READY}$`), timeoutMs, 'stderr');
    return new LoopDelayProbe(child);
  }

  /** The loop delay since the last read (or since the child started), and starts a new interval. */
  read(): Promise<LoopDelay> {
    const answer = this.queue.then(() => this.ask());
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  /** Starts a new interval, discarding what came before. */
  async restart(): Promise<void> {
    await this.read();
  }

  private async ask(): Promise<LoopDelay> {
    const line = this.child.nextLine(REPORT_LINE, READ_TIMEOUT_MS, 'stderr');
    this.child.process.kill('SIGUSR2');
    const match = await line;
    return JSON.parse(match[1]!) as LoopDelay;
  }
}
