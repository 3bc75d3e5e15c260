import type { Http2Session } from 'node:http2';
import { H2_STREAM_WINDOW } from './h2-settings.js';

/**
 * What all of one session's streams together may have sent to the proxy and not yet taken out of
 * it. Node hands the connection window back as DATA arrives, so only the streams' windows bound
 * what paused streams hold: a hundred streams to slow readers would otherwise leave a hundred
 * stream windows (100 MiB) waiting in the proxy.
 */
export const H2_SESSION_WINDOW_BUDGET = 32 << 20;

/** The least window a stream is given however many share the budget: four full DATA frames. */
export const H2_MIN_STREAM_WINDOW = 64 << 10;

/**
 * Counts a session's open streams and shares its budget among them through its
 * SETTINGS_INITIAL_WINDOW_SIZE, which the peer applies to every stream, open ones included (a
 * window may go below zero: the peer waits). Up to 32 streams keep H2_STREAM_WINDOW; past that
 * the window halves as streams double, and doubles back once the streams would fill at most half
 * the budget with it, so a count that wavers around a step does not send SETTINGS on every open
 * and close.
 */
export class StreamWindowBudget {
  private open = 0;
  private window = H2_STREAM_WINDOW;

  constructor(private readonly session: Http2Session) {}

  /** Streams open on the session now. */
  get count(): number {
    return this.open;
  }

  /** The stream window the session offers now. */
  get streamWindow(): number {
    return this.window;
  }

  opened(): void {
    this.open += 1;
    this.adjust();
  }

  closed(): void {
    this.open -= 1;
    this.adjust();
  }

  private adjust(): void {
    let next = this.window;
    while (next > H2_MIN_STREAM_WINDOW && this.open * next > H2_SESSION_WINDOW_BUDGET) next /= 2;
    while (next < H2_STREAM_WINDOW && this.open * next * 2 <= H2_SESSION_WINDOW_BUDGET / 2) next *= 2;
    if (next === this.window) return;
    const { session } = this;
    if (session.closed || session.destroyed) return;
    try {
      session.settings({ initialWindowSize: next });
      this.window = next;
    } catch {
      // Too many SETTINGS not yet acknowledged (a peer that does not answer them): the window
      // stays as it is and the next open or close tries again.
    }
  }
}
