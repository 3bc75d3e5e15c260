/** Notices from whatever carries core events onward (CLI, host), about the carrying itself. */

/** Events were dropped because the consumer (a pipe, a renderer) did not keep up. */
export interface EventsDroppedEvent {
  readonly type: 'events-dropped';
  /** Monotonic ms, same clock as the core's events. */
  readonly t: number;
  readonly count: number;
}

/**
 * A stored exchange replayed to a window in short, sent right after its `exchange-opened`: its
 * heads, ending, status and capture limits came, but of each body at most three chunk events
 * (the first, the rest up to the last merged, the last: bytes and spread stay true) and none of
 * its parsed messages (SSE events, WebSocket and RPC messages) or backpressure pauses. A long
 * capture's replay is then a few events an exchange, however much each streamed; the window asks
 * `exchange.events` for the rest when the exchange is shown.
 */
export interface ExchangeHeldEvent {
  readonly type: 'exchange-held';
  readonly t: number;
  readonly id: number;
  /** Events left out or merged away. */
  readonly held: number;
  /** RPC messages (frames that were messages) each way, for the list, which counts a call with more than one as a stream. */
  readonly rpcMessages: { readonly request: number; readonly response: number };
}
