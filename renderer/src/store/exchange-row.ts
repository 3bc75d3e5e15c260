import {
  headerValue,
  type Direction,
  type ExchangeOutcome,
  type ResponseHead,
  type RpcProtocol,
} from '../../../app/proxy-events.js';
import { rpcCallLabel } from '../../../app/rpc-calls.js';
import type { ExchangeView } from '../model/exchange.js';
import { isAwsEventStream, isNdjson, mediaType } from '../sse/stream-events.js';

/** The response's media type without parameters, lower-cased: `text/event-stream`. */
export function responseMediaType(x: ExchangeView): string {
  return mediaType(headerValue(x.response?.response.headers, 'content-type'));
}

export type TypeCategory =
  | 'sse'
  | 'ndjson'
  | 'eventstream'
  | 'grpc'
  | 'json'
  | 'html'
  | 'js'
  | 'css'
  | 'image'
  | 'text'
  | 'binary'
  | 'websocket'
  | 'tunnel'
  | 'none';

/** What the type filter calls a category where its own name would not do. */
export const TYPE_WORDS: Partial<Record<TypeCategory | 'all' | 'llm', string>> = {
  llm: 'LLM calls',
  grpc: 'gRPC',
  eventstream: 'AWS event stream',
};

/** A gRPC, gRPC-Web or Connect call is `grpc` whatever its content type (`application/json` for Connect unary). */
export function typeCategory(x: ExchangeView): TypeCategory {
  if (x.opened.kind === 'websocket') return 'websocket';
  if (x.opened.kind === 'tunnel') return 'tunnel';
  if (x.rpc) return 'grpc';
  const type = responseMediaType(x);
  if (!type) return 'none';
  if (type === 'text/event-stream') return 'sse';
  if (isNdjson(type)) return 'ndjson';
  if (isAwsEventStream(type)) return 'eventstream';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'text/html') return 'html';
  if (type.includes('javascript')) return 'js';
  if (type === 'text/css') return 'css';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('text/') || type.endsWith('+xml') || type === 'application/xml') return 'text';
  return 'binary';
}

/** The list's type column: the category, or for an RPC call its protocol family (`grpc`, `grpc-web`, `connect`). */
export function typeLabel(x: ExchangeView): string {
  if (x.rpc) return RPC_FAMILY[x.rpc.protocol];
  const category = typeCategory(x);
  return category === 'none' ? '' : category;
}

const RPC_FAMILY: Record<RpcProtocol, string> = {
  grpc: 'grpc',
  'grpc-web': 'grpc-web',
  'grpc-web-text': 'grpc-web',
  connect: 'connect',
  'connect-unary': 'connect',
};

/** The protocols by name, for people: `gRPC-Web (text)`, `Connect unary`. */
export const RPC_PROTOCOL_NAMES: Record<RpcProtocol, string> = {
  grpc: 'gRPC',
  'grpc-web': 'gRPC-Web',
  'grpc-web-text': 'gRPC-Web (text)',
  connect: 'Connect',
  'connect-unary': 'Connect unary',
};

/** The list's path cell: an RPC call as `Service/Method`, anything else by its path and query. */
export function pathLabel(x: ExchangeView): string {
  return x.rpc ? rpcCallLabel(x.rpc) : urlParts(x).path;
}

/** The list's status cell: its text, a class for its colour, and in words for the tooltip. */
export interface StatusCell {
  readonly text: string;
  /** `s2`, `s4`, ... by HTTP status class (`s0` for none); `rpc-ok` or `rpc-error` for a call's outcome. */
  readonly tone: string;
  readonly title: string;
}

/**
 * What the status column says. An HTTP exchange: its status code. An RPC call: its status name
 * (`OK`, `NOT_FOUND`) once the server said it; one that ended without a status, by why it ended
 * (an HTTP/2 reset's code, `CANCEL`, or the connection's `ECONNRESET`), else by its HTTP status;
 * one still open, by its HTTP status.
 */
