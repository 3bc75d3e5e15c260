import { useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { WebSocketMessageEvent } from '../../../app/proxy-events.js';
import { formatBytes, formatCount } from '../format.js';
import type { ExchangeView } from '../model/exchange.js';
import { formatOffset, prettyData } from '../sse/sse-format.js';
import { useStickToBottom } from '../sse/use-stick-to-bottom.js';
import { scrollToReveal, visibleWindow } from '../virtual-window.js';
import {
  closeText,
  countMessages,
  describeCounts,
  directionArrow,
  messageKind,
  messagePreview,
} from './message-format.js';
import './messages.css';

/** Must match `.ws-row` height in messages.css: virtualisation needs every row equally tall. */
const ROW_HEIGHT = 24;
const OVERSCAN = 12;

export interface MessagesViewProps {
  /** Its `messages` grow in place; `revision` says when. */
  readonly exchange: ExchangeView;
  readonly revision: number;
}

/** A WebSocket's messages, live: counts, a virtualised table, and the chosen message in full. */
export function MessagesView(props: MessagesViewProps) {
  // Selection and scroll belong to one exchange; another starts afresh.
  return <MessagesViewBody key={props.exchange.id} {...props} />;
}

interface Selection {
  /** Position counted from the first message ever, so it survives the oldest being dropped. */
  readonly absolute: number | undefined;
  readonly expanded: boolean;
}

function MessagesViewBody({ exchange, revision }: MessagesViewProps) {
  const { messages, messagesDropped: dropped } = exchange;
  const count = messages.length;
  const live = exchange.closed === undefined;
  // Arrays grow in place, so the length and revision stand in for identity.
  const counts = useMemo(() => countMessages(messages), [messages, count, revision]);
  const [selection, setSelection] = useState<Selection>({ absolute: undefined, expanded: false });
  const selected = selection.absolute === undefined ? undefined : selection.absolute - dropped;
  const selectedMessage = selected === undefined || selected < 0 ? undefined : messages[selected];
  // Times count from the 101: when the socket opened.
  const start = exchange.response?.t ?? exchange.opened.t;

  return (
    <div className="ws-view">
      <div className="ws-bar">
        <div className="ws-stats" data-testid="ws-stats" title={describeCounts(counts, dropped)}>
          {live && <span className="ws-live" title="The socket is open" />}
          {describeCounts(counts, dropped)}
        </div>
      </div>
      <MessagesTable
        messages={messages}
        count={count}
        start={start}
        idPrefix={`ws-${exchange.id}`}
        selected={selected}
        expanded={selection.expanded}
        followInitially={live}
        onSelect={(index, expanded) => setSelection({ absolute: index + dropped, expanded })}
      />
      {selection.expanded && selectedMessage && (
        <MessageDetail
          message={selectedMessage}
          number={(selection.absolute ?? 0) + 1}
          start={start}
          onClose={() => setSelection({ ...selection, expanded: false })}
        />
      )}
    </div>
  );
}

interface TableProps {
  readonly messages: readonly WebSocketMessageEvent[];
  readonly count: number;
  readonly start: number;
  readonly idPrefix: string;
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly followInitially: boolean;
  readonly onSelect: (index: number, expanded: boolean) => void;
}

/**
 * Only the rows in view are in the DOM. Keyboard: ↑/↓, Page Up/Down, Home/End move the selection
 * (End also follows new messages again), Enter or Space opens or closes the message, Escape closes it.
 */
function MessagesTable(props: TableProps) {
  const { messages, count, start, idPrefix, selected, expanded, onSelect } = props;
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

  // While following, lay out the end now, so new rows never show as blank space for a frame.
  const view = visibleWindow(stick.stuck ? Infinity : scrollTop, viewportHeight, ROW_HEIGHT, count, OVERSCAN);

  const moveTo = (index: number) => {
    const target = Math.min(count - 1, Math.max(0, index));
    if (target < 0) return;
    // Picking an older message means reading it: stop new ones from pushing it away.
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
        moveTo(count - 1);
        stick.jumpToLatest();
        break;
      case 'Enter':
      case ' ':
        if (selected !== undefined) onSelect(selected, !expanded);
        else if (count > 0) moveTo(count - 1);
        break;
      case 'Escape':
        if (!expanded || selected === undefined) return;
        onSelect(selected, false);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const rows = [];
  for (let i = view.start; i < view.end; i++) {
    const message = messages[i];
    if (!message) continue;
    const isSelected = i === selected;
    const kind = messageKind(message);
    rows.push(
      <div
        key={i}
        id={`${idPrefix}-row-${i}`}
        role="row"
        aria-rowindex={i + 2}
        aria-selected={isSelected}
        aria-expanded={isSelected ? expanded : undefined}
        data-testid="ws-row"
        data-direction={message.direction}
        data-kind={kind}
        className={`ws-row ws-${message.direction}${isSelected ? ' ws-row-selected' : ''}`}
        onClick={() => {
          if (i < count - 1) stick.release();
          onSelect(i, !(isSelected && expanded));
        }}
      >
        <span role="gridcell" className="ws-cell ws-dir" title={message.direction === 'request' ? 'sent' : 'received'}>
          {directionArrow(message)}
        </span>
        <span role="gridcell" className="ws-cell ws-num">
          {formatOffset(message.t - start)}
        </span>
        <span role="gridcell" className={`ws-cell ws-kind ws-kind-${kind}`}>
          {kind}
        </span>
        <span role="gridcell" className="ws-cell ws-num">
          {formatBytes(message.size)}
        </span>
        <span role="gridcell" className="ws-cell ws-data">
          {messagePreview(message)}
        </span>
      </div>,
    );
  }

  const activeRowId =
    selected !== undefined && selected >= view.start && selected < view.end ? `${idPrefix}-row-${selected}` : undefined;

  return (
    <div className="ws-table-wrap">
      <div
        className="ws-table"
        role="grid"
        aria-label="WebSocket messages"
        aria-rowcount={count + 1}
        aria-activedescendant={activeRowId}
        tabIndex={0}
        onKeyDown={handleKeyDown}
      >
        <div className="ws-row ws-head" role="row" aria-rowindex={1}>
          <span role="columnheader" className="ws-cell" title="↑ sent by the client, ↓ received from the server">
            dir
          </span>
          <span role="columnheader" className="ws-cell ws-num" title="Time since the socket opened">
            time
          </span>
          <span role="columnheader" className="ws-cell">
            type
          </span>
          <span role="columnheader" className="ws-cell ws-num">
            size
          </span>
          <span role="columnheader" className="ws-cell">
            data
          </span>
        </div>
        <div
          className="ws-scroll"
          ref={scrollRef}
          onScroll={() => {
            stick.onScroll();
            if (scrollRef.current) setScrollTop(scrollRef.current.scrollTop);
          }}
        >
          <div className="ws-spacer" style={{ height: view.totalHeight }}>
            <div className="ws-window" style={{ transform: `translateY(${view.offsetTop}px)` }}>
              {rows}
            </div>
          </div>
        </div>
      </div>
      {!stick.stuck && view.totalHeight > viewportHeight && (
        <button type="button" className="ws-jump" onClick={stick.jumpToLatest}>
          Jump to latest ↓
        </button>
      )}
    </div>
  );
}

interface DetailProps {
  readonly message: WebSocketMessageEvent;
  readonly number: number;
  readonly start: number;
  readonly onClose: () => void;
}

/** One message in full, below the table so rows keep the one height virtualisation relies on. */
function MessageDetail({ message, number, start, onClose }: DetailProps) {
  const kind = messageKind(message);
  const pretty = useMemo(
    () => (message.binary ? { text: message.data, json: false } : prettyData(message.data)),
    [message],
  );
  const body = kind === 'close' ? closeText(message) || '(no code or reason)' : pretty.text;
  const notes = [
    message.direction === 'request' ? 'sent' : 'received',
    kind,
    formatOffset(message.t - start),
    `${formatCount(message.size)} bytes`,
    ...(pretty.json ? ['JSON'] : []),
    ...(message.binary ? ['shown as base64'] : []),
    ...(message.compressed ? ['still permessage-deflate compressed'] : []),
    ...(message.truncated ? ['truncated for display'] : []),
  ];
  return (
    <section className="ws-detail" aria-label={`Message ${number}`} data-testid="ws-detail">
      <header className="ws-detail-head">
        <span>
          Message {formatCount(number)} · {notes.join(' · ')}
        </span>
        <button type="button" className="ws-close" onClick={onClose} aria-label="Close message">
          ×
        </button>
      </header>
      <pre className="ws-detail-body">{body}</pre>
    </section>
  );
}
