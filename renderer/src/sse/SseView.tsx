import { ruleMarksOf } from '../app/rule-summary.js';
import { useEffect, useMemo, useRef, useState } from 'react';
import { formatCount } from '../format.js';
import { MessagesNotKeptNote } from '../messages/MessagesNotKeptNote.js';
import { NO_QUERY, type RowQuery } from '../live-table/row-filter.js';
import { TableFilter } from '../live-table/TableFilter.js';
import { useRowFilter } from '../live-table/use-row-filter.js';
import type { ExchangeView } from '../model/exchange.js';
import { hostNow } from '../store/host-clock.js';
import { EventDetail } from './EventDetail.js';
import { eventTest, EventNames, nameChoice, type EventName } from './event-filter.js';
import { EventsTable } from './EventsTable.js';
import { JoinedText } from './JoinedText.js';
import { LlmTextAssembler } from './llm-text.js';
import { SharedPrefix } from './shared-prefix.js';
import { describeStats, streamStats } from './stats.js';
import type { StreamEventRow } from './stream-events.js';
import './sse.css';

export interface SseViewProps {
  /** Its arrays grow in place; `revision` says when. */
  readonly exchange: ExchangeView;
  /** The exchange's revision: changes whenever its events did, so the view re-derives. */
  readonly revision: number;
  /**
   * Events cut from the body by the caller (NDJSON lines, `NdjsonSplitter`; AWS event-stream
   * messages, `EventStreamSplitter`); append-only like the store's arrays. Left out, the view
   * shows the exchange's SSE events.
   */
  readonly rows?: readonly StreamEventRow[] | undefined;
  /** The given rows have event names (AWS event-stream messages do, NDJSON lines do not). */
  readonly named?: boolean;
}

/** The events of a streamed response, live: a table of events and, for LLM APIs, the joined text. */
export function SseView(props: SseViewProps) {
  // Selection, scroll and the text assembler belong to one exchange; another starts afresh.
  return <SseViewBody key={props.exchange.id} {...props} />;
}

interface Selection {
  /** Position counted from the first event ever, so it survives the oldest being dropped. */
  readonly absolute: number | undefined;
  readonly expanded: boolean;
}

/**
 * A reader of the rows made afresh whenever `generation` changes: the oldest rows were dropped,
 * so the positions it has read up to no longer hold.
 */
function useReader<T>(make: () => T, generation: number): T {
  const ref = useRef<{ generation: number; reader: T }>(undefined);
  if (ref.current?.generation !== generation) ref.current = { generation, reader: make() };
  return ref.current.reader;
}

