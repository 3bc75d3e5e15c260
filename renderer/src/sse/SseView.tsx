import { useEffect, useMemo, useState } from 'react';
import type { ExchangeView } from '../model/exchange.js';
import { hostNow } from '../store/host-clock.js';
import { EventDetail } from './EventDetail.js';
import { EventsTable } from './EventsTable.js';
import { JoinedText } from './JoinedText.js';
import { LlmTextAssembler } from './llm-text.js';
import { describeStats, streamStats } from './stats.js';
import type { StreamEventRow } from './stream-events.js';
import './sse.css';

export interface SseViewProps {
  /** Its arrays grow in place; `revision` says when. */
  readonly exchange: ExchangeView;
  /** The exchange's revision: changes whenever its events did, so the view re-derives. */
  readonly revision: number;
  /**
   * Events of a newline-delimited JSON body, split by the caller (see `NdjsonSplitter`);
   * append-only like the store's arrays. Left out, the view shows the exchange's SSE events.
   */
  readonly rows?: readonly StreamEventRow[] | undefined;
}

/** The events of a streamed response, live: a table of events and, for LLM APIs, the joined text. */
export function SseView(props: SseViewProps) {
  // Selection, scroll and the text assembler belong to one exchange; another starts afresh.
  return <SseViewBody key={props.exchange.id} {...props} />;
}

interface Selection {
  readonly index: number | undefined;
  readonly expanded: boolean;
}

function SseViewBody({ exchange, revision, rows: givenRows }: SseViewProps) {
  const rows = givenRows ?? exchange.sse;
  // Arrays grow in place, so the length (and the revision) stand in for identity in memo keys.
  const count = rows.length;
  const live = exchange.closed === undefined;
  const now = useHostNowWhileLive(rows, live);

  const [assembler] = useState(() => new LlmTextAssembler());
  // `sync` only reads rows it has not seen, so this is O(new events) per update.
  const llm = useMemo(() => assembler.sync(rows), [assembler, rows, count, revision]);

  const [tab, setTab] = useState<'events' | 'text'>('events');
  const showText = tab === 'text' && llm.provider !== undefined;
  const [selection, setSelection] = useState<Selection>({ index: undefined, expanded: false });
  const selectedRow = selection.index === undefined ? undefined : rows[selection.index];

  const stats = streamStats(rows, {
    requestStart: exchange.opened.t,
    responseStart: exchange.response?.t,
    now,
  });
  const summary = describeStats(stats, { live, retryMs: exchange.sseRetryMs });
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
      <div className="sse-panel" id={`${idPrefix}-panel`} role={llm.provider !== undefined ? 'tabpanel' : undefined}>
        <EventsTable
          rows={rows}
          count={count}
          start={exchange.opened.t}
          idPrefix={idPrefix}
          selected={selection.index}
          expanded={selection.expanded}
          onSelect={(index, expanded) => setSelection({ index, expanded })}
          active={!showText}
          followInitially={live}
          sseFields={givenRows === undefined}
        />
        {showText && <JoinedText llm={llm} live={live} />}
      </div>
      {!showText && selection.expanded && selectedRow && (
        <EventDetail
          row={selectedRow}
          start={exchange.opened.t}
          onClose={() => setSelection({ index: selection.index, expanded: false })}
        />
      )}
    </div>
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
