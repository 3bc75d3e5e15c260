import { useMemo, useState } from 'react';
import type { ExchangeView } from '../model/exchange.js';
import { headerValue } from '../../../app/proxy-events.js';
import { decodeUtf8 } from '../app/body-format.js';
import { useBody } from '../app/use-body.js';
import { LlmTextAssembler, type LlmText, type ToolCall } from '../sse/llm-text.js';
import { parseLlmAnswer } from './llm-answer.js';
import type { StreamEventRow } from '../sse/stream-events.js';
import { LLM_FORMAT_NAMES, type LlmMessage, type LlmPart, type LlmRequest, type LlmTool } from './llm-request.js';
import './conversation.css';

export interface ConversationViewProps {
  readonly x: ExchangeView;
  readonly request: LlmRequest;
  /** The response's events (SSE, NDJSON lines, event-stream messages), for the streamed answer. */
  readonly rows: readonly StreamEventRow[];
  /** Shows the request body as sent (raw JSON). */
  readonly onRaw: () => void;
}

/**
 * One LLM call as a chat transcript: model and parameters, the system prompt, the conversation the
 * request carried, then the answer as it streamed; the tools offered below. Everything is the
 * caller's or the model's text and is rendered as text nodes, never as HTML.
 */
export function ConversationView({ x, request, rows, onRaw }: ConversationViewProps) {
  const [assembler] = useState(() => new LlmTextAssembler());
  const answer = useMemo(() => assembler.sync(rows), [assembler, rows, rows.length, x.revision]);
  const live = x.closed === undefined;
  return (
    <div className="conversation" data-testid="conversation">
      <header className="conversation-head">
        <strong>{LLM_FORMAT_NAMES[request.format]}</strong>
        {request.model !== undefined && (
          <span className="mono" data-testid="conversation-model">
            {request.model}
          </span>
        )}
        {request.params.map(([name, value]) => (
          <span key={name} className="conversation-param mono" title={value}>
            {name} {value.length > 40 ? `${value.slice(0, 40)}…` : value}
          </span>
        ))}
        <button type="button" className="link" onClick={onRaw}>
          Raw JSON
        </button>
      </header>
      {request.system !== undefined && (
        <section className="turn turn-system" data-testid="conversation-system">
          <div className="turn-role">system</div>
          <pre className="turn-text">{request.system}</pre>
        </section>
      )}
      {request.messages.map((message, i) => (
        <Turn key={i} message={message} />
      ))}
      <Answer x={x} request={request} streamed={answer} live={live} />
      {request.tools.length > 0 && <Tools tools={request.tools} />}
    </div>
  );
}

function Turn({ message }: { message: LlmMessage }) {
  return (
    <section className={`turn turn-${message.role}`} data-testid="conversation-turn" data-role={message.role}>
      <div className="turn-role">{message.role}</div>
      {message.parts.map((part, i) => (
        <Part key={i} part={part} />
      ))}
    </section>
  );
}

function Part({ part }: { part: LlmPart }) {
  switch (part.kind) {
    case 'text':
      return <pre className="turn-text">{part.text}</pre>;
    case 'media':
      return <div className="turn-media">[{part.label}]</div>;
    case 'tool-call':
      return (
        <div className="turn-tool">
          <div>
            calls <strong className="mono">{part.name}</strong>
            {part.id !== undefined && <span className="muted mono"> {part.id}</span>}
          </div>
          <pre className="turn-code">{pretty(part.arguments)}</pre>
        </div>
      );
    case 'tool-result':
      return (
        <div className="turn-tool">
          <div>
            result{part.name !== undefined && <strong className="mono"> {part.name}</strong>}
            {part.id !== undefined && <span className="muted mono"> for {part.id}</span>}
          </div>
          <pre className="turn-code">{pretty(part.content)}</pre>
        </div>
      );
  }
}

/** The answer, as the last turn: assembled from the stream's events, or read from a JSON body. */
function Answer({
  x,
  request,
  streamed,
  live,
}: {
  x: ExchangeView;
  request: LlmRequest;
  streamed: LlmText;
  live: boolean;
}) {
  if (streamed.provider !== undefined) {
    return <AnswerTurn answer={streamed} writing={live && !streamed.done} />;
  }
  return <BodyAnswer x={x} request={request} live={live} />;
}

/** A call made without streaming: its answer is the response body, read once it has all come. */
function BodyAnswer({ x, request, live }: { x: ExchangeView; request: LlmRequest; live: boolean }) {
  const json = /json/i.test(headerValue(x.response?.response.headers, 'content-type') ?? '');
  const { body } = useBody(x, 'response', json && !live);
  const parsed = useMemo(() => {
    const text = body ? decodeUtf8(body.bytes) : undefined;
    return text === undefined ? undefined : parseLlmAnswer(request.format, text);
  }, [body, request.format]);
  if (parsed) return <AnswerTurn answer={parsed} writing={false} />;
  return (
    <section className="turn turn-answer muted" data-testid="conversation-answer">
      <div className="turn-role">answer</div>
      {live ? 'Waiting for the answer…' : 'No answer to read in this format: the response body has what came.'}
    </section>
  );
}

interface AnswerParts {
  readonly text: string;
  readonly thinking?: string | undefined;
  readonly toolCalls?: readonly ToolCall[] | undefined;
  readonly model?: string | undefined;
  readonly finishReason?: string | undefined;
}

function AnswerTurn({ answer, writing }: { answer: AnswerParts; writing: boolean }) {
  return (
    <section className="turn turn-answer" data-testid="conversation-answer">
      <div className="turn-role">
        answer{answer.model !== undefined && <span className="muted"> · {answer.model}</span>}
        {answer.finishReason !== undefined && <span className="muted"> · {answer.finishReason}</span>}
        {writing && <span className="muted"> · writing…</span>}
      </div>
      {answer.thinking && <pre className="turn-text turn-thinking">{answer.thinking}</pre>}
      {answer.text !== '' && <pre className="turn-text">{answer.text}</pre>}
      {answer.toolCalls?.map((call, i) => (
        <Part
          key={i}
          part={{
            kind: 'tool-call',
            name: call.name ?? '?',
            ...(call.id !== undefined && { id: call.id }),
            arguments: call.arguments,
          }}
        />
      ))}
    </section>
  );
}

function Tools({ tools }: { tools: readonly LlmTool[] }) {
  return (
    <section className="conversation-tools" data-testid="conversation-tools">
      <h3>Tools offered ({tools.length})</h3>
      {tools.map((tool) => (
        <details key={tool.name} className="conversation-tool" data-testid="conversation-tool">
          <summary>
            <strong className="mono">{tool.name}</strong>
            {tool.description !== undefined && <span className="muted"> {tool.description}</span>}
          </summary>
          {tool.schema !== undefined && <pre className="turn-code">{JSON.stringify(tool.schema, null, 2)}</pre>}
        </details>
      ))}
    </section>
  );
}

/** JSON indented when it is whole JSON; as it came otherwise (arguments still streaming). */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
