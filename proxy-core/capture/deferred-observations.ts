import { errorMessage } from '../../app/error-message.js';
import type { FlushedChunk } from './recorder.js';

/** Whatever looks at a flushed chunk once the forwarding of this turn is done. */
export interface ChunkObserver {
  observe(chunk: FlushedChunk): void;
}

/**
 * Chunks whose observing (their chunk event, the body copy, SSE, WebSocket and RPC parsing) waits
 * until the I/O callbacks of this turn of the event loop have run, then happens in order. When a
 * thousand streams each get an event at once, every one of them is forwarded first and recorded
 * after, so the last stream's event is not held back by the bookkeeping of the 999 before it
 * (measured: recording is a quarter to a third of what an SSE event costs the proxy).
 *
 * Anything that could see the difference drains the queue first: every event the hub emits (so
 * the event stream keeps its order), every other call on a capture (a head, trailers, the end) and
 * every read of a body copy.
 */
export class DeferredObservations {
  private readonly observers: ChunkObserver[] = [];
  private readonly chunks: FlushedChunk[] = [];
  private scheduled = false;
  private draining = false;

  private readonly onImmediate = (): void => {
    this.scheduled = false;
    this.drain();
  };

  get size(): number {
    return this.chunks.length;
  }

  defer(observer: ChunkObserver, chunk: FlushedChunk): void {
    this.observers.push(observer);
    this.chunks.push(chunk);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onImmediate);
    }
  }

  /** Observes everything waiting, oldest first; a call made while draining (an event it emits) returns at once. */
  drain(): void {
    if (this.draining || this.chunks.length === 0) return;
    this.draining = true;
    try {
      // The length is read on every pass: observing never forwards, but anything deferred meanwhile
      // still goes in order.
      for (let i = 0; i < this.chunks.length; i++) {
        try {
          this.observers[i]!.observe(this.chunks[i]!);
        } catch (err) {
          // A fault in the observe path costs that chunk's record, never the chunks after it.
          process.emitWarning(`sluice: recording a chunk failed: ${errorMessage(err)}`);
        }
      }
    } finally {
      this.observers.length = 0;
      this.chunks.length = 0;
      this.draining = false;
    }
  }
}
