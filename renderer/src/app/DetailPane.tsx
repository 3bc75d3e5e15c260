import { lazy, Suspense, useMemo } from 'react';
import { displayId } from '../../../app/contract.js';
import { isFailure } from '../../../app/proxy-events.js';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import { ruleLines } from './rule-summary.js';
import { BreakpointPanel } from './BreakpointPanel.js';
import type { ExchangeView } from '../model/exchange.js';
import { plural } from '../sse/sse-format.js';
import { SseView } from '../sse/SseView.js';
import { ChunkTimeline } from '../timeline/ChunkTimeline.js';
import {
  bodyShortfall,
  clientClosedNote,
  OUTCOME_WORDS,
  protocolSummary,
  rowState,
  RPC_PROTOCOL_NAMES,
  STATE_WORDS,
  typeCategory,
} from '../store/exchange-row.js';
import { useExchange, useSluice, type DetailTab } from '../store/store.js';
import { BodyPanel } from './BodyPanel.js';
import { CopyRequestMenu } from './CopyRequestMenu.js';
import { ServeAsMock } from './ServeAsMock.js';
import { ConversationView } from '../llm/ConversationView.js';
import { useLlmRequest } from '../llm/use-llm-request.js';
import { CompareButton } from './CompareButton.js';
import { ResendMenu } from './ResendMenu.js';
import { StopButton } from './StopButton.js';
import { HeadersView } from './HeadersView.js';
import { useBodyEventRows } from './use-body-event-rows.js';
import { useHostNow } from './use-now.js';
import { useHeldDetails } from './use-held-details.js';
import { MessagesView } from '../websocket/MessagesView.js';
import './detail-pane.css';

