import { useCallback, useState } from 'react';
import { localStore } from '../local-store.js';
import { readColumnWidths, withColumnWidth, type ColumnWidths } from './column-widths.js';

/**
 * The widths the user dragged a table's columns to (by column name), remembered in localStorage
 * under `key`, and the setter a column's grip calls (undefined: fit the column's values again).
 */
export function useColumnWidths(key: string): [ColumnWidths, (column: string, px: number | undefined) => void] {
  const [widths, setWidths] = useState(() => readColumnWidths(localStore()?.getItem(key) ?? null));
  const set = useCallback(
    (column: string, px: number | undefined) => {
      setWidths((current) => {
        const next = withColumnWidth(current, column, px);
        localStore()?.setItem(key, JSON.stringify(next));
        return next;
      });
    },
    [key],
  );
  return [widths, set];
}
