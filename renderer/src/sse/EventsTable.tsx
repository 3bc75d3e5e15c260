import { useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { formatDuration } from '../format.js';
import { formatChunkRange, formatOffset, previewData } from './sse-format.js';
import { gapBefore } from './stats.js';
import type { StreamEventRow } from './stream-events.js';
import { useStickToBottom } from './use-stick-to-bottom.js';
import { scrollToReveal, visibleWindow } from '../virtual-window.js';

/** Must match `.sse-row` height in sse.css: virtualisation needs every collapsed row equally tall. */
export const ROW_HEIGHT = 24;
/** Rows rendered beyond each edge of the viewport, so fast scrolling does not flash blank space. */
const OVERSCAN = 12;

export interface EventsTableProps {
  /** Append-only; `count` is passed separately because the array grows in place. */
  readonly rows: readonly StreamEventRow[];
  readonly count: number;
  /** Exchange start (`opened.t`): the zero of the time column. */
  readonly start: number;
  /** Unique per exchange, for element ids. */
  readonly idPrefix: string;
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly onSelect: (index: number, expanded: boolean) => void;
  /** The table is hidden (another tab shows) but kept mounted so its scroll state survives. */
  readonly active: boolean;
  /** Follow new events from the start (a live stream) or show the beginning (a finished one). */
  readonly followInitially: boolean;
  /** Show the SSE `id` and `event` columns; NDJSON lines have neither. */
  readonly sseFields: boolean;
}

/**
 * The events as a virtualised grid: only the rows in view are in the DOM, so a 100,000-event
 * stream scrolls and updates as cheaply as a short one. Keyboard: ↑/↓, Page Up/Down, Home/End
 * move the selection (End also follows new events again), Enter or Space opens or closes the
 * selected event's data, Escape closes it.
 */
export function EventsTable(props: EventsTableProps) {
  const { rows, count, start, idPrefix, selected, expanded, onSelect, active, sseFields } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const stick = useStickToBottom(scrollRef, props.followInitially);
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
  const view = visibleWindow(stick.stuck ? Infinity : scrollTop, viewportHeight, ROW_HEIGHT, count, OVERSCAN);

  const handleScroll = () => {
    stick.onScroll();
    const element = scrollRef.current;
    if (element) setScrollTop(element.scrollTop);
  };

  const moveTo = (index: number) => {
    const target = Math.min(count - 1, Math.max(0, index));
    if (target < 0) return;
    // Picking an older event means reading it: stop new events from pushing it away.
    if (target < count - 1) stick.release();
    onSelect(target, expanded);
    const element = scrollRef.current;
    if (!element) return;
    const reveal = scrollToReveal(target, element.scrollTop, element.clientHeight, ROW_HEIGHT);
    if (reveal !== undefined) element.scrollTop = reveal;
  };

  const handleKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const page = Math.max(1, Math.floor(viewportHeight / ROW_HEIGHT) - 1);
    const current = selected ?? (event.key === 'ArrowUp' ? count : -1);
    switch (event.key) {
      case 'ArrowDown':
        moveTo(current + 1);
        break;
      case 'ArrowUp':
        moveTo(current - 1);
        break;
      case 'PageDown':
        moveTo(current + page);
        break;
      case 'PageUp':
        moveTo(current - page);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        // The newest event, and keep following the ones after it.
        moveTo(count - 1);
        stick.jumpToLatest();
        break;
      case 'Enter':
      case ' ':
        if (selected !== undefined) onSelect(selected, !expanded);
        else if (count > 0) moveTo(count - 1);
        break;
      case 'Escape':
        if (!expanded) return;
        if (selected !== undefined) onSelect(selected, false);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const handleRowClick = (index: number) => {
    if (index < count - 1) stick.release();
    // A second click on the open event closes it.
    onSelect(index, !(index === selected && expanded));
  };

  const renderedRows = [];
  for (let i = view.start; i < view.end; i++) {
    const row = rows[i];
    if (!row) continue;
    const gap = gapBefore(rows, i);
    const isSelected = i === selected;
    renderedRows.push(
      <div
        key={i}
        id={`${idPrefix}-row-${i}`}
        role="row"
        aria-rowindex={i + 2}
        aria-selected={isSelected}
        aria-expanded={isSelected ? expanded : undefined}
        data-testid="sse-row"
        className={isSelected ? 'sse-row sse-row-selected' : 'sse-row'}
        onClick={() => handleRowClick(i)}
      >
        <span role="gridcell" className="sse-cell sse-num">
          {row.index}
        </span>
        {sseFields && (
          <>
            <span role="gridcell" className="sse-cell sse-id" title={row.eventId}>
              {row.eventId}
            </span>
            <span role="gridcell" className="sse-cell sse-event" title={row.event}>
              {row.event}
            </span>
          </>
        )}
        <span role="gridcell" className="sse-cell sse-data">
          {previewData(row.data)}
        </span>
        <span role="gridcell" className="sse-cell sse-num">
          {formatOffset(row.t - start)}
        </span>
        <span role="gridcell" className="sse-cell sse-num">
          {gap === undefined ? '' : formatDuration(gap)}
        </span>
        <span role="gridcell" className="sse-cell sse-num">
          {formatChunkRange(row.chunkRange)}
        </span>
      </div>,
    );
  }

  const activeRowId =
    selected !== undefined && selected >= view.start && selected < view.end ? `${idPrefix}-row-${selected}` : undefined;

  return (
    <div className="sse-table-wrap" hidden={!active}>
      <div
        className={sseFields ? 'sse-table' : 'sse-table sse-table-lines'}
        role="grid"
        aria-label="Stream events"
        aria-rowcount={count + 1}
        aria-activedescendant={activeRowId}
        tabIndex={0}
        onKeyDown={handleKeyDown}
      >
        <div className="sse-row sse-head" role="row" aria-rowindex={1}>
          <span role="columnheader" className="sse-cell sse-num">
            #
          </span>
          {sseFields && (
            <>
              <span role="columnheader" className="sse-cell">
                id
              </span>
              <span role="columnheader" className="sse-cell">
                event
              </span>
            </>
          )}
          <span role="columnheader" className="sse-cell">
            data
          </span>
          <span role="columnheader" className="sse-cell sse-num" title="Time since the request started">
            time
          </span>
          <span role="columnheader" className="sse-cell sse-num" title="Time since the previous event">
            gap
          </span>
          <span role="columnheader" className="sse-cell sse-num" title="Network chunk(s) the event arrived in">
            chunk
          </span>
        </div>
        <div className="sse-scroll" ref={scrollRef} onScroll={handleScroll}>
          <div className="sse-spacer" style={{ height: view.totalHeight }}>
            <div className="sse-window" style={{ transform: `translateY(${view.offsetTop}px)` }}>
              {renderedRows}
            </div>
          </div>
        </div>
      </div>
      {!stick.stuck && view.totalHeight > viewportHeight && (
        <button type="button" className="sse-jump" onClick={stick.jumpToLatest}>
          Jump to latest ↓
        </button>
      )}
    </div>
  );
}