export function statusCell(x: ExchangeView): StatusCell {
  const http = x.response?.response.status;
  const httpCell: StatusCell = {
    text: http === undefined ? '' : `${http}`,
    tone: `s${http === undefined ? 0 : Math.floor(http / 100)}`,
    title: http === undefined ? '' : `HTTP ${http}`,
  };
  if (!x.rpc) return httpCell;
  const status = x.rpcStatus;
  const httpWords = http === undefined ? 'no HTTP response' : `HTTP ${http}`;
  if (status) {
    const message = status.message ? `: ${status.message}` : '';
    return {
      text: status.name,
      tone: status.code === 0 ? 'rpc-ok' : 'rpc-error',
      title: `${RPC_PROTOCOL_NAMES[status.protocol]} status ${status.code} ${status.name}${message} · ${httpWords}`,
    };
  }
  const closed = x.closed;
  if (closed?.reason && closed.outcome !== 'completed') {
    return {
      text: closed.reason,
      tone: 'rpc-error',
      title: `Ended without a status: ${OUTCOME_WORDS[closed.outcome]} (${closed.reason}) · ${httpWords}`,
    };
  }
  return httpCell;
}

/** A version as a status line names it: `1.1` → `HTTP/1.1`, `2` → `HTTP/2` (HTTP/2 has no minor version). */
export function httpName(version: string): string {
  return version === '' ? 'HTTP' : `HTTP/${version}`;
}

/**
 * What the protocol column says: the HTTP version the client spoke (`HTTP/1.1`, `HTTP/2`), or what
 * the exchange became, `WS` for a WebSocket and `TUNNEL` for a raw tunnel, whatever set it up.
 */
export function protocolLabel(x: ExchangeView): string {
  switch (x.opened.kind) {
    case 'websocket':
      return 'WS';
    case 'tunnel':
      return 'TUNNEL';
    case 'http':
      return httpName(x.opened.request.httpVersion);
  }
}

/** The protocol filter's choices; a label outside them (an import's `HTTP/0.9`) shows under `all` only. */
export const PROTOCOL_LABELS: readonly string[] = ['HTTP/1.0', 'HTTP/1.1', 'HTTP/2', 'HTTP/3', 'WS', 'TUNNEL'];

/**
 * The protocol and the client connection, for the detail pane: `HTTP/2 · connection 3 · stream 5`,
 * `WebSocket over HTTP/1.1 · connection 2`. When the upstream answered in another HTTP version
 * than the client spoke (an HTTP/2 client, an HTTP/1.1 server), both.
 */
export function protocolSummary(x: ExchangeView): string {
  const { kind, request, connectionId, streamId } = x.opened;
  const client = httpName(request.httpVersion);
  const over = x.rpc ? `${RPC_PROTOCOL_NAMES[x.rpc.protocol]} over ${client}` : client;
  const parts = [
    kind === 'websocket' ? `WebSocket over ${client}` : kind === 'tunnel' ? `raw tunnel via ${client} CONNECT` : over,
  ];
  const upstream = x.response?.response.httpVersion;
  if (kind === 'http' && upstream && upstream !== request.httpVersion) parts.push(`upstream ${httpName(upstream)}`);
  if (connectionId !== undefined) parts.push(`connection ${connectionId}`);
  if (streamId !== undefined) parts.push(`stream ${streamId}`);
  const mock = x.response?.mock;
  if (mock !== undefined) parts.push(`answered by mock ${mock}, not the upstream`);
  return parts.join(' · ');
}

/** The request's first line as HTTP/1.1 would write it; for HTTP/2 the same words stand for its pseudo-headers. */
export function requestLine(x: ExchangeView): string {
  const { method, url, httpVersion } = x.opened.request;
  return `${method} ${url} ${httpName(httpVersion)}`;
}

