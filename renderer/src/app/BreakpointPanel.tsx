import { useEffect, useState } from 'react';
import type { BreakpointHeldEvent } from '../../../app/proxy-events.js';
import { bytesFromBase64 } from '../base64.js';
import { formatBytes } from '../format.js';
import { useHost } from './host-context.js';
import { useCommand } from './use-command.js';

/**
 * A stream held at a breakpoint: the held event, editable when it is text, and the three ways on:
 * release it (as edited), drop it, or let it and the rest of the stream go. A held request shows
 * its head, and is sent or dropped (the client then gets a 502 saying so).
 */
export function BreakpointPanel({ held }: { held: BreakpointHeldEvent }) {
  const host = useHost();
  const run = useCommand();
  const [text, setText] = useState(held.text ?? '');
  const [sent, setSent] = useState(false);
  useEffect(() => {
    setText(held.text ?? '');
    setSent(false);
  }, [held.breakpoint, held.text]);
  const decide = (outcome: 'released' | 'dropped' | 'released-all', edited?: string): void => {
    setSent(true);
    run(() =>
      host.call('breakpoint.resolve', {
        breakpoint: held.breakpoint,
        outcome,
        ...(edited === undefined ? {} : { text: edited }),
      }),
    );
  };
  const edited = held.text !== undefined && text !== held.text;
  // Event 0 of the request is its head: held before anything went upstream.
  if (held.direction === 'request' && held.event === 0) {
    return (
      <div className="breakpoint" data-testid="breakpoint" role="group" aria-label="Held at a breakpoint">
        <p>
          <strong>Held</strong> by rule <strong>{held.rule}</strong> before its request goes upstream: the upstream has
          not been asked yet. Its method, path and fields can be edited; the body goes as the client sends it.
        </p>
        <HeldText label="Held request" text={text} onText={setText} />
        <p>
          <button type="button" disabled={sent} onClick={() => decide('released', edited ? text : undefined)}>
            {edited ? 'Send edited' : 'Send request'}
          </button>{' '}
          <button type="button" disabled={sent} onClick={() => decide('dropped')}>
            Drop request
          </button>
        </p>
      </div>
    );
  }
  const fromClient = held.direction === 'request';
  return (
    <div className="breakpoint" data-testid="breakpoint" role="group" aria-label="Held at a breakpoint">
      <p>
        <strong>Held</strong> by rule <strong>{held.rule}</strong> before event {held.event}
        {fromClient
          ? ' of what the client sends: nothing more goes to the upstream, and the client waits.'
          : ': nothing more goes to the client, and the upstream waits.'}
      </p>
      {held.text !== undefined ? (
        <HeldText label="Held event" text={text} onText={setText} />
      ) : (
        <p className="muted">
          Not text ({formatBytes(bytesFromBase64(held.base64 ?? '').length)}): it can be released or dropped.
        </p>
      )}
      <p>
        <button type="button" disabled={sent} onClick={() => decide('released', edited ? text : undefined)}>
          {edited ? 'Release edited' : 'Release'}
        </button>{' '}
        <button type="button" disabled={sent} onClick={() => decide('dropped')}>
          Drop event
        </button>{' '}
        <button type="button" disabled={sent} onClick={() => decide('released-all')}>
          Release stream
        </button>
      </p>
    </div>
  );
}

/** What is held, as the user edits it. */
function HeldText({ label, text, onText }: { label: string; text: string; onText: (text: string) => void }) {
  return (
    <textarea
      aria-label={label}
      data-testid="breakpoint-text"
      spellCheck={false}
      value={text}
      onChange={(e) => onText(e.target.value)}
    />
  );
}
