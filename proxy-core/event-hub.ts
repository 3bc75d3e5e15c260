import type { ProxyEvent } from '../app/proxy-events.js';

export type ProxyEventListener = (event: ProxyEvent) => void;

/**
 * Delivers core events synchronously to whoever listens, and to nobody otherwise: no queue
 * exists, so an unobserved proxy cannot accumulate events. Callers check `active` before
 * building an event, so announcing costs nothing when nobody listens.
 */
export class EventHub {
  private listeners: readonly ProxyEventListener[] = [];
  private flushFirst: () => void = () => undefined;

  get active(): boolean {
    return this.listeners.length > 0;
  }

  subscribe(listener: ProxyEventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Work `emit` runs before each event: the recorder's deferred chunks, so an event never reaches
   * a listener ahead of the chunks that came before it.
   */
  flushBeforeEmit(flush: () => void): void {
    this.flushFirst = flush;
  }

  emit(event: ProxyEvent): void {
    this.flushFirst();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A faulty observer must never break forwarding; report it once per throw and go on.
        process.emitWarning(`sluice: event listener threw: ${String(err)}`);
      }
    }
  }
}
