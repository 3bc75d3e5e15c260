import {
  memo,
  useCallback,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
} from 'react';
import { displayId } from '../../../app/contract.js';
import { isFailure } from '../../../app/proxy-events.js';
import { formatBytes, formatDuration } from '../format.js';
import { isAtBottom, scrollToReveal, visibleWindow } from '../virtual-window.js';
import { useFilteredIds } from '../store/use-filtered-ids.js';
import {
  durationMs,
  pathLabel,
  protocolLabel,
  rowState,
  STATE_WORDS,
  statusCell,
  typeLabel,
  urlParts,
} from '../store/exchange-row.js';
import { useExchange, useSluice } from '../store/store.js';
import { hostNow } from '../store/host-clock.js';
import type { ExchangeView } from '../model/exchange.js';
import type { LiveColumn } from '../live-table/column-fit.js';
import { useColumnFit } from '../live-table/use-fitted-columns.js';
import { FilterBar } from './FilterBar.js';
import { fileLabels } from './file-labels.js';
import { ImportedFromBadge, useImportedFiles } from './ImportedFiles.js';
import './exchange-list.css';
import { llmCallOf } from '../llm/llm-call.js';
import { ColumnGrip } from '../live-table/ColumnGrip.js';
import { useColumnWidths } from '../live-table/use-column-widths.js';

const ROW_HEIGHT = 24;
const OVERSCAN = 12;

interface ListColumn {
  readonly className: string;
  readonly label: string;
  readonly fit: LiveColumn;
}

/**
 * The columns in order; `Row` renders its cells in the same order. Every column fits its widest
 * value but the path, which takes what is left and is the one cut when the pane is narrow; an
 * imported exchange's file name shares the path's cell, so it never takes room from the others.
 * A host name is capped, so one long name cannot push the path out of sight.
 */
const COLUMNS: readonly ListColumn[] = [
  { className: 'c-id', label: '#', fit: { least: '2em' } },
  { className: 'c-method', label: 'Method', fit: { least: '3em' } },
  { className: 'c-host', label: 'Host', fit: { least: '4em', most: '24em' } },
  { className: 'c-path', label: 'Path', fit: { track: 'minmax(4em, 1fr)' } },
  { className: 'c-status', label: 'Status', fit: { least: '2.5em' } },
  { className: 'c-protocol', label: 'Protocol', fit: { least: '3em' } },
  { className: 'c-type', label: 'Type', fit: { least: '3em' } },
  { className: 'c-size', label: 'Size', fit: { least: '3em' } },
  { className: 'c-time', label: 'Time', fit: { least: '3em' } },
  { className: 'c-state', label: 'State', fit: { least: '4em' } },
];

/** Where the widths the user gave the list's columns are kept. */
const LIST_WIDTHS_KEY = 'sluice.columns';

