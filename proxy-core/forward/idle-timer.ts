import { now } from '../clock.js';

/**
 * Fires when nothing has moved for `ms`. Activity only records a time; the timer re-arms itself
 * lazily, so a flood of chunks costs no timer churn. While `isPaused()` (waiting on a slow
 * reader) the clock does not run: backpressure is not idleness.
 */
export class IdleTimer {
  private last = now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly isPaused: () => boolean,
    private readonly onIdle: () => void,
  ) {}

  start(): void {
    if (this.ms > 0 && this.timer === undefined) this.schedule(this.ms);
  }

  touch(at: number): void {
    this.last = at;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(this.check, delay);
    this.timer.unref();
  }

  private readonly check = (): void => {
    const at = now();
    if (this.isPaused()) {
      this.last = at;
      this.schedule(this.ms);
      return;
    }
    const silent = at - this.last;
    if (silent >= this.ms) {
      this.timer = undefined;
      this.onIdle();
    } else {
      this.schedule(this.ms - silent);
    }
  };
}
