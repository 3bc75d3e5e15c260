/**
 * A kept exchange (captured live or imported from HAR) as a recording a mock can play: its
 * response head, its body in the pieces it was read in with their times, its trailers. Pure.
 */
import {
  headerValue,
  type RawHeaders,
  type ResponseHeadEvent,
  type SseEvent,
  type WebSocketMessageEvent,
} from '../../app/proxy-events.js';
import { displayId } from '../../app/contract.js';
import { webSocketFrame, type RecordedPiece, type RecordedResponse } from '../../proxy-core/index.js';
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
  if (opened.kind === 'tunnel') return `${name} is a tunnel Sluice did not read: there is no response to play`;
  if (!head) return `${name} has no response to play`;
  if (!exchange.closed) return `${name} is still open: it can be served as a mock once it has ended`;
  if (opened.kind === 'websocket') return webSocketRecording(exchange, head, name);
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
  if (exchange.closed.outcome !== 'completed') {
    warnings.push(`it ended ${exchange.closed.outcome}: the mock plays what came, as a whole response`);
  }
  const requestSentAt = head.requestSentAt >= 0 ? head.requestSentAt : opened.t;
  const rpcTrailers = exchange.rpcStatus?.source === 'trailers' ? exchange.rpcStatus.trailers : [];
  return {
    response: {
      method: opened.request.method,
      url: opened.request.url,
      status: head.response.status,
      statusText: head.response.statusText,
      headers: playedHeaders(
        head.response.headers,
        pieces,
        bodyRewritten,
        bodiless(opened.request.method, head.response.status),
      ),
      trailers: rpcTrailers.filter(([field]) => !field.startsWith(':')),
      headAtMs: Math.max(0, head.t - requestSentAt),
      pieces,
      protocol: opened.request.httpVersion === '2' ? 'h2' : 'http/1.1',
    },
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  };
}

/**
 * A WebSocket's recording: its `101`, then the server's messages (control frames too) as frames at
 * their times. Only whole messages can be played: one kept in part (past the display cap) or
 * still compressed cannot.
 */
function webSocketRecording(exchange: ExchangeEvents, head: ResponseHeadEvent, name: string): Recording | string {
  if (head.response.status !== 101) return `${name} is a WebSocket upgrade the server refused: nothing to play`;
  const server = exchange.messages.filter((m) => m.direction === 'response');
  const partial = server.find((m) => m.truncated === true || m.compressed === true);
  if (partial) {
    return (
      `${name}'s server message ${partial.index + 1} was not kept whole ` +
      `(${partial.compressed ? 'still compressed' : 'past the display cap'}): a WebSocket mock plays every message`
    );
  }
  const pieces = server.map((m) => ({
    atMs: Math.max(0, m.t - head.t),
    bytes: webSocketFrame(m.opcode, payloadOf(m), false),
  }));
  const requestSentAt = head.requestSentAt >= 0 ? head.requestSentAt : exchange.opened.t;
  return {
    response: {
      method: exchange.opened.request.method,
      url: exchange.opened.request.url,
      status: 101,
      statusText: head.response.statusText,
      headers: head.response.headers.filter(([field]) => !field.startsWith(':')),
      trailers: [],
      headAtMs: Math.max(0, head.t - requestSentAt),
      pieces,
      protocol: 'http/1.1',
      websocket: { closesItself: serverClosedFirst(exchange.messages) },
    },
  };
}

/** The server said goodbye first: its close was not the answer to the client's. */
function serverClosedFirst(messages: readonly WebSocketMessageEvent[]): boolean {
  const closes = messages.filter((m) => m.opcode === 0x8);
  const server = closes.find((m) => m.direction === 'response');
  const client = closes.find((m) => m.direction === 'request');
  return server !== undefined && (client === undefined || server.t <= client.t);
}

/** A message's payload as sent: a close frame's code then its reason; text as UTF-8; the rest from base64. */
function payloadOf(message: WebSocketMessageEvent): Buffer {
  const data = Buffer.from(message.data, message.binary ? 'base64' : 'utf8');
  if (message.opcode !== 0x8 || message.closeCode === undefined) return data;
  const code = Buffer.alloc(2);
  code.writeUInt16BE(message.closeCode);
  return Buffer.concat([code, data]);
}

/**
 * The recorded fields that still describe the body played: no pseudo-fields; no Content-Length
 * when the bytes played are not that many (a body cut at the capture's cap, or rebuilt from its
 * events), and no Content-Encoding on a body rebuilt as text.
 */
function playedHeaders(
  headers: RawHeaders,
  pieces: readonly RecordedPiece[],
  rewritten: boolean,
  /** A HEAD, 204 or 304 answer: its Content-Length describes a body it never carries. */
  noBody: boolean,
): RawHeaders {
  const bytes = pieces.reduce((sum, p) => sum + p.bytes.length, 0);
  const declared = headerValue(headers, 'content-length');
  const lengthFits = declared !== undefined && (noBody || (Number(declared) === bytes && !rewritten));
  return headers.filter(([field]) => {
    const lower = field.toLowerCase();
    if (lower.startsWith(':')) return false;
    if (lower === 'content-length') return lengthFits;
    if (lower === 'content-encoding') return !rewritten;
    return true;
  });
}

function bodiless(method: string, status: number): boolean {
  return method.toUpperCase() === 'HEAD' || status === 204 || status === 304;
}

/** One event as an event stream carries it; multi-line data as one `data:` line per line. */
function sseText(event: SseEvent): Buffer {
  let text = '';
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  if (event.eventId !== undefined) text += `id: ${event.eventId}\n`;
  for (const line of event.data.split('\n')) text += `data: ${line}\n`;
  return Buffer.from(`${text}\n`, 'utf8');
}
