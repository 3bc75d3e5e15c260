/**
 * Fixed-row-height list virtualisation, as pure arithmetic so it can be tested without a DOM and
 * reused by any long list. Only the rows in view (plus a margin) are rendered; a spacer of the
 * full height keeps the scrollbar honest. Browsers cap an element's height (about 17 million px
 * in Firefox, 33 million in Chromium), which at 24 px rows is some 700,000 rows.
 */

export interface VisibleWindow {
  /** First row to render. */
  readonly start: number;
  /** One past the last row to render. */
  readonly end: number;
  /** Where row `start` sits from the top of the list, in px. */
  readonly offsetTop: number;
  /** Height of all rows together, in px. */
  readonly totalHeight: number;
}

/**
 * The rows to render for a viewport scrolled to `scrollTop`, with `overscan` extra rows on each
 * side so a fast scroll does not show blank space before the next render.
 */
export function visibleWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 0,
): VisibleWindow {
  const rows = Math.max(0, Math.floor(count));
  if (rowHeight <= 0 || rows === 0) return { start: 0, end: 0, offsetTop: 0, totalHeight: 0 };
  const totalHeight = rows * rowHeight;
  // Elastic overscroll (macOS) reports a negative or too-large scrollTop; clamp to the list.
  const top = clamp(scrollTop, 0, Math.max(0, totalHeight - viewportHeight));
  const firstVisible = Math.floor(top / rowHeight);
  const lastVisible = Math.ceil((top + Math.max(0, viewportHeight)) / rowHeight);
  const start = clamp(firstVisible - overscan, 0, rows);
  const end = clamp(Math.max(lastVisible, firstVisible + 1) + overscan, start, rows);
  return { start, end, offsetTop: start * rowHeight, totalHeight };
}

/**
 * The scrollTop that brings row `index` fully into view with the least movement, or undefined
 * when it already is (keyboard navigation should not jump the list about).
 */
export function scrollToReveal(
  index: number,
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
): number | undefined {
  const rowTop = index * rowHeight;
  const rowBottom = rowTop + rowHeight;
  if (rowTop < scrollTop) return rowTop;
  if (rowBottom > scrollTop + viewportHeight) return Math.max(0, rowBottom - viewportHeight);
  return undefined;
}

/**
 * Whether a scroll container is at its bottom. The tolerance absorbs fractional scroll positions
 * on zoomed or high-DPI displays, which rarely land exactly on the end.
 */
export function isAtBottom(scrollTop: number, viewportHeight: number, scrollHeight: number, tolerance = 2): boolean {
  return scrollTop + viewportHeight >= scrollHeight - tolerance;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