/** Every exchange, live: a fixed row height keeps 100,000 rows to a screenful of elements. */
export function ExchangeList() {
  const { ids, total } = useFilteredIds();
  const selectedId = useSluice((s) => s.selectedId);
  const select = useSluice((s) => s.select);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const following = useRef(true);
  const files = useImportedFiles();
  const labels = useMemo(() => fileLabels(files), [files]);
  const section = useRef<HTMLElement>(null);
  const [widths, setWidth] = useColumnWidths(LIST_WIDTHS_KEY);
  // A column the user sized keeps that width; the others fit their values.
  const fits = useMemo(
    () =>
      COLUMNS.map((column) =>
        widths[column.className] === undefined ? column.fit : { track: `${widths[column.className]}px` },
      ),
    [widths],
  );
  // Rows render on their own as their exchange changes and hand themselves to `fitRow`.
  const { template, fitRow } = useColumnFit(section, fits, '.exchange-header');

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setViewport(element.clientHeight));
    observer.observe(element);
    setViewport(element.clientHeight);
    return () => observer.disconnect();
  }, []);

  // New rows keep the list at the bottom while the user has not scrolled away from it.
  useLayoutEffect(() => {
    const element = scroller.current;
    // The list's height is known: reading scrollHeight would lay the page out once more.
    if (element && following.current) element.scrollTop = ids.length * ROW_HEIGHT;
  }, [ids.length]);

  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    setScrollTop(element.scrollTop);
    following.current = isAtBottom(element.scrollTop, element.clientHeight, element.scrollHeight, ROW_HEIGHT / 2);
  }, []);

  const moveTo = useCallback(
    (index: number) => {
      const clamped = Math.max(0, Math.min(ids.length - 1, index));
      const id = ids[clamped];
      if (id === undefined) return;
      select(id);
      const element = scroller.current;
      if (!element) return;
      const reveal = scrollToReveal(clamped, element.scrollTop, element.clientHeight, ROW_HEIGHT);
      if (reveal !== undefined) element.scrollTop = reveal;
    },
    [ids, select],
  );

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const current = selectedId === undefined ? -1 : ids.indexOf(selectedId);
    const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
    const target: Record<string, number> = {
      ArrowDown: current + 1,
      ArrowUp: current < 0 ? ids.length - 1 : current - 1,
      PageDown: current + page,
      PageUp: current - page,
      Home: 0,
      End: ids.length - 1,
    };
    if (e.key === 'Escape') {
      select(undefined);
      return;
    }
    const next = target[e.key];
    if (next === undefined) return;
    e.preventDefault();
    moveTo(next);
  };

  // While following, the rows drawn are the bottom ones at once, not those at the last scroll
  // position: otherwise the list is drawn twice for each growth, once before and once after the
  // scroll event the follow effect causes.
  const top = following.current ? Math.max(0, ids.length * ROW_HEIGHT - viewport) : scrollTop;
  const { start, end } = visibleWindow(top, viewport, ROW_HEIGHT, ids.length, OVERSCAN);
  // Keyed by slot, not by exchange: a wheel step or a page down brings a screenful of rows none
  // of which was in view, and a slot keeps its elements and takes the new values instead of being
  // replaced (about a third less work per frame); scrolling by a few rows or following new
  // traffic still only refills the slots that scrolled out.
  const slots = Math.max(1, end - start);
  const rows = [];
  for (let i = start; i < end; i++) {
    const id = ids[i]!;
    rows.push(
      <Row
        key={i % slots}
        id={id}
        top={i * ROW_HEIGHT}
        selected={id === selectedId}
        onSelect={select}
        fitRow={fitRow}
        fileLabels={labels}
      />,
    );
  }

  return (
    <section
      className="exchange-list"
      aria-label="Exchanges"
      ref={section}
      style={{ '--exchange-columns': template } as CSSProperties}
    >
      <FilterBar shown={ids.length} total={total} files={files} />
      <div className="exchange-header row" aria-hidden="true">
        {COLUMNS.map((column) => (
          <span key={column.className} className={column.className}>
            {column.label}
            {/* The path takes what the others leave: sizing them sizes it. */}
            {column.className !== 'c-path' && (
              <ColumnGrip label={column.label} onWidth={(px) => setWidth(column.className, px)} />
            )}
          </span>
        ))}
      </div>
      <div
        className="exchange-scroller"
        ref={scroller}
        onScroll={onScroll}
        tabIndex={0}
        role="listbox"
        aria-label="Exchanges, newest last; arrow keys move the selection"
        aria-activedescendant={selectedId === undefined ? undefined : `exchange-${selectedId}`}
        onKeyDown={onKeyDown}
        data-testid="exchange-list"
      >
        <div style={{ height: ids.length * ROW_HEIGHT, position: 'relative' }}>{rows}</div>
        {total === 0 && <EmptyHint />}
      </div>
    </section>
  );
}

/** What to do when nothing has come through yet, with the proxy's real address. */
function EmptyHint() {
  const status = useSluice((s) => s.traffic.status);
  useSluice((s) => s.tick);
  const address = status ? `http://${status.host}:${status.port}` : 'http://127.0.0.1:8080';
  return (
    <p className="empty muted" data-testid="empty-hint">
      No traffic yet. Send a request through the proxy, for example{' '}
      <code className="mono">curl -x {address} http://example.com/</code>, or set {address} as the HTTP and HTTPS proxy
      of your client.
    </p>
  );
}

