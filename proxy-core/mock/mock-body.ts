import { Readable } from 'node:stream';
import { now } from '../clock.js';

/** Pieces a mock body holds for a reader that does not take them before it stops pushing. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * A recorded body played as a stream: each piece is pushed when its time comes (ms from when the
 * body was made), on a schedule kept from one origin so waits do not add up. A reader that stops
 * taking pieces (the client is slow: the pump paused us) stops the clock too, so the recorded
 * gaps are kept after it reads again, as an upstream held back by TCP would keep them.
 */
export class MockBody extends Readable {
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private origin = now();
  /** When a full buffer stopped the pushes; -1 while they go on. */
  private blockedAt = -1;

  constructor(
    private readonly pieces: readonly Buffer[],
    private readonly times: readonly number[],
  ) {
    super({ highWaterMark: HIGH_WATER_BYTES });
  }

  override _read(): void {
    if (this.blockedAt >= 0) {
      this.origin += now() - this.blockedAt;
      this.blockedAt = -1;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.destroyed) return;
    if (this.next >= this.pieces.length) {
      this.push(null);
      return;
    }
    const wait = this.origin + (this.times[this.next] ?? 0) - now();
    if (wait <= 0) this.pushDue();
    else this.timer = setTimeout(this.onTimer, wait);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pushDue();
  };

  /** Pushes every piece whose time has come (timers fire late, never early), then waits for the next. */
  private pushDue(): void {
    const at = now();
    while (this.next < this.pieces.length && this.origin + (this.times[this.next] ?? 0) <= at + 0.5) {
      const piece = this.pieces[this.next++]!;
      if (!this.push(piece)) {
        this.blockedAt = at;
        return;
      }
    }
    this.schedule();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    callback(err);
  }
}
