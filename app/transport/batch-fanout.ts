import type { EventBatch } from '../contract.js';

export interface BatchFanoutOptions {
  /** Called once a batch has been handed to the listeners: the port bridge's receipt. */
  readonly onDelivered?: (batch: EventBatch) => void;
  /** Most batches held while nobody listens; past it they are dropped and `onStale` tells the transport. */
  readonly maxHeld?: number;
  /** The first listener after held batches were dropped gets nothing to start from: the transport should open a new feed. */
  readonly onStale?: () => void;
}

const DEFAULT_MAX_HELD = 512;

/**
 * Hands each batch to every listener. A feed's first batch (seq 0, the replay of everything so far)
 * may arrive before the page has subscribed, so until the first listener comes batches are held
 * rather than lost, and the receipt fires only once they are handed over.
 */
export class BatchFanout {
  private readonly listeners = new Set<(batch: EventBatch) => void>();
  private held: EventBatch[] = [];
  private stale = false;
  private readonly maxHeld: number;

  constructor(private readonly options: BatchFanoutOptions = {}) {
    this.maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD;
  }

  /** Forgets held batches: they belong to a feed that has ended. */
  reset(): void {
    this.held = [];
    this.stale = false;
  }

  deliver(batch: EventBatch): void {
    if (this.listeners.size > 0) return this.handOver(batch);
    if (this.stale) return;
    if (this.held.length >= this.maxHeld) {
      // A gap in the middle would leave the first listener with a capture it cannot trust.
      this.held = [];
      this.stale = true;
      return;
    }
    this.held.push(batch);
  }

  add(listener: (batch: EventBatch) => void): () => void {
    const first = this.listeners.size === 0;
    this.listeners.add(listener);
    if (first && this.stale) {
      this.stale = false;
      this.options.onStale?.();
    }
    const held = this.held;
    this.held = [];
    for (const batch of held) this.handOver(batch);
    return () => this.listeners.delete(listener);
  }

  private handOver(batch: EventBatch): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(batch);
      } catch (err) {
        // One broken view must not starve the others, nor hold back the receipt.
        console.error('sluice: a batch listener threw', err);
      }
    }
    this.options.onDelivered?.(batch);
  }
}
