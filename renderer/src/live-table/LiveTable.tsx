import type { CSSProperties, ReactNode } from 'react';
import { ColumnGrip } from './ColumnGrip.js';
import type { LiveTable as LiveTableState } from './use-live-table.js';
import './live-table.css';

export interface LiveTableProps {
  /** From `useLiveTable`. */
  readonly table: LiveTableState;
  /** The grid's accessible name. */
  readonly label: string;
  /** Kept mounted but not shown (another tab is), so the scroll position survives. */
  readonly hidden?: boolean | undefined;
  /** The column headers: `role="columnheader"` cells. */
  readonly header: ReactNode;
  /** The rendered rows, `table.view.start` to `table.view.end`, each with `table.rowProps(i)`. */
  readonly children: ReactNode;
}

/**
 * The frame of a live table: an ARIA grid with a header row, a virtualised scroll area of the
 * rows in view and a "Jump to latest" button while the user has scrolled away from the end.
 * Columns come from `table.columns`, set as the `--live-columns` custom property; see live-table.css.
 */
export function LiveTable({ table, label, hidden, header, children }: LiveTableProps) {
  const { view } = table;
  return (
    <div className="live-table-wrap" hidden={hidden}>
      <div
        ref={table.gridRef}
        className="live-table"
        style={{ '--live-columns': table.columns } as CSSProperties}
        role="grid"
        aria-label={label}
        aria-rowcount={table.count + 1}
        aria-activedescendant={table.activeRowId}
        tabIndex={0}
        onKeyDown={table.onKeyDown}
      >
        <div className="live-row live-head" role="row" aria-rowindex={1}>
          {header}
        </div>
        <div className="live-scroll" ref={table.scrollRef} onScroll={table.onScroll}>
          <div className="live-spacer" style={{ height: view.totalHeight }}>
            <div className="live-window" style={{ transform: `translateY(${view.offsetTop}px)` }}>
              {children}
            </div>
          </div>
        </div>
      </div>
      {table.showJump && (
        <button type="button" className="live-jump" onClick={table.jumpToLatest}>
          Jump to latest ↓
        </button>
      )}
    </div>
  );
}

/**
 * A column's header cell; with `resize`, a grip on its right edge sets the column's width (kept
 * under the column's name, see `useLiveTable`'s `resizable`). The column that takes what the others
 * leave has none: sizing them sizes it.
 */
export function HeaderCell({
  table,
  name,
  resize = true,
  className = '',
  title,
  children,
}: {
  table: LiveTableState;
  name: string;
  resize?: boolean;
  className?: string;
  title?: string | undefined;
  children: ReactNode;
}) {
  return (
    <span role="columnheader" className={`live-cell${className ? ` ${className}` : ''}`} title={title}>
      {children}
      {resize && <ColumnGrip label={name} onWidth={(px) => table.setColumnWidth(name, px)} />}
    </span>
  );
}
