/** Notices from whatever carries core events onward (CLI, host), about the carrying itself. */

/** Events were dropped because the consumer (a pipe, a renderer) did not keep up. */
export interface EventsDroppedEvent {
  readonly type: 'events-dropped';
  /** Monotonic ms, same clock as the core's events. */
  readonly t: number;
  readonly count: number;
}
