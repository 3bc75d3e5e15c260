/**
 * Filtering the rows of a live table (stream events, WebSocket messages) without re-reading a
 * long stream on every update: the matching row indices are kept, and a growing stream only has
 * its new rows tested. Pure, so it is tested without a DOM.
 */

/** What the user asked a table for. */
export interface RowQuery {
  /** Text to find, case-insensitively; '' finds everything. */
  readonly text: string;
  /** The table's own choice (a direction, an event name), as the table encodes it; '' is none. */
  readonly choice: string;
}

export const NO_QUERY: RowQuery = { text: '', choice: '' };

export function isFiltering(query: RowQuery): boolean {
  return query.text !== '' || query.choice !== '';
}

/** Whether `value` holds `text`, ignoring case. */
export type TextTest = (value: string | undefined) => boolean;

/**
 * A case-insensitive substring test for `text`. A regular expression of the escaped text rather
 * than `toLowerCase().includes()`: it copies no string per row, which counts over 100,000 rows.
 */
export function textTest(text: string): TextTest {
  if (text === '') return () => true;
  const pattern = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  return (value) => value !== undefined && pattern.test(value);
}

/**
 * Whether every row `query` passes was passed by `earlier` too (the same choice, and more text
 * around the earlier text, as while typing), so only the earlier matches need testing again.
 */
export function narrows(query: RowQuery, earlier: RowQuery): boolean {
  return query.choice === earlier.choice && textTest(earlier.text)(query.text);
}

/**
 * Rows matching a query: row indices in stream order, growing in place like the rows (pass their
 * count along), or undefined when nothing is filtered.
 */
export type RowIndices = readonly number[] | undefined;

/**
 * The indices of the rows passing a query, kept between calls. `sync` with the same growing
 * array and query tests only the rows added since; a query that narrows the last one tests only
 * its matches; anything else (another array, fewer rows, another `generation`) starts over.
 */
export class RowIndexFilter<Row> {
  private rows: readonly Row[] | undefined;
  private query: RowQuery = NO_QUERY;
  private generation: unknown = 0;
  /** Rows tested so far, from the start of `rows`. */
  private scanned = 0;
  private matches: number[] = [];

  /**
   * The indices of `rows` passing `test`, which must be `query`'s test. `generation` (compared by
   * identity) changes when the rows were replaced in place (the oldest dropped), which their count
   * alone cannot tell, or when what a row reads as changed (a schema arrived for its messages).
   */
  sync(rows: readonly Row[], query: RowQuery, test: (row: Row) => boolean, generation: unknown = 0): RowIndices {
    if (!isFiltering(query)) {
      this.forget();
      return undefined;
    }
    if (!this.canGoOn(rows, query, generation)) this.forget();
    else if (!sameQuery(query, this.query)) this.matches = this.matches.filter((index) => test(rows[index]!));
    this.rows = rows;
    this.query = query;
    this.generation = generation;
    for (let i = this.scanned; i < rows.length; i++) {
      if (test(rows[i]!)) this.matches.push(i);
    }
    this.scanned = rows.length;
    return this.matches;
  }

  /** Whether the matches so far still hold: the same rows, grown only, and the same or a narrower query. */
  private canGoOn(rows: readonly Row[], query: RowQuery, generation: unknown): boolean {
    return (
      rows === this.rows &&
      generation === this.generation &&
      rows.length >= this.scanned &&
      (sameQuery(query, this.query) || narrows(query, this.query))
    );
  }

  private forget(): void {
    this.rows = undefined;
    this.query = NO_QUERY;
    this.scanned = 0;
    this.matches = [];
  }
}

function sameQuery(a: RowQuery, b: RowQuery): boolean {
  return a.text === b.text && a.choice === b.choice;
}

/** The row shown at table position `position`. */
export function rowAt(indices: RowIndices, position: number): number {
  return indices === undefined ? position : (indices[position] ?? -1);
}

/** The table position of row `row`, or undefined when the filter hides it (binary search). */
export function positionOf(indices: RowIndices, row: number | undefined): number | undefined {
  if (indices === undefined || row === undefined) return row;
  let low = 0;
  let high = indices.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const value = indices[mid]!;
    if (value === row) return mid;
    if (value < row) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}

/** What a live table needs of its selection: in rows of the stream, or in positions of the table. */
export interface TableSelection {
  readonly count: number;
  readonly selected: number | undefined;
  readonly onSelect: (index: number, expanded: boolean) => void;
}

/**
 * A selection in stream rows as the table sees it through a filter: its positions are the
 * filtered rows, and picking one picks the row behind it. A selected row the filter hides shows
 * as none.
 */
export function selectionThrough(indices: RowIndices, rows: TableSelection): TableSelection {
  if (indices === undefined) return rows;
  return {
    count: indices.length,
    selected: positionOf(indices, rows.selected),
    onSelect: (position, expanded) => rows.onSelect(rowAt(indices, position), expanded),
  };
}
