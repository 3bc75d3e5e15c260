/**
 * A kept exchange (captured live or imported from HAR) as a recording a mock can play: its
 * response head, its body in the pieces it was read in with their times, its trailers. Pure.
 */
import { headerValue, type RawHeaders, type SseEvent } from '../../app/proxy-events.js';
import { displayId } from '../../app/contract.js';
import type { RecordedPiece, RecordedResponse } from '../../proxy-core/index.js';
import type { CapturedBody } from '../har/body-text.js';
import type { ExchangeEvents } from '../har/exchange-events.js';

export interface Recording {
  readonly response: RecordedResponse;
  /** What the recording lacked, for the user: the mock plays what there is. */
  readonly warning?: string;
}

/** The recording, or why this exchange cannot be one (in words for the user). */
export function recordingOf(exchange: ExchangeEvents, body: CapturedBody | undefined): Recording | string {
  const { opened, responseHead: head } = exchange;
  const name = `exchange ${displayId(opened.id)}`;
  if (opened.kind === 'websocket') return `${name} is a WebSocket: Sluice does not serve WebSocket mocks yet`;
  if (opened.kind !== 'http') return `${name} is a tunnel Sluice did not read: there is no response to play`;
  if (!head) return `${name} has no response to play`;
  if (!exchange.closed) return `${name} is still open: it can be served as a mock once it has ended`;
  const raw = body?.raw ?? Buffer.alloc(0);
  const responseChunks = exchange.chunks.filter((c) => c.direction === 'response').sort((a, b) => a.offset - b.offset);
  const chunkBytes = responseChunks.reduce((sum, c) => sum + c.size, 0);
  const warnings: string[] = [];
  let pieces: RecordedPiece[];
  let bodyRewritten = false;
  if (raw.length > 0 && chunkBytes === raw.length) {
    pieces = responseChunks.map((c) => ({
      atMs: Math.max(0, c.readAt - head.t),
      bytes: raw.subarray(c.offset, c.offset + c.size),
    }));
  } else if (exchange.sse.length > 0 && raw.length === 0) {
    // A browser's HAR keeps an EventSource's events (`_eventSourceMessages`) but not its body.
    pieces = exchange.sse.map((event) => ({ atMs: Math.max(0, event.t - head.t), bytes: sseText(event) }));
    bodyRewritten = true;
  } else if (raw.length > 0) {
    const last = responseChunks.at(-1);
    pieces = [{ atMs: last ? Math.max(0, last.readAt - head.t) : 0, bytes: raw }];
    if (responseChunks.length > 1) {
      warnings.push('its chunk times do not fit the body kept (it was stored decoded): the body plays in one piece');
    }
  } else {
    pieces = [];
  }
  if (body?.limited) warnings.push(`the capture kept only ${raw.length} bytes of the body (${body.limited})`);
  const requestSentAt = head.requestSentAt >= 0 ? head.requestSentAt : opened.t;
  const rpcTrailers = exchange.rpcStatus?.source === 'trailers' ? exchange.rpcStatus.trailers : [];
  return {
    response: {
      method: opened.request.method,
      url: opened.request.url,
      status: head.response.status,
      statusText: head.response.statusText,
      headers: playedHeaders(head.response.headers, pieces, bodyRewritten),
      trailers: rpcTrailers.filter(([field]) => !field.startsWith(':')),
      headAtMs: Math.max(0, head.t - requestSentAt),
      pieces,
      protocol: opened.request.httpVersion === '2' ? 'h2' : 'http/1.1',
    },
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  };
}

/**
 * The recorded fields that still describe the body played: no pseudo-fields; no Content-Length
 * when the bytes played are not that many (a body cut at the capture's cap, or rebuilt from its
 * events), and no Content-Encoding on a body rebuilt as text.
 */
function playedHeaders(headers: RawHeaders, pieces: readonly RecordedPiece[], rewritten: boolean): RawHeaders {
  const bytes = pieces.reduce((sum, p) => sum + p.bytes.length, 0);
  const declared = headerValue(headers, 'content-length');
  const lengthFits = declared !== undefined && Number(declared) === bytes && !rewritten;
  return headers.filter(([field]) => {
    const lower = field.toLowerCase();
    if (lower.startsWith(':')) return false;
    if (lower === 'content-length') return lengthFits;
    if (lower === 'content-encoding') return !rewritten;
    return true;
  });
}

/** One event as an event stream carries it; multi-line data as one `data:` line per line. */
function sseText(event: SseEvent): Buffer {
  let text = '';
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  if (event.eventId !== undefined) text += `id: ${event.eventId}\n`;
  for (const line of event.data.split('\n')) text += `data: ${line}\n`;
  return Buffer.from(`${text}\n`, 'utf8');
}
