/**
 * Columns of a live table that fit their widest value, so a figure or a name that tells rows apart
 * ("100.6 ms", `content_block_delta`) is never cut while the pane has room. Rows are separate grids
 * (virtualisation renders only the rows in view), so `auto` tracks cannot agree across rows; the
 * table measures the cells it rendered instead and widens a column to the widest seen. Pure here.
 */

/** One column: either fitted to its content, never narrower than `least`, or a fixed CSS track. */
export type LiveColumn =
  | {
      /** The width before anything was measured, and the least the column shrinks to when space runs out. */
      readonly least: string;
      /** A CSS width the column never grows past, for names that can be arbitrarily long. */
      readonly most?: string;
    }
  | { readonly track: string };

/**
 * The grid template for `columns` given the widest cell seen in each (px; 0 when none yet). A
 * fitted track is `minmax(least, fitted)`: the grid grows it to fit before a `1fr` track takes what
 * is left, and shrinks it back to `least` only when the pane is too narrow for everything.
 */
export function columnTemplate(columns: readonly LiveColumn[], widths: readonly number[]): string {
  return columns
    .map((column, i) => {
      if ('track' in column) return column.track;
      const width = widths[i] ?? 0;
      if (width <= 0) return column.least;
      const fitted = `max(${column.least}, ${Math.ceil(width)}px)`;
      return `minmax(${column.least}, ${column.most ? `min(${column.most}, ${fitted})` : fitted})`;
    })
    .join(' ');
}

/**
 * The widths after seeing more cells: each fitted column's widest so far, never shrinking (a column
 * that narrowed as wide values scroll away would make the others jump). Returns `widths` itself
 * when nothing grew, so a caller can skip a render.
 */
export function widenColumns(
  columns: readonly LiveColumn[],
  widths: readonly number[],
  seen: readonly (readonly number[])[],
): readonly number[] {
  let grown: number[] | undefined;
  for (const row of seen) {
    columns.forEach((column, i) => {
      if ('track' in column) return;
      const width = row[i] ?? 0;
      if (width > ((grown ?? widths)[i] ?? 0)) {
        grown ??= [...widths];
        grown[i] = width;
      }
    });
  }
  return grown ?? widths;
}
