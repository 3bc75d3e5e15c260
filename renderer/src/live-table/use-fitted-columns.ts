import { useLayoutEffect, useState, type RefObject } from 'react';
import { columnTemplate, widenColumns, type LiveColumn } from './column-fit.js';

/**
 * The grid template of a live table whose fitted columns grow to the widest cell rendered so far
 * (see `column-fit.ts`). Measures after every render, before paint, so a value is never shown cut
 * for a frame; the rows in view are a few dozen, so this costs little next to the layout itself.
 */
export function useFittedColumns(gridRef: RefObject<HTMLElement | null>, columns: readonly LiveColumn[]): string {
  const [widths, setWidths] = useState<readonly number[]>([]);

  useLayoutEffect(() => {
    const grid = gridRef.current;
    // A hidden table (another tab shows) lays nothing out: nothing to learn from it.
    if (!grid || grid.clientWidth === 0) return;
    const rows = [...grid.querySelectorAll<HTMLElement>('[role="row"]')];
    const range = document.createRange();
    const seen = rows.map((row) => neededWidths(row, columns, range));
    setWidths((current) => widenColumns(columns, current, seen));
  });

  return columnTemplate(columns, widths);
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
