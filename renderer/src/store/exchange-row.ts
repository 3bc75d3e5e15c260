import { headerValue, type ExchangeOutcome } from '../../../app/proxy-events.js';
import type { ExchangeView } from '../model/exchange.js';
import { isNdjson, mediaType } from '../sse/stream-events.js';

/** The response's media type without parameters, lower-cased: `text/event-stream`. */
export function responseMediaType(x: ExchangeView): string {
  return mediaType(headerValue(x.response?.response.headers, 'content-type'));
}

export type TypeCategory =
  'sse' | 'ndjson' | 'json' | 'html' | 'js' | 'css' | 'image' | 'text' | 'binary' | 'websocket' | 'tunnel' | 'none';

export function typeCategory(x: ExchangeView): TypeCategory {
  if (x.opened.kind === 'websocket') return 'websocket';
  if (x.opened.kind === 'tunnel') return 'tunnel';
  const type = responseMediaType(x);
  if (!type) return 'none';
  if (type === 'text/event-stream') return 'sse';
  if (isNdjson(type)) return 'ndjson';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'text/html') return 'html';
  if (type.includes('javascript')) return 'js';
  if (type === 'text/css') return 'css';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('text/') || type.endsWith('+xml') || type === 'application/xml') return 'text';
  return 'binary';
}

/** A chunked response counts as a stream once its chunks spread over this long. */
const STREAM_SPREAD_MS = 100;

/**
 * Whether the response is a stream rather than a document: events, NDJSON, a socket, or a chunked
 * body without a length that is still open or whose chunks came spread over time. A small chunked
 * JSON reply (which is how many servers send everything) is not a stream.
 */
export function isStreamed(x: ExchangeView): boolean {
  const category = typeCategory(x);
  if (category === 'sse' || category === 'ndjson' || category === 'websocket' || category === 'tunnel') return true;
  const headers = x.response?.response.headers;
  const chunked =
    headerValue(headers, 'transfer-encoding')?.toLowerCase().includes('chunked') === true &&
    !headerValue(headers, 'content-length');
  if (!chunked) return false;
  if (!x.closed) return true;
  const { chunks } = x.responseBody;
  return chunks.length > 1 && chunks[chunks.length - 1]!.readAt - chunks[0]!.readAt >= STREAM_SPREAD_MS;
}

/** What the row's state column says: live states while open, the outcome in words once closed. */
export type RowState = 'waiting' | 'streaming' | 'receiving' | ExchangeOutcome;

export function rowState(x: ExchangeView): RowState {
  if (x.closed) return x.closed.outcome;
  if (!x.response) return 'waiting';
  return isStreamed(x) ? 'streaming' : 'receiving';
}

export const OUTCOME_WORDS: Record<ExchangeOutcome, string> = {
  completed: 'completed',
  'client-closed': 'client closed',
  'upstream-reset': 'upstream reset',
  'idle-timeout': 'idle timeout',
  'proxy-error': 'proxy error',
};

export const STATE_WORDS: Record<RowState, string> = {
  waiting: 'waiting',
  streaming: 'streaming',
  receiving: 'receiving',
  ...OUTCOME_WORDS,
};

export interface UrlParts {
  readonly host: string;
  readonly path: string;
}

export function urlParts(x: ExchangeView): UrlParts {
  const { url } = x.opened.request;
  try {
    const parsed = new URL(url);
    return { host: parsed.host, path: `${parsed.pathname}${parsed.search}` };
  } catch {
    // CONNECT tunnels name only an authority.
    return { host: url, path: '' };
  }
}

/** Milliseconds from the request to the end, or to `now` while the exchange is open. */
export function durationMs(x: ExchangeView, now: number): number {
  return (x.closed?.t ?? now) - x.opened.t;
}
