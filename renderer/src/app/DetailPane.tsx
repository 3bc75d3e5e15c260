import { isFailure } from '../../../app/proxy-events.js';
import { formatBytes, formatDuration } from '../format.js';
import type { ExchangeView } from '../model/exchange.js';
import { SseView } from '../sse/SseView.js';
import { ChunkTimeline } from '../timeline/ChunkTimeline.js';
import {
  clientClosedNote,
  OUTCOME_WORDS,
  protocolSummary,
  rowState,
  STATE_WORDS,
  typeCategory,
} from '../store/exchange-row.js';
import { useExchange, useSluice, type DetailTab } from '../store/store.js';
import { BodyPanel } from './BodyPanel.js';
import { CopyRequestMenu } from './CopyRequestMenu.js';
import { HeadersView } from './HeadersView.js';
import { useNdjsonRows } from './use-ndjson-rows.js';
import { useHostNow } from './use-now.js';
import { MessagesView } from '../websocket/MessagesView.js';
import './detail-pane.css';

export function DetailPane() {
  const selectedId = useSluice((s) => s.selectedId);
  const x = useExchange(selectedId);
  if (!x) {
    return (
      <section className="detail-pane empty muted" aria-label="Details">
        Select an exchange to see its headers, body, events and chunk timeline.
      </section>
    );
  }
  return <Detail x={x} />;
}

function Detail({ x }: { x: ExchangeView }) {
  const chosen = useSluice((s) => s.detailTab);
  const setTab = useSluice((s) => s.setDetailTab);
  const open = x.closed === undefined;
  const now = useHostNow(open);
  const category = typeCategory(x);
  const ndjson = category === 'ndjson';
  const hasEvents = category === 'sse' || ndjson || x.sse.length > 0;
  const ndjsonRows = useNdjsonRows(x, ndjson && chosen === 'events');
  const hasMessages = x.opened.kind === 'websocket' || x.messages.length > 0;
  const messageCount = x.messages.length + x.messagesDropped;
  const tabs: { id: DetailTab; label: string }[] = [
    { id: 'headers', label: 'Headers' },
    { id: 'body', label: 'Body' },
    ...(hasEvents ? [{ id: 'events' as const, label: ndjson ? 'Events' : `Events (${x.sse.length})` }] : []),
    ...(hasMessages ? [{ id: 'messages' as const, label: `Messages (${messageCount})` }] : []),
    { id: 'timeline', label: 'Timeline' },
  ];
  const tab = (chosen === 'events' && !hasEvents) || (chosen === 'messages' && !hasMessages) ? 'body' : chosen;
  const endedAt = x.closed?.t;

  return (
    <section className="detail-pane" aria-label={`Exchange ${x.id}`}>
      <div className="detail-head">
        <p className="mono detail-url" title={x.opened.request.url}>
          <strong>{x.opened.request.method}</strong> {x.opened.request.url}
        </p>
        <p className="protocol muted" data-testid="protocol">
          {protocolSummary(x)}
        </p>
        <Outcome x={x} now={now} />
        <CopyRequestMenu x={x} />
      </div>
      <div className="tabs" role="tablist">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            className={tab === t.id ? 'tab active' : 'tab'}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="tab-body" role="tabpanel">
        {tab === 'headers' && <HeadersView x={x} />}
        {tab === 'body' && (
          <>
            {x.requestBody.bytes > 0 && <BodyPanel x={x} direction="request" />}
            <BodyPanel x={x} direction="response" />
          </>
        )}
        {tab === 'events' && (
          <SseView exchange={x} revision={x.revision} rows={ndjson ? (ndjsonRows ?? []) : undefined} />
        )}
        {tab === 'messages' && <MessagesView exchange={x} revision={x.revision} />}
        {tab === 'timeline' && (
          <div className="timelines">
            {/* The request body only when there was one: most requests have none. */}
            {[x.responseBody, ...(x.requestBody.chunks.length > 0 ? [x.requestBody] : [])].map((body) => (
              <ChunkTimeline
                key={body.direction}
                body={body}
                startedAt={x.opened.t}
                endedAt={endedAt}
                revision={x.revision}
                now={now}
              />
            ))}
          </div>
        )}
      </div>
    </section>
  );
}

/** How the exchange ended, in words; a stream the client closed normally is not a failure. */
function Outcome({ x, now }: { x: ExchangeView; now: number }) {
  const state = rowState(x);
  const status = x.response ? `${x.response.response.status} ${x.response.response.statusText}` : 'no response yet';
  const duration = formatDuration((x.closed?.t ?? now) - x.opened.t);
  const size = formatBytes(x.responseBody.bytes);
  if (!x.closed) {
    return (
      <p className="outcome live" data-testid="outcome" data-outcome={state}>
        {status} · {STATE_WORDS[state]} · {size} · {duration}
      </p>
    );
  }
  const failed = isFailure(x.closed.outcome);
  const paused = x.closed.pausedMs > 0 ? ` · paused ${formatDuration(x.closed.pausedMs)} by backpressure` : '';
  return (
    <p className={`outcome ${failed ? 'failed' : 'ok'}`} data-testid="outcome" data-outcome={x.closed.outcome}>
      {status} · <strong>{OUTCOME_WORDS[x.closed.outcome]}</strong>
      {x.closed.outcome === 'client-closed' ? ` (${clientClosedNote(x)})` : ''}
      {failed && x.closed.detail ? `: ${x.closed.detail}` : ''} · {size} · {duration}
      {paused}
    </p>
  );
}
