import { textTest, type RowQuery } from '../live-table/row-filter.js';
import type { StreamEventRow } from './stream-events.js';

/**
 * The events table's filter: text in an event's name, id or data (an NDJSON line is all data),
 * and optionally one event name, chosen from the names seen so far.
 */

/** The query's `choice` for events named `name`; an event without a name has its own choice. */
export function nameChoice(name: string | undefined): string {
  return `=${name ?? ''}`;
}

/** The test for `query` on one event. */
export function eventTest(query: RowQuery): (row: StreamEventRow) => boolean {
  const hasText = textTest(query.text);
  const { choice } = query;
  return (row) =>
    (choice === '' || nameChoice(row.event) === choice) &&
    (hasText(row.data) || hasText(row.event) || hasText(row.eventId));
}

/** One event name and how many events carry it; `name` undefined for events without one. */
export interface EventName {
  readonly name: string | undefined;
  readonly count: number;
}

/**
 * Past this many names, names are not categories (a server naming each event afresh) and a list
 * of them would help nobody; the text filter still finds them.
 */
export const MOST_NAMES = 50;

/**
 * The event names of a growing stream in the order they first came, with counts, reading only
 * the rows added since the last `sync` (another array starts over). Undefined once there are
 * more than `MOST_NAMES`.
 */
export class EventNames {
  private rows: readonly StreamEventRow[] | undefined;
  private scanned = 0;
  private counts = new Map<string | undefined, number>();
  private tooMany = false;

  sync(rows: readonly StreamEventRow[]): readonly EventName[] | undefined {
    if (rows !== this.rows || rows.length < this.scanned) this.restart(rows);
    for (let i = this.scanned; i < rows.length && !this.tooMany; i++) {
      // An empty `event:` field names nothing either, as for the browser's EventSource.
      const name = rows[i]!.event || undefined;
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      this.tooMany = this.counts.size > MOST_NAMES;
    }
    this.scanned = rows.length;
    if (this.tooMany) return undefined;
    return [...this.counts].map(([name, count]) => ({ name, count }));
  }

  private restart(rows: readonly StreamEventRow[]): void {
    this.rows = rows;
    this.scanned = 0;
    this.counts = new Map();
    this.tooMany = false;
  }
}
