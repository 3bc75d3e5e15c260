import type { Writable } from 'node:stream';
import type { EventsDroppedEvent } from '../../app/host-events.js';
import type { ProxyEvent } from '../../app/proxy-events.js';
import { now } from '../../proxy-core/index.js';

/** Past this many unwritten bytes the reader is too slow: drop events, never the proxy's pace. */
const MAX_BACKLOG = 8 << 20;

/**
 * Writes events as JSON lines. A slow reader costs it events, counted and reported with an
 * `events-dropped` line once the pipe drains; it never blocks or grows without bound.
 */
export class NdjsonWriter {
  private dropped = 0;
  private waiting = false;

  constructor(private readonly out: Writable) {}

  readonly write = (event: ProxyEvent | EventsDroppedEvent): void => {
    if (this.out.writableLength > MAX_BACKLOG) {
      this.dropped++;
      if (!this.waiting) {
        this.waiting = true;
        this.out.once('drain', this.onDrain);
      }
      return;
    }
    this.out.write(`${JSON.stringify(event)}\n`);
  };

  private readonly onDrain = (): void => {
    this.waiting = false;
    const count = this.dropped;
    this.dropped = 0;
    if (count > 0) this.write({ type: 'events-dropped', t: now(), count });
  };
}
