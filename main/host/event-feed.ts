import type { EventBatch, HostEvent } from '../../app/contract.js';
import { WINDOW_MAX_EXCHANGES } from '../../app/contract.js';
import type { CaptureArchive } from './capture-archive.js';
import { EventBatcher } from './event-batcher.js';

export type HostListener = (event: HostEvent) => void;

/** One window or tab receiving batches: how to hand it a batch, and whether it can take one now. */
export interface FeedConsumer {
  readonly send: (batch: EventBatch) => void;
  readonly ready?: () => boolean;
}

/**
 * Where everything the host says goes: into the archive first (so a window that opens later is
 * told too), then to every listener, and to renderers in batches per frame.
 */
export class EventFeed {
  private readonly listeners = new Set<HostListener>();

  constructor(private readonly archive: Pick<CaptureArchive, 'append' | 'history'>) {}

  emit(event: HostEvent): void {
    const added = this.archive.append(event);
    this.deliver(event);
    if (added) this.deliver(added);
  }

  private deliver(event: HostEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // One broken consumer (a tab, a window) must not starve the others or the proxy.
        process.emitWarning(`sluice: host listener threw: ${String(err)}`);
      }
    }
  }

  subscribe(listener: HostListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts feeding one renderer: first what the archive holds (so a late window or a reloaded tab
   * sees the capture so far), then live events, batched per frame. Returns the function that stops it.
   */
  open(consumer: FeedConsumer): () => void {
    const batcher = new EventBatcher(consumer);
    batcher.prime(this.archive.history({ newest: WINDOW_MAX_EXCHANGES, held: true }));
    const unsubscribe = this.subscribe((event) => batcher.push(event));
    return () => {
      unsubscribe();
      batcher.close();
    };
  }

  /** Lets every listener go: the host is closing. */
  close(): void {
    this.listeners.clear();
  }
}