interface RowProps {
  readonly id: number;
  readonly top: number;
  readonly selected: boolean;
  readonly onSelect: (id: number) => void;
  /** Measures the row after it rendered, so a value that grew widens its column before paint. */
  readonly fitRow: (row: HTMLElement) => void;
  /** Badge labels of the imported files, by name. */
  readonly fileLabels: ReadonlyMap<string, string>;
}

const Row = memo(function Row({ id, top, selected, onSelect, fitRow, fileLabels }: RowProps) {
  const x = useExchange(id);
  const element = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (element.current) fitRow(element.current);
  });
  if (!x) return null;
  const file = x.opened.importedFrom;
  const { host, path } = urlParts(x);
  const label = pathLabel(x);
  const state = rowState(x);
  const failed = x.closed !== undefined && isFailure(x.closed.outcome);
  const status = statusCell(x);
  const size = x.responseBody.bytes;
  return (
    <div
      id={`exchange-${id}`}
      ref={element}
      className={`row exchange-row${selected ? ' selected' : ''}${failed ? ' failed' : ''}`}
      style={{ top, height: ROW_HEIGHT }}
      role="option"
      aria-selected={selected}
      data-testid="exchange-row"
      data-state={state}
      onMouseDown={() => onSelect(id)}
    >
      <span className="c-id muted">{displayId(id)}</span>
      <span className="c-method">{x.opened.request.method}</span>
      <span className="c-host" title={host}>
        {host}
      </span>
      <span className="c-path" title={path}>
        {file !== undefined && <ImportedFromBadge file={file} label={fileLabels.get(file) ?? file} />}
        {x.rules.length > 0 && <RuleBadge x={x} />}
        {x.opened.resentFrom !== undefined && (
          <span
            className="mock-badge"
            data-testid="resent-badge"
            title={`sent again from #${displayId(x.opened.resentFrom)}`}
          >
            resent
          </span>
        )}
        {x.response?.mock !== undefined && (
          <span className="mock-badge" data-testid="mock-badge" title={`answered by mock ${x.response.mock}`}>
            mock
          </span>
        )}
        <span className="path-text">{label}</span>
        <LlmBadge x={x} />
      </span>
      <span className={`c-status ${status.tone}`} title={status.title || undefined}>
        {status.text}
      </span>
      <span className="c-protocol">{protocolLabel(x)}</span>
      <span className="c-type">{typeLabel(x)}</span>
      <span className="c-size">{size > 0 ? formatBytes(size) : ''}</span>
      <span className="c-time">{formatDuration(durationMs(x, x.closed ? x.closed.t : hostNow()))}</span>
      <span className={`c-state state-${state}`}>
        {/* In the text rather than a ::before, so the column is fitted to it too: a range measures
            the cell's nodes, not its generated content. */}
        {state === 'streaming' && <span aria-hidden="true">● </span>}
        {STATE_WORDS[state]}
      </span>
    </div>
  );
});

/** An LLM API call: which API, and the model once known. */
function LlmBadge({ x }: { x: ExchangeView }) {
  const call = llmCallOf(x);
  if (!call) return null;
  const text = call.model === undefined ? call.api : `${call.api} · ${call.model}`;
  return (
    <span className="mock-badge llm-badge" data-testid="llm-badge" title={`LLM call: ${text}`}>
      {text}
    </span>
  );
}

/** A stream rule touched this exchange (or holds it now): it was changed on purpose, so the list says so. */
function RuleBadge({ x }: { x: ExchangeView }) {
  const names = [...new Set(x.rules.map((event) => event.rule))].join(', ');
  const held = x.breakpoint !== undefined;
  return (
    <span
      className={`rule-badge${held ? ' held' : ''}`}
      data-testid="rule-badge"
      title={held ? `held at a breakpoint by rule ${x.breakpoint!.rule}` : `stream rules: ${names}`}
    >
      {held ? 'held' : 'rule'}
    </span>
  );
}
