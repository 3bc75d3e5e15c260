import { useDeferredValue, useMemo, useState } from 'react';
import { RowIndexFilter, type RowIndices, type RowQuery } from './row-filter.js';

/**
 * The rows of a live table passing `query` (see `RowIndexFilter`), kept up to date as the rows
 * grow in place at the cost of the new rows only. `count` stands in for the rows' identity, as in
 * the tables; `generation` (compared by identity) changes when rows were dropped from the front,
 * or when what a row reads as changed. The query is deferred,
 * so typing stays quick while a long stream is filtered anew.
 */
export function useRowFilter<Row>(
  rows: readonly Row[],
  count: number,
  query: RowQuery,
  /** Module-level (or memoised with `generation`), so the test is made again only when the query changes. */
  testFor: (query: RowQuery) => (row: Row) => boolean,
  generation: unknown = 0,
): RowIndices {
  const deferred = useDeferredValue(query);
  const [filter] = useState(() => new RowIndexFilter<Row>());
  const test = useMemo(() => testFor(deferred), [testFor, deferred]);
  return useMemo(
    () => filter.sync(rows, deferred, test, generation),
    [filter, rows, count, deferred, test, generation],
  );
}