/** The status line; HTTP/2 has no reason phrase, so none is printed when there is none. */
export function statusLine(response: ResponseHead): string {
  return [httpName(response.httpVersion), response.status, response.statusText].filter((p) => p !== '').join(' ');
}

/**
 * Why a client-closed exchange is no failure, in words: an upload cut short, a reader that left,
 * or the stream reset it sent. An HTTP/2 client ends a stream with a
 * reset whose code the core gives as the reason: `CANCEL` (or `NO_ERROR`) is the client's normal
 * way to stop; another code is named without calling it harmless.
 */
export function clientClosedNote(x: ExchangeView): string {
  const reason = x.closed?.reason;
  // The core's word for an exchange the user stopped (`exchange.stop`).
  if (reason === 'stopped') return 'stopped from Sluice';
  // A client that gave up before its upload was whole did not stop reading: it stopped sending.
  if (bodyShortfall(x, 'request')) return 'before sending all of its request body';
  if (x.opened.streamId === undefined || !reason) {
    return x.response
      ? 'the client stopped reading; not an error'
      : 'the client went away before the response came; not an error';
  }
  const normal = reason === 'CANCEL' || reason === 'NO_ERROR';
  return `the client reset the stream: ${reason}${normal ? '; not an error' : ''}`;
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
  if (['sse', 'ndjson', 'eventstream', 'websocket', 'tunnel'].includes(category)) return true;
  // A framed call may stream, so it counts as one while open; once over, when a side sent more
  // than one message. Connect unary is one request and one answer.
  if (x.rpc) return x.rpc.protocol !== 'connect-unary' && (!x.closed || moreThanOneMessage(x));
  const headers = x.response?.response.headers;
  const chunked =
    headerValue(headers, 'transfer-encoding')?.toLowerCase().includes('chunked') === true &&
    !headerValue(headers, 'content-length');
  if (!chunked) return false;
  if (!x.closed) return true;
  const { chunks } = x.responseBody;
  return chunks.length > 1 && chunks[chunks.length - 1]!.readAt - chunks[0]!.readAt >= STREAM_SPREAD_MS;
}

function moreThanOneMessage(x: ExchangeView): boolean {
  return x.requestBody.rpcTotals.messages > 1 || x.responseBody.rpcTotals.messages > 1;
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

/** A body short of the length its head announced, both counted as forwarded (still content-encoded). */
export interface Shortfall {
  readonly forwarded: number;
  readonly announced: number;
}

/**
 * How much of a body announced by `Content-Length` was forwarded, when that is less than all of it:
 * still arriving, or cut off when the exchange ended. Undefined without a usable Content-Length,
 * for a body that came whole, and for responses that never carry one (to HEAD, 1xx, 204, 304).
 */
export function bodyShortfall(x: ExchangeView, direction: Direction): Shortfall | undefined {
  if (direction === 'response' && !responseMayHaveBody(x)) return undefined;
  // An exchange that completed had its bodies whole; an imported HAR's Content-Length may still
  // count the encoded bytes of a body the file holds decoded.
  if (x.closed?.outcome === 'completed') return undefined;
  const headers = direction === 'request' ? x.opened.request.headers : x.response?.response.headers;
  const announced = contentLength(headerValue(headers, 'content-length'));
  const forwarded = (direction === 'request' ? x.requestBody : x.responseBody).bytes;
  return announced !== undefined && forwarded < announced ? { forwarded, announced } : undefined;
}

function responseMayHaveBody(x: ExchangeView): boolean {
  const status = x.response?.response.status;
  if (status === undefined || x.opened.request.method === 'HEAD') return false;
  return status >= 200 && status !== 204 && status !== 304;
}

/** A Content-Length as a number; undefined for a missing, malformed or repeated one. */
function contentLength(value: string | undefined): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed || !/^\d+$/.test(trimmed)) return undefined;
  const length = Number(trimmed);
  return Number.isSafeInteger(length) ? length : undefined;
}
