import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { columnTemplate, widenColumns, type LiveColumn } from './column-fit.js';

/** Fitted columns: the grid template, and a way for a row that renders on its own to be measured. */
export interface ColumnFit {
  /** The grid template, fitted columns as wide as their widest cell so far. */
  readonly template: string;
  /**
   * Measures one row; call it from the row's layout effect when the row re-renders without the
   * table (a memoised row whose values changed), so a value that grew is never shown cut.
   */
  readonly fitRow: (row: HTMLElement) => void;
}

/**
 * The grid template of a live table whose fitted columns grow to the widest cell rendered so far
 * (see `column-fit.ts`). Measures after every render, before paint, so a value is never shown cut
 * for a frame; the rows in view are a few dozen, so this costs little next to the layout itself.
 */
export function useFittedColumns(gridRef: RefObject<HTMLElement | null>, columns: readonly LiveColumn[]): string {
  return useColumnFit(gridRef, columns, '[role="row"]').template;
}

/**
 * As `useFittedColumns`, measuring the elements under `gridRef` that match `rows` (each a row of
 * cells in column order) after every render of the table, and any row handed to `fitRow`.
 * `columns` should be a constant (or memoised): `fitRow` changes with it, and memoised rows that
 * take it would render again.
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

  const learn = useCallback(
    (measured: readonly HTMLElement[]) => {
      const range = document.createRange();
      const seen = measured.map((row) => neededWidths(row, columns, range));
      const grown = widenColumns(columns, learnt.current, seen);
      if (grown === learnt.current) return;
      learnt.current = grown;
      setWidths(grown);
    },
    [columns],
  );

  useLayoutEffect(() => {
    const grid = gridRef.current;
    // A hidden table (another tab shows) lays nothing out: nothing to learn from it.
    if (!grid || grid.clientWidth === 0) return;
    learn([...grid.querySelectorAll<HTMLElement>(rows)]);
  });

  const fitRow = useCallback(
    (row: HTMLElement) => {
      if (row.clientWidth > 0) learn([row]);
    },
    [learn],
  );

  return { template: columnTemplate(columns, widths), fitRow };
}

/** The width each fitted cell of `row` needs to show its text whole, padding included; 0 for the others. */
function neededWidths(row: HTMLElement, columns: readonly LiveColumn[], range: Range): number[] {
  return columns.map((column, i) => {
    const cell = row.children[i];
    if ('track' in column || !(cell instanceof HTMLElement) || !cell.textContent) return 0;
    // The text's own width, in fractions of a pixel: `scrollWidth` rounds, and a text 0.4 px too
    // wide for its cell still gets an ellipsis.
    range.selectNodeContents(cell);
    const style = getComputedStyle(cell);
    return range.getBoundingClientRect().width + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  });
}
