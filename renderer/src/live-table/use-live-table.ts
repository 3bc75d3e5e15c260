import { useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { useColumnWidths } from './use-column-widths.js';
import { useStickToBottom } from '../sse/use-stick-to-bottom.js';
import { scrollToReveal, visibleWindow, type VisibleWindow } from '../virtual-window.js';
import type { LiveColumn } from './column-fit.js';
import { liveTableKeyAction, pageRows } from './key-action.js';
import { useFittedColumns } from './use-fitted-columns.js';

/** Must match `.live-row` height in live-table.css: virtualisation needs every row equally tall. */
export const LIVE_ROW_HEIGHT = 24;
/** Rows rendered beyond each edge of the viewport, so fast scrolling does not flash blank space. */
const OVERSCAN = 12;

export interface LiveTableOptions {
  /** Rows so far; the rows themselves grow in place, so the caller passes their count. */
  readonly count: number;
  /** Unique per table, for element ids. */
  readonly idPrefix: string;
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly onSelect: (index: number, expanded: boolean) => void;
  /** Follow new rows from the start (a live stream) or show the beginning (a finished one). */
  readonly followInitially: boolean;
  /** False while hidden but kept mounted; showing again puts the scroll position back. */
  readonly active?: boolean;
  /** The columns in order, fitted or fixed (see `column-fit.ts`). */
  readonly columns: readonly LiveColumn[];
  /**
   * The columns' names (same order), and where the widths the user drags them to are kept: a
   * named column with a width is that wide, the rest fit as `columns` says.
   */
  readonly resizable?: { readonly key: string; readonly names: readonly string[] };
}

/** The attributes of one body row (all but `key` and what the view adds). */
export interface LiveRowProps {
  readonly id: string;
  readonly role: 'row';
  readonly 'aria-rowindex': number;
  readonly 'aria-selected': boolean;
  readonly 'aria-expanded': boolean | undefined;
  readonly className: string;
  readonly onClick: () => void;
}

export interface LiveTable {
  readonly count: number;
  /** The grid, whose rendered cells fitted columns are measured from. */
  readonly gridRef: RefObject<HTMLDivElement | null>;
  /** The grid template (`--live-columns`), fitted columns as wide as their widest value so far. */
  readonly columns: string;
  /** The scroll container. */
  readonly scrollRef: RefObject<HTMLDivElement | null>;
  readonly onScroll: () => void;
  readonly onKeyDown: (event: KeyboardEvent<HTMLElement>) => void;
  /** The rows to render. */
  readonly view: VisibleWindow;
  /** The selected row's element id while it is rendered, for `aria-activedescendant`. */
  readonly activeRowId: string | undefined;
  /** Whether to offer "Jump to latest": not following, and there is more than fits. */
  readonly showJump: boolean;
  readonly jumpToLatest: () => void;
  /** Row `index`'s attributes; `className` is added to the shared ones. */
  readonly rowProps: (index: number, className?: string) => LiveRowProps;
  /** Sets a named column's width (undefined: fit its values again), for its header's grip. */
  readonly setColumnWidth: (column: string, px: number | undefined) => void;
}

/**
 * The state and handlers of a virtualised, live, keyboard-driven table of equally tall rows
 * (stream events, WebSocket messages): the visible window, selection by keyboard and click,
 * scrolling the selection into view, and following new rows until the user looks elsewhere.
 */
export function useLiveTable(options: LiveTableOptions): LiveTable {
  const { count, idPrefix, selected, expanded, onSelect, active = true } = options;
  const gridRef = useRef<HTMLDivElement>(null);
  const [widths, setColumnWidth] = useColumnWidths(options.resizable?.key ?? 'sluice.columns.unnamed');
  const names = options.resizable?.names;
  const sized = useMemo(
    () =>
      names
        ? options.columns.map((column, i) => {
            const px = widths[names[i] ?? ''];
            return px === undefined ? column : { track: `${px}px` };
          })
        : options.columns,
    [options.columns, names, widths],
  );
  const columns = useFittedColumns(gridRef, sized);
  const scrollRef = useRef<HTMLDivElement>(null);
  const stick = useStickToBottom(scrollRef, options.followInitially);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(0);

  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (!element) return;
    setViewportHeight(element.clientHeight);
    const observer = new ResizeObserver(() => setViewportHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A hidden element may lose its scroll position; put it back when the table shows again.
  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (active && element && !stick.stuck) element.scrollTop = scrollTop;
    // Only on becoming active: otherwise scrollTop follows the element, not the other way round.
  }, [active]);

  // While following, lay out the end of the list now rather than after the scroll event the
  // auto-scroll will cause, so new rows never show as blank space for a frame.
  const view = visibleWindow(stick.stuck ? Infinity : scrollTop, viewportHeight, LIVE_ROW_HEIGHT, count, OVERSCAN);

  const onScroll = () => {
    stick.onScroll();
    const element = scrollRef.current;
    if (element) setScrollTop(element.scrollTop);
  };

  const moveTo = (index: number) => {
    const target = Math.min(count - 1, Math.max(0, index));
    if (target < 0) return;
    // Picking an older row means reading it: stop new rows from pushing it away.
    if (target < count - 1) stick.release();
    onSelect(target, expanded);
    const element = scrollRef.current;
    if (!element) return;
    const reveal = scrollToReveal(target, element.scrollTop, element.clientHeight, LIVE_ROW_HEIGHT);
    if (reveal !== undefined) element.scrollTop = reveal;
  };

  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    const page = pageRows(viewportHeight, LIVE_ROW_HEIGHT);
    const action = liveTableKeyAction(event.key, { selected, expanded, count, page });
    if (!action) return;
    if (action.type === 'move') {
      moveTo(action.index);
      if (action.follow) stick.jumpToLatest();
    } else if (action.type === 'expand') {
      onSelect(action.index, action.expanded);
    }
    event.preventDefault();
  };

  const rowProps = (index: number, className?: string): LiveRowProps => {
    const isSelected = index === selected;
    return {
      id: `${idPrefix}-row-${index}`,
      role: 'row',
      // The header is row 1.
      'aria-rowindex': index + 2,
      'aria-selected': isSelected,
      'aria-expanded': isSelected ? expanded : undefined,
      className: `live-row${className ? ` ${className}` : ''}${isSelected ? ' live-row-selected' : ''}`,
      onClick: () => {
        if (index < count - 1) stick.release();
        // A second click on the open row closes it.
        onSelect(index, !(isSelected && expanded));
      },
    };
  };

  const activeRowId =
    selected !== undefined && selected >= view.start && selected < view.end ? `${idPrefix}-row-${selected}` : undefined;

  return {
    count,
    gridRef,
    columns,
    scrollRef,
    onScroll,
    onKeyDown,
    view,
    activeRowId,
    showJump: !stick.stuck && view.totalHeight > viewportHeight,
    jumpToLatest: stick.jumpToLatest,
    rowProps,
    setColumnWidth,
  };
}
