import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { flushSync } from 'react-dom';
import { CellWidths } from './cell-widths.js';
import { columnTemplate, widenColumns, type LiveColumn } from './column-fit.js';

/** Fitted columns: the grid template, and a way for a row that renders on its own to be measured. */
export interface ColumnFit {
  /** The grid template, fitted columns as wide as their widest cell so far. */
  readonly template: string;
  /**
   * Measures one row before the browser paints it; call it from the row's layout effect when the
   * row re-renders without the table (a memoised row whose values changed), so a value that grew
   * is never shown cut.
   */
  readonly fitRow: (row: HTMLElement) => void;
}

/**
 * The grid template of a live table whose fitted columns grow to the widest cell rendered so far
 * (see `column-fit.ts`). Measures after every render, before paint, so a value is never shown cut
 * for a frame.
 */
export function useFittedColumns(gridRef: RefObject<HTMLElement | null>, columns: readonly LiveColumn[]): string {
  return useColumnFit(gridRef, columns, '[role="row"]').template;
}

/**
 * As `useFittedColumns`, measuring the elements under `gridRef` that match `rows` (each a row of
 * cells in column order) after every render of the table, and any row handed to `fitRow`.
 * `columns` should be a constant (or memoised): `fitRow` changes with it, and memoised rows that
 * take it would render again.
 *
 * Rows are not measured as they are handed in but together once the task's rendering is done
 * (a microtask, which runs before the browser paints): one pass of reads over every row that
 * rendered, then at most one write, so no read ever waits for a layout that a write before it
 * made stale. The reads need the page laid out: that is the layout the frame would do anyway, done
 * early, and a column that grew costs a second one.
 */
export function useColumnFit(
  gridRef: RefObject<HTMLElement | null>,
  columns: readonly LiveColumn[],
  rows: string,
): ColumnFit {
  const [widths, setWidths] = useState<readonly number[]>([]);
  // Rows measure themselves on every update of their exchange: asking React to render the table
  // only when a column grew keeps a busy list from rendering twice per frame.
  const learnt = useRef(widths);
  const cells = useRef<CellWidths>(undefined);
  const queued = useRef(new Set<HTMLElement>());
  const scheduled = useRef(false);

  const measureQueued = useCallback(() => {
    scheduled.current = false;
    const measured = [...queued.current];
    queued.current.clear();
    const grid = gridRef.current;
    // A hidden table (another tab shows) lays nothing out: nothing to learn from it.
    if (!grid || grid.clientWidth === 0) return;
    cells.current ??= new CellWidths();
    const reader = cells.current;
    const seen = measured.filter((row) => row.isConnected).map((row) => reader.needed(row, columns));
    const grown = widenColumns(columns, learnt.current, seen);
    if (grown === learnt.current) return;
    learnt.current = grown;
    // Outside a render a state update would wait for a task of its own, after this frame's paint.
    flushSync(() => setWidths(grown));
  }, [gridRef, columns]);

  const fitRow = useCallback(
    (row: HTMLElement) => {
      queued.current.add(row);
      if (scheduled.current) return;
      scheduled.current = true;
      queueMicrotask(measureQueued);
    },
    [measureQueued],
  );

  useLayoutEffect(() => {
    const grid = gridRef.current;
    if (!grid) return;
    for (const row of grid.querySelectorAll<HTMLElement>(rows)) fitRow(row);
  });

  return { template: columnTemplate(columns, widths), fitRow };
}
