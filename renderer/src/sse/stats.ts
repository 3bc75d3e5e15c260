import { formatCount, formatDuration } from '../format.js';
import { formatRate, plural } from './sse-format.js';
import type { StreamEventRow } from './stream-events.js';

/** Rows only need their time here; `t` is non-decreasing along the stream. */
type Timed = Pick<StreamEventRow, 't'>;

export interface StreamStats {
  readonly count: number;
  /** ms from the request's start to the first event. */
  readonly firstFromRequest: number | undefined;
  /** ms from the response head to the first event: the server's own think time. */
  readonly firstFromResponse: number | undefined;
  /** Events per second between the first and the last event. */
  readonly overallRate: number | undefined;
  /** Events per second over the last `windowMs` before `now`; only while live. */
  readonly recentRate: number | undefined;
}

export interface StatsTimes {
  /** When the exchange opened (`opened.t`). */
  readonly requestStart: number;
  /** When the response head arrived (`response.t`), if it has. */
  readonly responseStart?: number | undefined;
  /** The proxy clock's "now", when the stream is live; leave out once it closed. */
  readonly now?: number | undefined;
  /** Width of the recent-rate window. */
  readonly windowMs?: number;
}

export const RECENT_WINDOW_MS = 5000;

/** Rows dropped from the front of a long stream: how many, and the stream's first. */
export interface DroppedRows {
  readonly count: number;
  readonly first: Timed | undefined;
}

/**
 * Summary numbers for a stream. Cost does not grow with the stream (a binary search at most), so
 * it can run on every live update of a 100,000-event stream.
 */
export function streamStats(rows: readonly Timed[], times: StatsTimes, dropped?: DroppedRows): StreamStats {
  const count = rows.length + (dropped?.count ?? 0);
  const first = dropped && dropped.count > 0 ? dropped.first : rows[0];
  const last = rows[rows.length - 1];
  return {
    count,
    firstFromRequest: first ? first.t - times.requestStart : undefined,
    firstFromResponse: first && times.responseStart !== undefined ? first.t - times.responseStart : undefined,
    overallRate: first && last ? rate(count - 1, last.t - first.t) : undefined,
    recentRate: times.now === undefined ? undefined : recentRate(rows, times),
  };
}

/**
 * Events in the window before `now`, per second. Until the window is full it starts at the first
 * event and counts the intervals after it, so neither the wait for the first event nor the first
 * event itself skews the rate of a stream that has only just begun.
 */
function recentRate(rows: readonly Timed[], times: StatsTimes): number | undefined {
  const now = times.now!;
  const windowStart = now - (times.windowMs ?? RECENT_WINDOW_MS);
  const first = rows[0];
  if (!first) return undefined;
  // One event alone has no rate yet; `rate` says so.
  if (first.t >= windowStart) return rate(rows.length - 1, now - first.t);
  return ((rows.length - firstIndexAfter(rows, windowStart)) * 1000) / (now - windowStart);
}

/** `intervals` events apart over `ms`, per second; undefined when there is no span to divide by. */
function rate(intervals: number, ms: number): number | undefined {
  return intervals > 0 && ms > 0 ? (intervals * 1000) / ms : undefined;
}

/** Index of the first row with `t > time` (rows.length when none): binary search. */
export function firstIndexAfter(rows: readonly Timed[], time: number): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (rows[mid]!.t > time) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** ms since the previous event; undefined for the first. */
export function gapBefore(rows: readonly Timed[], index: number): number | undefined {
  const row = rows[index];
  const previous = rows[index - 1];
  return row && previous ? row.t - previous.t : undefined;
}

export interface StatsContext {
  readonly live: boolean;
  readonly retryMs?: number | undefined;
  /** Events the table's filter lets through; undefined while it filters nothing. */
  readonly shown?: number | undefined;
  /** The oldest events no longer kept in the page (a long stream); counted in `stats.count`. */
  readonly dropped?: number | undefined;
}

/**
 * The stats line: "N events · first event after X (Y after response headers) · Z events/s",
 * plus the recent rate while the stream is live; "S of N events" while a filter is on.
 */
export function describeStats(stats: StreamStats, context: StatsContext): string {
  const total = plural(stats.count, 'event');
  const parts = [context.shown === undefined ? total : `${formatCount(context.shown)} of ${total}`];
  if (stats.firstFromRequest !== undefined) {
    const afterHead =
      stats.firstFromResponse === undefined
        ? ''
        : ` (${formatDuration(stats.firstFromResponse)} after response headers)`;
    parts.push(`first event after ${formatDuration(stats.firstFromRequest)}${afterHead}`);
  } else if (context.live) {
    parts.push('waiting for the first event');
  }
  if (stats.overallRate !== undefined) parts.push(`${formatRate(stats.overallRate)} events/s`);
  if (context.live && stats.recentRate !== undefined) {
    parts.push(`${formatRate(stats.recentRate)}/s in the last ${RECENT_WINDOW_MS / 1000} s`);
  }
  if (context.retryMs !== undefined) parts.push(`retry ${formatDuration(context.retryMs)}`);
  if (context.dropped) parts.push(`${formatCount(context.dropped)} older not shown`);
  return parts.join(' · ');
}