// With @bufbuild/protobuf, loaded when a call's messages are first shown, not with the page.
const RpcMessagesView = lazy(() => import('../rpc/RpcMessagesView.js').then((m) => ({ default: m.RpcMessagesView })));

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
  const heldFailure = useHeldDetails(x);
  const category = typeCategory(x);
  const bodyEvents = category === 'ndjson' || category === 'eventstream' ? category : undefined;
  const hasEvents = category === 'sse' || bodyEvents !== undefined || x.sse.length > 0;
  // Read whichever tab shows, so the tab can say how many events there are, as it does for SSE.
  const bodyRows = useBodyEventRows(x, bodyEvents);
  const eventCount = bodyEvents ? (bodyRows?.length ?? 0) : x.sse.length + x.sseDropped;
  const rpc = x.rpc !== undefined || x.rpcMessages.length > 0;
  const hasMessages = rpc || x.opened.kind === 'websocket' || x.messages.length > 0;
  const messageCount = rpc ? x.rpcMessages.length + x.rpcMessagesDropped : x.messages.length + x.messagesDropped;
  const llmRequest = useLlmRequest(x);
  const tabs: { id: DetailTab; label: string }[] = [
    { id: 'headers', label: 'Headers' },
    { id: 'body', label: 'Body' },
    ...(llmRequest ? [{ id: 'conversation' as const, label: 'Conversation' }] : []),
    ...(hasEvents ? [{ id: 'events' as const, label: `Events (${formatCount(eventCount)})` }] : []),
    ...(hasMessages ? [{ id: 'messages' as const, label: `Messages (${formatCount(messageCount)})` }] : []),
    { id: 'timeline', label: 'Timeline' },
  ];
  const tab =
    (chosen === 'events' && !hasEvents) ||
    (chosen === 'messages' && !hasMessages) ||
    (chosen === 'conversation' && !llmRequest)
      ? 'body'
      : chosen;
  const endedAt = x.closed?.t;

  return (
    <section className="detail-pane" aria-label={`Exchange ${displayId(x.id)}`}>
      <div className="detail-head">
        <p className="mono detail-url" title={x.opened.request.url}>
          <strong>{x.opened.request.method}</strong> {x.opened.request.url}
        </p>
        <p className="protocol muted" data-testid="protocol">
          {protocolSummary(x)}
        </p>
        {x.opened.resentFrom !== undefined && <ResentFrom from={x.opened.resentFrom} />}
        <Outcome x={x} now={now} />
        <RulesApplied x={x} />
        {x.breakpoint && <BreakpointPanel held={x.breakpoint} />}
        <div className="detail-actions">
          <CopyRequestMenu x={x} />
          <StopButton x={x} />
          <ResendMenu x={x} />
          <ServeAsMock x={x} />
          <CompareButton x={x} />
        </div>
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
        {x.held !== undefined && tab !== 'headers' && tab !== 'body' && (
          <p className="muted" data-testid="held-details">
            {heldFailure
              ? `This exchange's events could not be read: ${heldFailure}.`
              : "Reading this exchange's events from the capture…"}
          </p>
        )}
        {tab === 'headers' && <HeadersView x={x} />}
        {tab === 'body' && <Bodies x={x} onShow={setTab} />}
        {tab === 'conversation' && llmRequest && (
          <ConversationView
            x={x}
            request={llmRequest}
            rows={bodyEvents ? (bodyRows ?? []) : x.sse}
            onRaw={() => setTab('body')}
          />
        )}
        {tab === 'events' && (
          <SseView
            exchange={x}
            revision={x.revision}
            rows={bodyEvents ? (bodyRows ?? []) : undefined}
            named={bodyEvents === 'eventstream' || bodyEvents === undefined}
          />
        )}
        {tab === 'messages' &&
          (rpc ? (
            <Suspense fallback={<p className="muted">Loading…</p>}>
              <RpcMessagesView exchange={x} revision={x.revision} />
            </Suspense>
          ) : (
            <MessagesView exchange={x} revision={x.revision} />
          ))}
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

/** This exchange sent another's request again: a link back to it. */
function ResentFrom({ from }: { from: number }) {
  const select = useSluice((s) => s.select);
  return (
    <p className="resent-from muted" data-testid="resent-from">
      Sent again from{' '}
      <button type="button" className="link" onClick={() => select(from)}>
        exchange {displayId(from)}
      </button>
    </p>
  );
}

/** The Body tab: the bodies of an HTTP exchange; for a WebSocket or a tunnel, what it carries instead. */
function Bodies({ x, onShow }: { x: ExchangeView; onShow: (tab: DetailTab) => void }) {
  if (x.opened.kind === 'websocket') return <WebSocketBody x={x} onShow={onShow} />;
  if (x.opened.kind === 'tunnel') return <TunnelBody x={x} onShow={onShow} />;
  // The request body only when there was one, or one was announced: most requests have none.
  const request = x.requestBody.bytes > 0 || bodyShortfall(x, 'request') !== undefined;
  return (
    <>
      {x.rpc && (
        <div className="body-note" data-testid="body-rpc">
          <p>
            {RPC_PROTOCOL_NAMES[x.rpc.protocol]} bodies carry framed messages; below they are as forwarded. The Messages
            tab shows each message decoded, with its time, and the call&apos;s status.
          </p>
          <button type="button" onClick={() => onShow('messages')}>
            Show messages
          </button>
        </div>
      )}
      {request && <BodyPanel x={x} direction="request" />}
      <BodyPanel x={x} direction="response" />
    </>
  );
}

/**
 * After its 101 a WebSocket carries messages, not a body; the proxy reads them as frames and keeps
 * no body copy, so this says so and points to the messages rather than waiting for a body.
 */
function WebSocketBody({ x, onShow }: { x: ExchangeView; onShow: (tab: DetailTab) => void }) {
  const status = x.response?.response;
  if (!status) {
    return <p className="body-note muted">The WebSocket upgrade is waiting for the upstream&apos;s answer.</p>;
  }
  if (status.status !== 101) {
    return (
      <p className="body-note">
        The upstream refused the WebSocket upgrade with {status.status} {status.statusText}. Sluice keeps no copy of the
        bodies of an upgrade, so its {formatBytes(x.responseBody.bytes)} response body was forwarded but not kept.
      </p>
    );
  }
  const count = x.messages.length + x.messagesDropped;
  return (
    <div className="body-note" data-testid="body-websocket">
      <p>
        A WebSocket has no body: after the 101 Switching Protocols both sides send messages, {plural(count, 'message')}{' '}
        so far. The Messages tab shows each one, its direction, time, type and data.
      </p>
      <button type="button" onClick={() => onShow('messages')}>
        Show messages
      </button>
    </div>
  );
}

/** A tunnel's bytes pass through unread (TLS that is not intercepted, or not HTTP): there is no body to show. */
function TunnelBody({ x, onShow }: { x: ExchangeView; onShow: (tab: DetailTab) => void }) {
  return (
    <div className="body-note" data-testid="body-tunnel">
      <p>
        A tunnel passes bytes through without reading them, so it has no bodies to show:{' '}
        {formatBytes(x.requestBody.bytes)} went from the client to the upstream and {formatBytes(x.responseBody.bytes)}{' '}
        came back. The Timeline tab shows their chunks.
      </p>
      <button type="button" onClick={() => onShow('timeline')}>
        Show timeline
      </button>
    </div>
  );
}

/** What stream rules did to this exchange: it was changed on purpose, and must say so. */
function RulesApplied({ x }: { x: ExchangeView }) {
  const lines = useMemo(() => ruleLines(x.rules, x.rulesDropped), [x.rules, x.rulesDropped, x.revision]);
  if (lines.length === 0) return null;
  return (
    <ul className="rules-applied" data-testid="rules-applied" aria-label="Stream rules applied">
      {lines.map((line) => (
        <li key={line.rule}>
          Rule <strong>{line.rule}</strong>: {line.text}
        </li>
      ))}
    </ul>
  );
}

/** How the exchange ended, in words; a stream the client closed normally is not a failure. */
function Outcome({ x, now }: { x: ExchangeView; now: number }) {
  const state = rowState(x);
  const http = x.response ? `${x.response.response.status} ${x.response.response.statusText}` : 'no response yet';
  // A call's own status beside the HTTP one, which is 200 whatever the call's outcome.
  const status = x.rpcStatus ? `${http.trim()} · ${x.rpcStatus.name}` : http;
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
