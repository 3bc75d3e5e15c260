import { useMemo, useState } from 'react';
import type { Direction } from '../../../app/proxy-events.js';
import { formatBytes } from '../format.js';
import type { ExchangeView } from '../model/exchange.js';
import { decodeUtf8, hexDump, prettyJson } from './body-format.js';
import { BODY_SHOW_LIMIT, useBody } from './use-body.js';

type Mode = 'text' | 'json' | 'hex';
const HEX_LIMIT = 64 * 1024;

/** One body as text, pretty JSON or hex, growing while the stream is open. */
export function BodyPanel({ x, direction }: { x: ExchangeView; direction: Direction }) {
  const { body, missing, error } = useBody(x, direction);
  const [chosen, setChosen] = useState<Mode | undefined>();
  const forwarded = (direction === 'request' ? x.requestBody : x.responseBody).bytes;

  const text = useMemo(() => (body ? decodeUtf8(body.bytes) : undefined), [body]);
  const json = useMemo(() => (text !== undefined && chosen !== 'hex' ? prettyJson(text) : undefined), [text, chosen]);
  const mode: Mode = chosen ?? (text === undefined ? 'hex' : json !== undefined ? 'json' : 'text');

  if (forwarded === 0 && !body?.bytes.length) return <p className="muted body-empty">No {direction} body.</p>;
  const range = body?.range;
  const decoded = range?.decoded;

  return (
    <div className="body-panel" data-testid={`body-${direction}`}>
      <div className="body-bar">
        {(['text', 'json', 'hex'] as const).map((m) => (
          <button
            key={m}
            type="button"
            aria-pressed={mode === m}
            disabled={(m === 'json' && json === undefined) || (m === 'text' && text === undefined)}
            onClick={() => setChosen(m)}
          >
            {m === 'json' ? 'JSON' : m === 'hex' ? 'Hex' : 'Text'}
          </button>
        ))}
        <span className="muted" data-testid="body-info">
          {describe(forwarded, range?.captured, decoded, body?.bytes.length)}
        </span>
      </div>
      {error && <p className="banner error">Could not read the body: {error}</p>}
      {missing && (
        <p className="banner warning">
          No copy of this body was kept (capture was paused, or it was cleared); it was forwarded in full.
        </p>
      )}
      {range?.limited && (
        <p className="banner warning" data-testid="body-truncated">
          Capture stopped after {formatBytes(range.captured)} ({range.limited}); the stream itself was forwarded in full
          ({formatBytes(forwarded)}).
        </p>
      )}
      {decoded?.error && (
        <p className="banner warning">
          Decoding {decoded.encoding} stopped: {decoded.error}
        </p>
      )}
      {body && body.bytes.length >= BODY_SHOW_LIMIT && (
        <p className="banner info">Showing the first {formatBytes(BODY_SHOW_LIMIT)}.</p>
      )}
      <pre className="body-content mono" data-testid="body-content">
        {mode === 'hex' && body ? hexDump(body.bytes, HEX_LIMIT) : mode === 'json' ? json : text}
      </pre>
      {mode === 'hex' && body && body.bytes.length > HEX_LIMIT && (
        <p className="muted">Hex shows the first {formatBytes(HEX_LIMIT)}.</p>
      )}
    </div>
  );
}

function describe(
  forwarded: number,
  captured: number | undefined,
  decoded: { encoding: string; decodedSize: number } | undefined,
  shown: number | undefined,
): string {
  const parts = [`${formatBytes(forwarded)} forwarded`];
  if (captured !== undefined && captured !== forwarded) parts.push(`${formatBytes(captured)} captured`);
  if (decoded)
    parts.push(
      `${decoded.encoding}: ${formatBytes(captured ?? forwarded)} encoded → ${formatBytes(decoded.decodedSize)} decoded`,
    );
  else if (shown === undefined) parts.push('loading…');
  return parts.join(' · ');
}
