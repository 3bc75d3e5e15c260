import type { HostEvent } from '../../../app/contract.js';

/**
 * Host events waiting to be applied, kept as the batches they came in and taken from the front a
 * slice at a time. A replay of a long capture queues a million events or more: splicing a slice
 * off the front of one array moved every event behind it on every frame, and copying each
 * batch's events into that array cost as much again.
 */
export class EventQueue {
  private batches: (readonly HostEvent[])[] = [];
  /** The first batch not yet used up, and how far into it. */
  private head = 0;
  private at = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(events: readonly HostEvent[]): void {
    if (events.length === 0) return;
    this.batches.push(events);
    this.count += events.length;
  }

  /** Hands up to `max` events, oldest first, to `apply`; returns the last one handed, if any. */
  drain(max: number, apply: (event: HostEvent) => void): HostEvent | undefined {
    let last: HostEvent | undefined;
    let left = Math.min(max, this.count);
    while (left > 0) {
      const batch = this.batches[this.head]!;
      const end = Math.min(batch.length, this.at + left);
      for (let i = this.at; i < end; i++) apply((last = batch[i]!));
      left -= end - this.at;
      this.count -= end - this.at;
      this.at = end;
      if (this.at === batch.length) {
        this.head++;
        this.at = 0;
      }
    }
    // Drop used-up batches now and then, not on every slice.
    if (this.head > 64 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
    return last;
  }

  clear(): void {
    this.batches = [];
    this.head = 0;
    this.at = 0;
    this.count = 0;
  }
}
