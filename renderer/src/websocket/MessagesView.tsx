import { useMemo, useState } from 'react';
import { ruleMarksOf } from '../app/rule-summary.js';
import type { Direction, WebSocketMessageEvent } from '../../../app/proxy-events.js';
import { formatBytes, formatCount } from '../format.js';
import type { ExchangeView } from '../model/exchange.js';
import { formatOffset, prettyData } from '../sse/sse-format.js';
import type { LiveColumn } from '../live-table/column-fit.js';
import { HeaderCell, LiveTable } from '../live-table/LiveTable.js';
import { RuleMark } from '../live-table/RuleMark.js';
import { NO_QUERY, rowAt, selectionThrough, type RowIndices, type RowQuery } from '../live-table/row-filter.js';
import { TableFilter } from '../live-table/TableFilter.js';
import { useRowFilter } from '../live-table/use-row-filter.js';
import { useLiveTable } from '../live-table/use-live-table.js';
import { describeCounts, DIRECTION_CHOICES, directionArrow } from '../messages/message-common.js';
import { MessageDetailFrame } from '../messages/MessageDetailFrame.js';
import { MessagesNotKeptNote } from '../messages/MessagesNotKeptNote.js';
import { closeText, countMessages, messageKind, messagePreview } from './message-format.js';
import { messageTest } from './message-filter.js';
import '../messages/messages.css';
import './messages.css';

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
  const [query, setQuery] = useState<RowQuery>(NO_QUERY);
  // Dropping the oldest shifts every index: the filter starts over then.
  const indices = useRowFilter(messages, count, query, messageTest, dropped);
  const summary = describeCounts(counts, dropped, indices?.length);
  const ruleMarks = useMemo(
    () => ({ request: ruleMarksOf(exchange.rules, 'request'), response: ruleMarksOf(exchange.rules, 'response') }),
    [exchange.rules, exchange.rules.length],
  );

  return (
    <div className="live-view msg-view ws-view">
      <div className="live-bar">
        <div className="live-stats" data-testid="ws-stats" title={summary}>
          {live && <span className="live-dot" title="The socket is open" />}
          {summary}
        </div>
      </div>
      <MessagesNotKeptNote exchange={exchange} />
      <TableFilter query={query} onQuery={setQuery} label="Filter messages" placeholder="Filter messages">
        <select
          aria-label="Direction"
          value={query.choice}
          onChange={(e) => setQuery({ ...query, choice: e.target.value })}
        >
          {DIRECTION_CHOICES.map(({ value, label }) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </TableFilter>
      <MessagesTable
        messages={messages}
        count={count}
        indices={indices}
        start={start}
        idPrefix={`ws-${exchange.id}`}
        selected={selected}
        expanded={selection.expanded}
        followInitially={live}
        ruleMarks={ruleMarks}
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
  /** The messages the filter lets through, or undefined for all. */
  readonly indices: RowIndices;
  readonly start: number;
  readonly idPrefix: string;
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly followInitially: boolean;
  /** What stream rules did to each direction's messages, by their index (`ruleMarksOf`). */
  readonly ruleMarks: Readonly<Record<Direction, ReadonlyMap<number, string>>>;
  readonly onSelect: (index: number, expanded: boolean) => void;
}

/** dir, time, type, size, data. */
const COLUMNS: readonly LiveColumn[] = [
  { track: '3em' },
  { least: '3em' },
  { track: '5em' },
  { least: '3em' },
  { track: 'minmax(0, 1fr)' },
];
const RESIZE = { key: 'sluice.columns.websocket', names: ['dir', 'time', 'type', 'size', 'data'] };

/**
 * Only the rows in view are in the DOM. Keyboard: ↑/↓, Page Up/Down, Home/End move the selection
 * (End also follows new messages again), Enter or Space opens or closes the message, Escape closes it.
 */
function MessagesTable(props: TableProps) {
  const { messages, indices, start } = props;
  const table = useLiveTable({ ...props, ...selectionThrough(indices, props), columns: COLUMNS, resizable: RESIZE });

  const rows = [];
  for (let position = table.view.start; position < table.view.end; position++) {
    const i = rowAt(indices, position);
    const message = messages[i];
    if (!message) continue;
    const kind = messageKind(message);
    const mark = props.ruleMarks[message.direction].get(message.index);
    rows.push(
      <div
        key={i}
        {...table.rowProps(position, `msg-${message.direction}`)}
        data-testid="ws-row"
        data-direction={message.direction}
        data-kind={kind}
        data-rule-mark={mark}
      >
        <span
          role="gridcell"
          className="live-cell msg-dir"
          title={message.direction === 'request' ? 'sent' : 'received'}
        >
          {directionArrow(message.direction)}
          <RuleMark mark={mark} />
        </span>
        <span role="gridcell" className="live-cell live-num">
          {formatOffset(message.t - start)}
        </span>
        <span role="gridcell" className={`live-cell ws-kind ws-kind-${kind}`}>
          {kind}
        </span>
        <span role="gridcell" className="live-cell live-num">
          {formatBytes(message.size)}
        </span>
        <span role="gridcell" className="live-cell live-data">
          {messagePreview(message)}
        </span>
      </div>,
    );
  }

  return (
    <LiveTable
      table={table}
      label="WebSocket messages"
      header={
        <>
          <HeaderCell table={table} name="dir" title="↑ sent by the client, ↓ received from the server">
            dir
          </HeaderCell>
          <HeaderCell table={table} name="time" className="live-num" title="Time since the socket opened">
            time
          </HeaderCell>
          <HeaderCell table={table} name="type">
            type
          </HeaderCell>
          <HeaderCell table={table} name="size" className="live-num">
            size
          </HeaderCell>
          <HeaderCell table={table} name="data" resize={false}>
            data
          </HeaderCell>
        </>
      }
    >
      {rows}
    </LiveTable>
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
    <MessageDetailFrame
      name={`Message ${number}`}
      summary={`Message ${formatCount(number)} · ${notes.join(' · ')}`}
      copyText={kind === 'close' ? closeText(message) : message.data}
      copyTitle={copyTitle(message)}
      onClose={onClose}
      testId="ws-detail"
    >
      {body}
    </MessageDetailFrame>
  );
}

/** What the copy holds: as sent, not as indented here; a payload that is not text as its base64. */
function copyTitle(message: WebSocketMessageEvent): string {
  if (message.opcode === 8) return 'Copy the close code and reason';
  return message.binary || message.compressed ? 'Copy the payload as base64' : 'Copy the message as sent';
}
