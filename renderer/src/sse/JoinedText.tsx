import { useRef, useState } from 'react';
import type { LlmProvider, LlmText } from './llm-text.js';
import { LlmMetricsLine } from './LlmMetricsLine.js';
import { LLM_FORMAT_NAMES } from '../llm/llm-request.js';
import { MarkdownView } from './MarkdownView.js';
import { plural } from './sse-format.js';
import { useStickToBottom } from './use-stick-to-bottom.js';

// The request formats by the same names, and Bedrock's own stream, which has no request reader.
const PROVIDER_NAMES: Record<LlmProvider, string> = {
  ...LLM_FORMAT_NAMES,
  'bedrock-converse': 'Bedrock ConverseStream',
};

export interface JoinedTextProps {
  readonly llm: LlmText;
  readonly live: boolean;
  /** When the request started, on the events' clock: time to first token counts from it. */
  readonly requestStart: number;
}

/**
 * The answer as the model wrote it. Everything here is model output and is rendered as text
 * nodes only, never as HTML. Follows the end while the text grows, like the events table.
 */
export function JoinedText({ llm, live, requestStart }: JoinedTextProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const stick = useStickToBottom(scrollRef, live);
  const state = llm.done ? 'finished' : live ? 'writing…' : 'stream ended without a finish marker';
  const [markdown, setMarkdown] = useState(false);

  return (
    <div className="sse-joined-wrap">
      <LlmMetricsLine llm={llm} requestStart={requestStart} />
      <div className="sse-joined" ref={scrollRef} onScroll={stick.onScroll}>
        {llm.errors && (
          <div className="sse-errors" role="alert">
            {llm.errors.map((error, i) => (
              <div key={i}>Error in stream: {error}</div>
            ))}
          </div>
        )}
        {llm.thinking && (
          <details className="sse-section" open>
            <summary>Thinking</summary>
            <pre className="sse-text sse-thinking" data-testid="sse-joined-thinking">
              {llm.thinking}
            </pre>
          </details>
        )}
        {markdown ? (
          <MarkdownView text={llm.text} />
        ) : (
          <pre className="sse-text" data-testid="sse-joined-text">
            {llm.text}
          </pre>
        )}
        {llm.toolCalls && (
          <details className="sse-section" open>
            <summary>Tool calls</summary>
            {llm.toolCalls.map((call, i) => (
              <div key={i} className="sse-tool-call" data-testid="sse-tool-call">
                <div className="sse-tool-name">
                  {call.name ?? 'a tool'}
                  {call.id && <span className="muted"> ({call.id})</span>}
                </div>
                <pre className="sse-text">{prettyArguments(call.arguments)}</pre>
              </div>
            ))}
          </details>
        )}
      </div>
      <div className="sse-joined-foot">
        {llm.provider && PROVIDER_NAMES[llm.provider]} · assembled from {plural(llm.eventsUsed, 'event')} · {state}{' '}
        <button type="button" aria-pressed={markdown} onClick={() => setMarkdown(!markdown)}>
          {markdown ? 'Show as text' : 'Show as Markdown'}
        </button>
      </div>
      {live && !stick.stuck && (
        <button type="button" className="live-jump" onClick={stick.jumpToLatest}>
          Jump to latest ↓
        </button>
      )}
    </div>
  );
}

/** Arguments indented once they are whole JSON; partial ones (still streaming) as they came. */
function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
