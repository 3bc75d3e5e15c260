import { memo, useCallback, useMemo, useState } from 'react';
import { headerValue, type Direction, type RpcMessageEvent } from '../../../app/proxy-events.js';
import { isJsonCodec } from '../../../app/rpc-calls.js';
import { hexDump } from '../app/body-format.js';
import { ruleMarksOf } from '../app/rule-summary.js';
import { AddSchemaFiles, AskServerForSchema } from '../app/SchemaActions.js';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import type { LiveColumn } from '../live-table/column-fit.js';
import { HeaderCell, LiveTable } from '../live-table/LiveTable.js';
import { RuleMark } from '../live-table/RuleMark.js';
import { NO_QUERY, rowAt, selectionThrough, type RowIndices, type RowQuery } from '../live-table/row-filter.js';
import { TableFilter } from '../live-table/TableFilter.js';
import { useLiveTable } from '../live-table/use-live-table.js';
import { usePacedValue } from '../live-table/use-paced-value.js';
import { useRowFilter } from '../live-table/use-row-filter.js';
import { decodeBase64, describeCounts, DIRECTION_CHOICES, directionArrow } from '../messages/message-common.js';
import { MessageDetailFrame } from '../messages/MessageDetailFrame.js';
import { MessagesNotKeptNote } from '../messages/MessagesNotKeptNote.js';
import type { ExchangeView } from '../model/exchange.js';
import { formatOffset } from '../sse/sse-format.js';
import { callSchemaOf, loadSchemas, requestPath, type CallSchema, type CallSchemaState } from '../store/schemas.js';
import { useSluice } from '../store/store.js';
import { decodedWords, decodeForDisplay, unknownFieldsWarning, type DecodedMessage } from './rpc-decode.js';
import { rpcMessageTest } from './rpc-filter.js';
import {
  detailsText,
  frameEncoding,
  frameKind,
  noStatusText,
  rpcCounts,
  rpcPreview,
  statusName,
  statusSource,
} from './rpc-format.js';
import '../messages/messages.css';
import './rpc.css';

export interface RpcMessagesViewProps {
  /** Its `rpcMessages` grow in place; `revision` says when. */
  readonly exchange: ExchangeView;
  readonly revision: number;
}

/**
 * A gRPC, gRPC-Web or Connect call's messages, live: counts, the call's status and trailers, what
 * the schemas know of its method, a virtualised table of both directions' frames (named by the
 * schema when it has the method, else by field number), and the chosen one in full.
 */
export function RpcMessagesView(props: RpcMessagesViewProps) {
  // Selection and scroll belong to one exchange; another starts afresh.
  return <RpcMessagesBody key={props.exchange.id} {...props} />;
}

interface Selection {
  /** Position counted from the first frame ever, so it survives the oldest being dropped. */
  readonly absolute: number | undefined;
  readonly expanded: boolean;
}

type Encodings = Readonly<Record<Direction, string | undefined>>;

/** While the call is open, the table takes new rows at most this often (see `usePacedValue`). */
const LIVE_TABLE_INTERVAL_MS = 50;