function SseViewBody({ exchange, revision, rows: givenRows, named = givenRows === undefined }: SseViewProps) {
  const rows = givenRows ?? exchange.sse;
  // A long stream's oldest events leave the page (the store's cap); rows cut from a body do not.
  const dropped = givenRows === undefined ? exchange.sseDropped : 0;
  // Arrays grow in place, so the length (and the revision) stand in for identity in memo keys.
  const count = rows.length;
  const live = exchange.closed === undefined;
  const now = useHostNowWhileLive(rows, live);

  const assembler = useReader(() => new LlmTextAssembler(), dropped);
  // `sync` only reads rows it has not seen, so this is O(new events) per update.
  const llm = useMemo(() => assembler.sync(rows), [assembler, rows, count, revision]);

  const [tab, setTab] = useState<'events' | 'text'>('events');
  const showText = tab === 'text' && llm.provider !== undefined;
  const [selection, setSelection] = useState<Selection>({ absolute: undefined, expanded: false });
  const selected = selection.absolute === undefined ? undefined : selection.absolute - dropped;
  const selectedRow = selected === undefined || selected < 0 ? undefined : rows[selected];
  const [query, setQuery] = useState<RowQuery>(NO_QUERY);
  // Dropping the oldest shifts every index: the filter starts over then.
  const indices = useRowFilter(rows, count, query, eventTest, dropped);
  const sharedPrefix = useReader(() => new SharedPrefix(), dropped);
  // An LLM stream shows what each event added instead; others hide the start all events share.
  const skip = useMemo(
    () => (llm.provider === undefined ? sharedPrefix.sync(rows) : 0),
    [sharedPrefix, rows, count, llm.provider],
  );
  const eventNames = useReader(() => new EventNames(), dropped);
  // Like the assembler: only the events since the last update are read.
  const names = useMemo(() => eventNames.sync(rows), [eventNames, rows, count]);

  const ruleMarks = useMemo(() => ruleMarksOf(exchange.rules), [exchange.rules, exchange.rules.length]);
  const stats = streamStats(
    rows,
    { requestStart: exchange.opened.t, responseStart: exchange.response?.t, now },
    { count: dropped, first: exchange.sseFirst },
  );
  const summary = describeStats(stats, {
    live,
    retryMs: exchange.sseRetryMs,
    shown: indices?.length,
    dropped,
  });
  const idPrefix = `sse-${exchange.id}`;

  return (
    <div className="live-view sse-view">
      <div className="live-bar">
        <div className="live-stats" data-testid="sse-stats" title={summary}>
          {live && <span className="live-dot sse-live" title="The stream is open" />}
          {summary}
        </div>
        {llm.provider !== undefined && (
          <div className="sse-tabs" role="tablist" aria-label="Stream view">
            <button
              type="button"
              role="tab"
              id={`${idPrefix}-tab-events`}
              aria-selected={!showText}
              aria-controls={`${idPrefix}-panel`}
              onClick={() => setTab('events')}
            >
              Table
            </button>
            <button
              type="button"
              role="tab"
              id={`${idPrefix}-tab-text`}
              aria-selected={showText}
              aria-controls={`${idPrefix}-panel`}
              onClick={() => setTab('text')}
            >
              Joined text
            </button>
          </div>
        )}
      </div>
      <MessagesNotKeptNote exchange={exchange} />
      <div className="sse-panel" id={`${idPrefix}-panel`} role={llm.provider !== undefined ? 'tabpanel' : undefined}>
        {!showText && (
          <TableFilter
            query={query}
            onQuery={setQuery}
            label="Filter events"
            placeholder={named ? 'Filter: name, id or data' : 'Filter lines'}
          >
            {named && <NameChoice names={names} query={query} onQuery={setQuery} />}
          </TableFilter>
        )}
        <EventsTable
          rows={rows}
          count={count}
          indices={indices}
          start={exchange.opened.t}
          idPrefix={idPrefix}
          selected={selected}
          expanded={selection.expanded}
          onSelect={(index, expanded) => setSelection({ absolute: index + dropped, expanded })}
          active={!showText}
          followInitially={live}
          sseFields={named}
          ruleMarks={ruleMarks}
          contributions={llm.provider !== undefined ? llm.contributions : undefined}
          sharedPrefix={skip}
        />
        {showText && <JoinedText llm={llm} live={live} requestStart={exchange.opened.t} />}
      </div>
      {!showText && selection.expanded && selectedRow && (
        <EventDetail
          row={selectedRow}
          start={exchange.opened.t}
          onClose={() => setSelection({ absolute: selection.absolute, expanded: false })}
        />
      )}
    </div>
  );
}

interface NameChoiceProps {
  readonly names: readonly EventName[] | undefined;
  readonly query: RowQuery;
  readonly onQuery: (query: RowQuery) => void;
}

/**
 * A select of the event names seen, with their counts: shown once there are two names to choose
 * between (or one is chosen), not for streams that name no event or each one differently.
 */
function NameChoice({ names = [], query, onQuery }: NameChoiceProps) {
  if (names.length < 2 && query.choice === '') return null;
  // Names can outgrow the list after one was chosen; the choice still shows as chosen.
  const lost = query.choice !== '' && !names.some(({ name }) => nameChoice(name) === query.choice);
  return (
    <select
      aria-label="Event name"
      value={query.choice}
      onChange={(e) => onQuery({ ...query, choice: e.target.value })}
    >
      <option value="">All event names</option>
      {names.map(({ name, count }) => (
        <option key={nameChoice(name)} value={nameChoice(name)}>
          {name ?? '(no name)'} ({formatCount(count)})
        </option>
      ))}
      {lost && <option value={query.choice}>{query.choice.slice(1) || '(no name)'}</option>}
    </select>
  );
}

/**
 * The host clock's "now" while the stream is live, re-rendering each second so the recent rate
 * falls when the stream goes quiet; undefined once it closed. Never before the newest event, in
 * case the page's estimate of the host clock lags.
 */
function useHostNowWhileLive(rows: readonly StreamEventRow[], live: boolean): number | undefined {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setTick((tick) => tick + 1), 1000);
    return () => clearInterval(timer);
  }, [live]);
  if (!live) return undefined;
  const lastRow = rows[rows.length - 1];
  return lastRow ? Math.max(lastRow.t, hostNow()) : hostNow();
}
