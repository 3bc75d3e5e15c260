import { useId, useMemo, useState, type ReactNode } from 'react';
import { IMPORTED_ID_BASE, type BodyRange } from '../../../app/contract.js';
import type { Direction } from '../../../app/proxy-events.js';
import { formatBytes } from '../format.js';
import type { ExchangeView } from '../model/exchange.js';
import { OUTCOME_WORDS } from '../store/exchange-row.js';
import { bodyShortfall, type Shortfall } from '../store/exchange-row.js';
import { decodeUtf8, hexDump, prettyJson } from './body-format.js';
import { CopyButton } from './CopyButton.js';
import { BODY_SHOW_LIMIT, useBody } from './use-body.js';

type Mode = 'text' | 'json' | 'hex';
const HEX_LIMIT = 64 * 1024;
const TITLES: Record<Direction, string> = { request: 'Request body', response: 'Response body' };
/** Who announced a body's length. */
const SENDERS: Record<Direction, string> = { request: 'client', response: 'upstream' };

interface PanelProps {
  readonly x: ExchangeView;
  readonly direction: Direction;
}

/** One body under a heading naming it: text, pretty JSON or hex, growing while the stream is open. */
export function BodyPanel({ x, direction }: PanelProps) {
  const titleId = useId();
  const shortfall = bodyShortfall(x, direction);
  const forwarded = (direction === 'request' ? x.requestBody : x.responseBody).bytes;
  const heading = (
    <h3 id={titleId} className="body-title">
      {TITLES[direction]}
    </h3>
  );
  return (
    <section className="body-panel" aria-labelledby={titleId} data-testid={`body-${direction}`}>
      {forwarded === 0 && !shortfall ? (
        <div className="body-bar">
          {heading}
          <span className="muted body-empty">none</span>
        </div>
      ) : (
        <BodyView x={x} direction={direction} heading={heading} shortfall={shortfall} />
      )}
    </section>
  );
}

function BodyView({ x, direction, heading, shortfall }: PanelProps & { heading: ReactNode; shortfall?: Shortfall }) {
  const { body, missing, error } = useBody(x, direction);
  const [chosen, setChosen] = useState<Mode | undefined>();
  const forwarded = (direction === 'request' ? x.requestBody : x.responseBody).bytes;

  const text = useMemo(() => (body ? decodeUtf8(body.bytes) : undefined), [body]);
  const json = useMemo(() => (text !== undefined && chosen !== 'hex' ? prettyJson(text) : undefined), [text, chosen]);
  const mode: Mode = chosen ?? (text === undefined ? 'hex' : json !== undefined ? 'json' : 'text');
  const shown = mode === 'hex' ? (body ? hexDump(body.bytes, HEX_LIMIT) : undefined) : mode === 'json' ? json : text;
  const range = body?.range;
  const decoded = range?.decoded;
  const loading = !body && !missing && !error;

  return (
    <>
      <div className="body-bar">
        {heading}
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
          {describe(forwarded, shortfall, range, loading)}
        </span>
        <CopyButton
          className="body-copy"
          text={shown ?? ''}
          disabled={shown === undefined}
          label={`Copy ${TITLES[direction].toLowerCase()}`}
          title="Copy the body as shown here: decoded, and indented when it is JSON"
        />
      </div>
      {error && <p className="banner error">Could not read the body: {error}</p>}
      {missing && <p className="banner warning">{missingText(x, forwarded)}</p>}
      {shortfall && x.closed && (
        <p className="banner warning" data-testid="body-shortfall">
          Only {formatBytes(shortfall.forwarded)} of the {formatBytes(shortfall.announced)} the {SENDERS[direction]}{' '}
          announced (Content-Length) were forwarded before the exchange ended: {OUTCOME_WORDS[x.closed.outcome]}.
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
        {shown}
      </pre>
      {mode === 'hex' && body && body.bytes.length > HEX_LIMIT && (
        <p className="muted">Hex shows the first {formatBytes(HEX_LIMIT)}.</p>
      )}
    </>
  );
}

/** Why there is no copy, without claiming a cause: the host cannot tell which one it was. */
function missingText(x: ExchangeView, forwarded: number): string {
  if (x.id >= IMPORTED_ID_BASE) return 'The imported HAR file held no copy of this body.';
  return (
    `Sluice has no copy of this body (${formatBytes(forwarded)} were forwarded). It keeps none while ` +
    'recording is paused, and lets the oldest go once the capture holds a million events.'
  );
}

function describe(forwarded: number, shortfall: Shortfall | undefined, range: BodyRange | undefined, loading: boolean) {
  const parts = [
    shortfall
      ? `${formatBytes(forwarded)} of ${formatBytes(shortfall.announced)} forwarded`
      : `${formatBytes(forwarded)} forwarded`,
  ];
  const captured = range?.captured;
  const decoded = range?.decoded;
  if (captured !== undefined && captured !== forwarded) parts.push(`${formatBytes(captured)} captured`);
  if (decoded)
    parts.push(
      `${decoded.encoding}: ${formatBytes(captured ?? forwarded)} encoded → ${formatBytes(decoded.decodedSize)} decoded`,
    );
  else if (loading) parts.push('loading…');
  return parts.join(' · ');
}