function RpcMessagesBody({ exchange }: RpcMessagesViewProps) {
  const { rpcMessages: messages, rpcMessagesDropped: dropped } = exchange;
  const count = messages.length;
  const live = exchange.closed === undefined;
  const [selection, setSelection] = useState<Selection>({ absolute: undefined, expanded: false });
  const selected = selection.absolute === undefined ? undefined : selection.absolute - dropped;
  const selectedMessage = selected === undefined || selected < 0 ? undefined : messages[selected];
  const start = exchange.opened.t;
  const [query, setQuery] = useState<RowQuery>(NO_QUERY);
  const schema = useCallSchema(exchange);
  const call = schema.known ? schema.call : undefined;
  const testFor = useCallback((q: RowQuery) => rpcMessageTest(q, call), [call]);
  // Dropping the oldest shifts every index, and a schema changes what rows read: the filter starts
  // over then.
  const generation = useMemo(() => ({ dropped, call }), [dropped, call]);
  const indices = useRowFilter(messages, count, query, testFor, generation);
  // Totals kept by the store: no pass over the messages per update.
  const summary = describeCounts(rpcCounts(exchange), dropped, indices?.length);
  const ruleMarks = useMemo(
    () => ({ request: ruleMarksOf(exchange.rules, 'request'), response: ruleMarksOf(exchange.rules, 'response') }),
    [exchange.rules, exchange.rules.length],
  );
  // The table (memoised) renders when the rows it shows change, not on every update of the call.
  const shownCount = usePacedValue(count, live ? LIVE_TABLE_INTERVAL_MS : 0);
  const onSelect = useCallback(
    (index: number, expanded: boolean) => setSelection({ absolute: index + dropped, expanded }),
    [dropped],
  );
  const encodings: Encodings = {
    request: frameEncoding(exchange, 'request'),
    response: frameEncoding(exchange, 'response'),
  };

  return (
    <div className="live-view msg-view rpc-view">
      <div className="live-bar">
        <div className="live-stats" data-testid="rpc-stats" title={summary}>
          {live && <span className="live-dot" title="The call is open" />}
          {summary}
        </div>
      </div>
      <CallStatus x={exchange} />
      <MessagesNotKeptNote exchange={exchange} />
      <CallSchemaLine x={exchange} schema={schema} />
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
        count={shownCount}
        indices={indices}
        filtered={indices?.length}
        start={start}
        requestEncoding={encodings.request}
        responseEncoding={encodings.response}
        call={call}
        idPrefix={`rpc-${exchange.id}`}
        selected={selected}
        expanded={selection.expanded}
        followInitially={live}
        ruleMarks={ruleMarks}
        onSelect={onSelect}
      />
      {selection.expanded && selectedMessage && (
        <MessageDetail
          message={selectedMessage}
          number={(selection.absolute ?? 0) + 1}
          start={start}
          encoding={encodings[selectedMessage.direction]}
          call={call}
          onClose={() => setSelection({ ...selection, expanded: false })}
        />
      )}
    </div>
  );
}

/**
 * How the call ended, plainly: the status by name and code, where it came from, its message and
 * details, every trailer; and a note for each direction whose frames stopped making sense.
 */
