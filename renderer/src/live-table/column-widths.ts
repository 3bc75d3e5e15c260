/** Widths the user gave a table's columns by dragging, kept between visits (see `use-column-widths.ts`). Pure. */

/** Narrower than this a column cannot be read, nor its grip found again. */
export const MIN_COLUMN_PX = 24;
const MAX_COLUMN_PX = 2000;

export type ColumnWidths = Readonly<Record<string, number>>;

/** The stored widths, each within bounds; a missing or broken value gives none. */
export function readColumnWidths(stored: string | null): ColumnWidths {
  if (stored === null) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const widths: Record<string, number> = {};
  for (const [column, px] of Object.entries(parsed)) {
    if (typeof px === 'number' && Number.isFinite(px)) widths[column] = clampColumn(px);
  }
  return widths;
}

export function clampColumn(px: number): number {
  return Math.round(Math.min(MAX_COLUMN_PX, Math.max(MIN_COLUMN_PX, px)));
}

/** `widths` with `column` set to `px`, or back to fitting its values when `px` is undefined. */
export function withColumnWidth(widths: ColumnWidths, column: string, px: number | undefined): ColumnWidths {
  const { [column]: _old, ...rest } = widths;
  return px === undefined ? rest : { ...rest, [column]: clampColumn(px) };
}