function CallStatus({ x }: { x: ExchangeView }) {
  const status = x.rpcStatus;
  const details = status && detailsText(status);
  const stopped = [x.requestBody, x.responseBody].filter((body) => body.framesStopped);
  return (
    <section className="rpc-status" aria-label="Call status" data-testid="rpc-status" data-status={status?.name ?? ''}>
      {status ? (
        <>
          <p className="rpc-status-line">
            <strong className={status.code === 0 ? 'rpc-ok' : 'rpc-error'}>{statusName(status)}</strong>
            <span className="rpc-muted"> · {statusSource(status)}</span>
          </p>
          {status.message !== undefined && <p className="rpc-status-field">message: {status.message}</p>}
          {details !== undefined && <p className="rpc-status-field">details: {details}</p>}
          {status.trailers.length > 0 && (
            <dl className="rpc-trailers" aria-label="Trailers" data-testid="rpc-trailers">
              {status.trailers.map(([name, value], i) => (
                <div key={i}>
                  <dt>{name}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
          )}
        </>
      ) : (
        <p className="rpc-status-line rpc-muted">{noStatusText(x)}</p>
      )}
      {stopped.map((body) => (
        <p key={body.direction} className="rpc-note" role="note" data-testid="rpc-frames-stopped">
          {body.direction === 'request' ? 'Request' : 'Response'} frames stopped being read
          {body.framesStopped!.atOffset >= 0 ? ` at byte ${formatCount(body.framesStopped!.atOffset)}` : ''}
          {body.framesStopped!.detail ? `: ${body.framesStopped!.detail}` : ''}. No more of its messages show; the
          stream itself was forwarded whole.
        </p>
      ))}
    </section>
  );
}

/** What the host's schemas say about this call's method, loaded once per schema revision. */
function useCallSchema(x: ExchangeView): CallSchemaState {
  const list = useSluice((s) => s.schemas?.list);
  const schemas = loadSchemas(list);
  const path = requestPath(x.opened.request.url);
  const service = x.rpc?.service ?? '';
  return useMemo(() => callSchemaOf(schemas, path, service), [schemas, path, service]);
}

/**
 * One line on the call's schema: the method's full name and types when the schemas know it;
 * otherwise why not, with the two ways to get one (files, or the server's reflection).
 */
function CallSchemaLine({ x, schema }: { x: ExchangeView; schema: CallSchemaState }) {
  const openDialog = useSluice((s) => s.openDialog);
  const json = isJsonCodec(headerValue(x.opened.request.headers, 'content-type'));
  if (schema.known) {
    const { types } = schema.call;
    return (
      <section className="rpc-schema" aria-label="Schema" data-testid="rpc-schema" data-known="true">
        <span className="mono" data-testid="rpc-schema-method">
          {types.method}
        </span>
        <span className="rpc-muted">
          {' '}
          · request {types.clientStreaming ? 'stream ' : ''}
          <span className="mono">{types.input}</span> · response {types.serverStreaming ? 'stream ' : ''}
          <span className="mono">{types.output}</span>
          {schema.source ? ` · from ${schema.source.label}` : ''}
          {json ? ' · JSON codec: messages show as sent' : ''}
        </span>{' '}
        <button type="button" className="rpc-link" onClick={() => openDialog('schemas')}>
          Schemas…
        </button>
      </section>
    );
  }
  // A JSON codec names its fields already; a schema would change nothing shown.
  if (schema.why === 'loading' || json) return null;
  const service = x.rpc?.service ?? '';
  const why =
    schema.why === 'no-method' ? (
      <>
        The schemas have <code>{service}</code> but no method <code>{x.rpc?.method}</code> (stale schema?)
      </>
    ) : schema.why === 'load-error' ? (
      <>The schemas do not load in this page (see Schemas…)</>
    ) : (
      <>
        No schema for <code>{service}</code>
      </>
    );
  return (
    <section className="rpc-schema" aria-label="Schema" data-testid="rpc-schema" data-known="false">
      <span>{why}: messages show by field number.</span> <AddSchemaFiles label="Add schema files…" />{' '}
      <AskServerForSchema id={x.id} server={serverOf(x)} />
    </section>
  );
}

/** The server a call went to, as its request named it. */
function serverOf(x: ExchangeView): string {
  const { url, headers } = x.opened.request;
  try {
    return new URL(url).host;
  } catch {
    return headerValue(headers, 'host') ?? 'the server';
  }
}

interface TableProps {
  /** Grows in place: `count` (and `filtered`) say when. */
  readonly messages: readonly RpcMessageEvent[];
  readonly count: number;
  /** The frames the filter lets through, or undefined for all; grows in place too. */
  readonly indices: RowIndices;
  readonly filtered: number | undefined;
  readonly start: number;
  readonly requestEncoding: string | undefined;
  readonly responseEncoding: string | undefined;
  /** What the schemas know of the call; undefined shows fields by number. */
  readonly call: CallSchema | undefined;
  readonly idPrefix: string;
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly followInitially: boolean;
  /** What stream rules did to each direction's messages, by their index (`ruleMarksOf`). */
  readonly ruleMarks: Readonly<Record<Direction, ReadonlyMap<number, string>>>;
  readonly onSelect: (index: number, expanded: boolean) => void;
}

/** dir, time, gap, type, size, wire, data. */
const COLUMNS: readonly LiveColumn[] = [
  { track: '3em' },
  { least: '3em' },
  { least: '3em' },
  { least: '4em' },
  { least: '3em' },
  { least: '3em' },
  { track: 'minmax(0, 1fr)' },
];
const RESIZE = { key: 'sluice.columns.rpc', names: ['dir', 'time', 'gap', 'type', 'size', 'wire', 'data'] };

/**
 * Only the rows in view are in the DOM, and each row's preview is made once per message, so a
 * flood costs a screenful of rows per frame. Keyboard as in the other live tables.
 */
const MessagesTable = memo(function MessagesTable(props: TableProps) {
  const { messages, indices, start, call } = props;
  const encodings: Encodings = { request: props.requestEncoding, response: props.responseEncoding };
  const table = useLiveTable({ ...props, ...selectionThrough(indices, props), columns: COLUMNS, resizable: RESIZE });

  const rows = [];
  // Keyed by slot, not by message: while following a flood every row in view is a new message on
  // each update, and a slot keeps its elements and takes the new text instead of being replaced;
  // scrolling by a few rows still only refills the slots that scrolled out.
  const slots = Math.max(1, table.view.end - table.view.start);
  for (let position = table.view.start; position < table.view.end; position++) {
    const i = rowAt(indices, position);
    const message = messages[i];
    if (!message) continue;
    // The gap to the row above as the table shows it, so a filtered table reads the same way.
    const previous = position > 0 ? messages[rowAt(indices, position - 1)] : undefined;
    const kind = frameKind(message);
    const encoding = encodings[message.direction];
    const decoded = decodeForDisplay(message, call);
    const mark = props.ruleMarks[message.direction].get(message.index);
    rows.push(
      <div
        key={position % slots}
        {...table.rowProps(position, `msg-${message.direction}`)}
        data-testid="rpc-row"
        data-direction={message.direction}
        data-kind={kind}
        data-rule-mark={mark}
      >
        <span role="gridcell" className="live-cell msg-dir" title={directionWords(message.direction)}>
          {directionArrow(message.direction)}
          <RuleMark mark={mark} />
        </span>
        <span role="gridcell" className="live-cell live-num">
          {formatOffset(message.t - start)}
        </span>
        <span role="gridcell" className="live-cell live-num">
          {previous ? formatDuration(message.t - previous.t) : ''}
        </span>
        <span role="gridcell" className={`live-cell rpc-kind-${kind}`}>
          {kind}
        </span>
        <span role="gridcell" className="live-cell live-num">
          {formatBytes(message.size)}
        </span>
        <span role="gridcell" className={`live-cell live-num${message.compressed ? '' : ' rpc-muted'}`}>
          {formatBytes(message.wireBytes)}
        </span>
        <span role="gridcell" className="live-cell live-data">
          {message.compressed && (
            <span className="rpc-badge" title={`Compressed on the wire${encoding ? ` (${encoding})` : ''}`}>
              {encoding ?? 'compressed'}
            </span>
          )}
          {message.undecoded !== undefined && (
            <span className="rpc-badge rpc-badge-warn" title={message.undecoded}>
              undecoded
            </span>
          )}
          {message.truncated && (
            <span className="rpc-badge rpc-badge-warn" title="Only the first part of the message was kept for display">
              truncated
            </span>
          )}
          <DecodedBadges decoded={decoded} />
          {rpcPreview(message, call)}
        </span>
      </div>,
    );
  }

  return (
    <LiveTable
      table={table}
      label="RPC messages"
      header={
        <>
          <HeaderCell table={table} name="dir" title="↑ sent by the client, ↓ received from the server">
            dir
          </HeaderCell>
          <HeaderCell table={table} name="time" className="live-num" title="Time since the call started">
            time
          </HeaderCell>
          <HeaderCell table={table} name="gap" className="live-num" title="Time since the message above">
            gap
          </HeaderCell>
          <HeaderCell table={table} name="type">
            type
          </HeaderCell>
          <HeaderCell table={table} name="size" className="live-num" title="Payload size, decompressed">
            size
          </HeaderCell>
          <HeaderCell table={table} name="wire" className="live-num" title="Payload size on the wire">
            wire
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
});

/** A row's marks for how the schema read it: its type, fields it did not know, or why it failed. */
function DecodedBadges({ decoded }: { decoded: DecodedMessage }) {
  if (decoded.how === 'fields' && decoded.schemaError !== undefined) {
    return (
      <span className="rpc-badge rpc-badge-warn" title={`Not decoded with the schema: ${decoded.schemaError}`}>
        schema failed
      </span>
    );
  }
  if (decoded.how !== 'schema') return null;
  return (
    <>
      <span className="rpc-badge" title={decoded.type}>
        {decoded.type.slice(decoded.type.lastIndexOf('.') + 1)}
      </span>
      {decoded.unknownFields > 0 && (
        <span className="rpc-badge rpc-badge-warn" title={unknownFieldsWarning(decoded.unknownFields)}>
          {decoded.unknownFields} unknown
        </span>
      )}
    </>
  );
}

function directionWords(direction: Direction): string {
  return direction === 'request' ? 'sent by the client' : 'received from the server';
}

/** The ways a message can be shown: decoded, or its bytes as they came. */
type DetailView = 'decoded' | 'hex' | 'base64' | 'sent';

interface DetailProps {
  readonly message: RpcMessageEvent;
  readonly number: number;
  readonly start: number;
  readonly encoding: string | undefined;
  readonly call: CallSchema | undefined;
  readonly onClose: () => void;
}

/** A hex dump of more than this many bytes would be slow to lay out; the copy has all of them. */
const HEX_MAX_BYTES = 64 * 1024;

/**
 * One frame in full: decoded (named by the schema, or by field number; JSON indented), or raw as
 * hex, base64 or text as sent.
 */
function MessageDetail({ message, number, start, encoding, call, onClose }: DetailProps) {
  const [view, setView] = useState<DetailView>('decoded');
  const decoded = decodeForDisplay(message, call);
  const views: readonly DetailView[] = message.binary ? ['decoded', 'hex', 'base64'] : ['decoded', 'sent'];
  const shown = views.includes(view) ? view : 'decoded';
  const body = useMemo(() => detailText(message, decoded, shown), [message, decoded, shown]);
  const wire =
    message.compressed || message.wireBytes !== message.size
      ? ` (${formatCount(message.wireBytes)} on the wire${message.compressed ? `, ${encoding ?? 'compressed'}` : ''})`
      : '';
  const notes = [
    frameWords(message),
    formatOffset(message.t - start),
    `${formatCount(message.size)} bytes${wire}`,
    decodedWords(decoded),
    ...(message.truncated ? ['truncated for display'] : []),
  ];
  return (
    <MessageDetailFrame
      name={`Message ${number}`}
      summary={`Message ${formatCount(number)} · ${notes.join(' · ')}`}
      controls={
        <span className="rpc-views" role="group" aria-label="Show as">
          {views.map((option) => (
            <button key={option} type="button" aria-pressed={shown === option} onClick={() => setView(option)}>
              {VIEW_WORDS[option]}
            </button>
          ))}
        </span>
      }
      copyText={message.data}
      copyTitle={message.binary ? 'Copy the payload as base64' : 'Copy the message as sent'}
      onClose={onClose}
      testId="rpc-detail"
      note={<DecodedNote decoded={decoded} />}
    >
      {body}
    </MessageDetailFrame>
  );
}

/** What the reader should doubt about a decoding: fields the schema did not know, or why it failed. */
function DecodedNote({ decoded }: { decoded: DecodedMessage }) {
  if (decoded.how === 'schema' && decoded.unknownFields > 0) {
    return (
      <p className="rpc-note" role="note" data-testid="rpc-decode-note">
        {unknownFieldsWarning(decoded.unknownFields)}
      </p>
    );
  }
  if (decoded.how === 'fields' && decoded.schemaError !== undefined) {
    return (
      <p className="rpc-note" role="note" data-testid="rpc-decode-note">
        Not decoded with the schema: {decoded.schemaError}. Shown by field number.
      </p>
    );
  }
  return null;
}

/** "response message 1" (counted from 1 in its direction), "response trailers", "response end of stream". */
function frameWords(message: RpcMessageEvent): string {
  const kind = frameKind(message);
  if (kind === 'trailers') return `${message.direction} trailers`;
  if (kind === 'end') return `${message.direction} end of stream`;
  return `${message.direction} message ${formatCount(message.index + 1)}`;
}

const VIEW_WORDS: Record<DetailView, string> = { decoded: 'Decoded', hex: 'Hex', base64: 'Base64', sent: 'As sent' };

function detailText(message: RpcMessageEvent, decoded: DecodedMessage, view: DetailView): string {
  switch (view) {
    case 'base64':
    case 'sent':
      return message.data;
    case 'hex':
      return hexText(message.data);
    case 'decoded':
      switch (decoded.how) {
        case 'schema':
        case 'fields':
          return JSON.stringify(decoded.value, null, 2);
        case 'json':
          return JSON.stringify(decoded.value, null, 2);
        case 'text':
          return decoded.text;
        case 'bytes':
          return hexText(message.data);
      }
  }
}

function hexText(base64: string): string {
  const bytes = decodeBase64(base64);
  const more = bytes.length > HEX_MAX_BYTES ? `\n… ${formatBytes(bytes.length - HEX_MAX_BYTES)} more` : '';
  return `${hexDump(bytes, HEX_MAX_BYTES)}${more}`;
}
