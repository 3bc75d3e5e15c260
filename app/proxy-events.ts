/**
 * The one definition of what the proxy core reports. Main, preload, renderer, the CLI's
 * `--events ndjson` and HAR export all speak these types; nothing redefines them.
 *
 * Times (`t`, `readAt`, `flushedAt`, ...) are monotonic milliseconds with fractions from one
 * clock per process. Each exchange carries one wall-clock anchor (`wallTime` at `t`) so any
 * monotonic time can be turned into a date: `wallTime + (time - t)`.
 */

import type { RuleActionType } from './stream-rules.js';

/** Which way a body flows: request bodies go client → upstream, responses upstream → client. */
export type Direction = 'request' | 'response';

/** A header list exactly as it was on the wire: names keep their case, order and repeats. */
export type RawHeaders = readonly (readonly [name: string, value: string])[];

/** How an exchange ended, in the words the UI shows. */
export type ExchangeOutcome =
  /** Both bodies were delivered in full. */
  | 'completed'
  /** The client went away first (e.g. an SSE reader that closed normally). Not a failure. */
  | 'client-closed'
  /** The upstream closed or reset the connection before its response was complete. */
  | 'upstream-reset'
  /** No bytes moved in either direction for the idle timeout (paused time does not count). */
  | 'idle-timeout'
  /** The proxy could not do its part: upstream unreachable, TLS failure, a header timeout, ... */
  | 'proxy-error';

export type ExchangeKind = 'http' | 'websocket' | 'tunnel';

export interface RequestHead {
  readonly method: string;
  /** Absolute URL of the target, as the upstream sees it. */
  readonly url: string;
  /** As on the wire: `1.1`, `1.0`, or `2` for HTTP/2 (its name has no minor version). */
  readonly httpVersion: string;
  readonly headers: RawHeaders;
}

export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly httpVersion: string;
  readonly headers: RawHeaders;
}

/** Phases of connection set-up, in ms; -1 when a phase did not happen (e.g. a reused connection). */
export interface ConnectTimings {
  readonly dns: number;
  readonly connect: number;
  readonly ssl: number;
}

export interface ExchangeOpenedEvent {
  readonly type: 'exchange-opened';
  readonly id: number;
  readonly t: number;
  readonly wallTime: number;
  readonly kind: ExchangeKind;
  /** True when the client spoke TLS to us and we intercepted it. */
  readonly intercepted: boolean;
  readonly clientAddress: string;
  readonly request: RequestHead;
  /**
   * The client connection that carried it, numbered per proxy from 1, so the streams of one
   * HTTP/2 connection (or the requests of one keep-alive connection) can be grouped.
   */
  readonly connectionId?: number;
  /** The HTTP/2 stream id on the client's connection; absent for HTTP/1.x. */
  readonly streamId?: number;
  /** The name of the HAR file it was imported from; absent for traffic Sluice saw itself. */
  readonly importedFrom?: string;
  /** The exchange this one sent again, from Sluice (resend), as it was or edited. */
  readonly resentFrom?: number;
}

export interface ResponseHeadEvent {
  readonly type: 'response-head';
  readonly id: number;
  readonly t: number;
  readonly response: ResponseHead;
  /** Upstream connection set-up for this exchange. */
  readonly timings: ConnectTimings;
  /** When the request (head and body) had been handed to the upstream socket. */
  readonly requestSentAt: number;
  /** Set when a mock answered in the upstream's place (app/mocks.ts): its id. */
  readonly mock?: number;
}

/**
 * One chunk as it left the proxy. Emitted when the write was handed to the socket. A chunk is
 * what one read delivered; of a chunked HTTP/1.1 body, each chunk's data in the read is one (the
 * framing is not counted), so a burst of small frames in one TCP read is several chunks, as the
 * sender wrote them.
 */
export interface ChunkEvent {
  readonly type: 'chunk';
  readonly id: number;
  readonly direction: Direction;
  /** Position in the body, counted in bytes as forwarded (still content-encoded). */
  readonly offset: number;
  readonly size: number;
  /** Read from one side. */
  readonly readAt: number;
  /** Handed to the other side's socket; `flushedAt - readAt` is the wait inside the proxy. */
  readonly flushedAt: number;
  /** 0-based index of this chunk within its body (of its first read, when neighbours were merged). */
  readonly index: number;
  /**
   * How many reads this event stands for when neighbours were merged for the display (see
   * `mergeChunks`); absent for one.
   */
  readonly reads?: number;
}

export interface BackpressurePausedEvent {
  readonly type: 'backpressure-paused';
  readonly id: number;
  readonly direction: Direction;
  readonly t: number;
  /** Bytes waiting in the proxy for the slow side when reads were paused. */
  readonly queuedBytes: number;
}

export interface BackpressureResumedEvent {
  readonly type: 'backpressure-resumed';
  readonly id: number;
  readonly direction: Direction;
  readonly t: number;
  readonly pausedAt: number;
  /** The most that was queued while paused. */
  readonly queuedBytes: number;
}

/** One Server-Sent Event parsed from a `text/event-stream` response body. */
export interface SseEvent {
  readonly type: 'sse-event';
  readonly id: number;
  /** 0-based position of this event in its stream. */
  readonly index: number;
  readonly eventId: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
  /** Read time of the chunk that completed the event. */
  readonly t: number;
  /** Indexes of the first and last response chunks the event's bytes arrived in. */
  readonly chunkRange: readonly [first: number, last: number];
}

/**
 * One WebSocket message, parsed from the forwarded frames on the observe path: a whole data
 * message (fragments joined) or one control frame.
 */
export interface WebSocketMessageEvent {
  readonly type: 'websocket-message';
  readonly id: number;
  /** `request`: client → server (sent); `response`: server → client (received). */
  readonly direction: Direction;
  /**
   * 0-based position among this direction's messages (control frames count), so a message keeps
   * its number when older ones are no longer kept; a stream rule's event N is index N - 1.
   */
  readonly index: number;
  /** Read time of the chunk holding the frame that completed the message. */
  readonly t: number;
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  readonly opcode: number;
  /** Text as UTF-8; binary (and a control payload that is not UTF-8) as base64. For close, the reason. */
  readonly data: string;
  /** `data` is base64. */
  readonly binary: boolean;
  /** Payload bytes (after permessage-deflate was undone, when it was). */
  readonly size: number;
  /** `data` holds only the first part of the payload (the per-message display cap). */
  readonly truncated?: boolean;
  /** Still permessage-deflate compressed: `data` is the compressed bytes in base64. */
  readonly compressed?: boolean;
  /** A close frame's status code, when it had one. */
  readonly closeCode?: number;
}

/**
 * The streaming-RPC protocols whose messages Sluice frames: gRPC, gRPC-Web (binary and base64
 * text), Connect streaming (enveloped) and Connect unary (one message per body, its error as JSON).
 */
export type RpcProtocol = 'grpc' | 'grpc-web' | 'grpc-web-text' | 'connect' | 'connect-unary';

/**
 * One message of a gRPC, gRPC-Web or Connect call, framed on the observe path the moment its last
 * byte was forwarded. Trailer frames (gRPC-Web) and end-of-stream envelopes (Connect) count too.
 */
export interface RpcMessageEvent {
  readonly type: 'rpc-message';
  readonly id: number;
  /** `request`: client → server; `response`: server → client. */
  readonly direction: Direction;
  /** 0-based position among this direction's frames. */
  readonly index: number;
  /** `trailers`: a gRPC-Web trailer frame; `end-stream`: a Connect end-of-stream envelope. */
  readonly kind: 'message' | 'trailers' | 'end-stream';
  /** When the chunk holding its last byte was handed to the other side. */
  readonly t: number;
  /** Payload bytes on the wire (the 5-byte prefix not counted). */
  readonly wireBytes: number;
  /** Payload bytes once decompressed; equals `wireBytes` when it was not compressed. */
  readonly size: number;
  /** The sender set the compressed flag. */
  readonly compressed: boolean;
  /** The payload (decompressed when it could be): base64 when `binary`, else UTF-8 text (JSON codecs, trailers). */
  readonly data: string;
  readonly binary: boolean;
  /** `data` holds only the first part of the payload (the per-message display cap). */
  readonly truncated?: boolean;
  /** Why a compressed payload is shown as it came (unknown encoding, over the cap, corrupt). */
  readonly undecoded?: string;
  /** Indexes of the first and last chunks of its direction the message's bytes arrived in. */
  readonly chunkRange: readonly [first: number, last: number];
}

/**
 * How an RPC ended, as its server said: from HTTP/2 trailers, a Trailers-Only response head, a
 * gRPC-Web trailer frame, a Connect end-of-stream or unary error, or (no status at all) the HTTP
 * status mapped as gRPC's spec maps it.
 */
export interface RpcStatusEvent {
  readonly type: 'rpc-status';
  readonly id: number;
  readonly t: number;
  readonly protocol: RpcProtocol;
  readonly source: 'trailers' | 'trailers-only' | 'trailer-frame' | 'end-stream' | 'unary-error' | 'http-status';
  /** gRPC status code, 0 (OK) to 16; Connect's codes map onto the same numbers. */
  readonly code: number;
  /** The code's name as gRPC spells it: `OK`, `NOT_FOUND`, ... (`CODE_42` for one outside the spec). */
  readonly name: string;
  /** `grpc-message` percent-decoded, or the Connect error's message. */
  readonly message?: string;
  /** `grpc-status-details-bin` (base64, as on the wire), or a Connect error's `details` as JSON text. */
  readonly details?: string;
  /** Every trailer (or end-of-stream metadata) field as received, status fields included. */
  readonly trailers: RawHeaders;
}

export interface SseRetryEvent {
  readonly type: 'sse-retry';
  readonly id: number;
  readonly t: number;
  readonly retryMs: number;
}

/** The capture of a body gave way (caps, slow disk); the forwarded stream is unaffected. */
export interface CaptureLimitedEvent {
  readonly type: 'capture-limited';
  readonly id: number;
  readonly direction: Direction;
  readonly t: number;
  readonly reason: CaptureLimitReason;
  /** Body offset from which bytes were no longer copied (or parsed); -1 when not known. */
  readonly atOffset: number;
  /** Words for a person, when the reason alone does not say enough. */
  readonly detail?: string;
}

export type CaptureLimitReason =
  /** The body exceeded the per-body capture cap. */
  | 'body-cap'
  /** All captured bodies together reached the disk budget. */
  | 'total-cap'
  /** The spill file could not keep up or failed; copies were dropped rather than slow the stream. */
  | 'spill-failed'
  /** The content decoder (gzip/deflate/br) for SSE parsing failed. */
  | 'decode-failed'
  /** The WebSocket frames could not be parsed (not RFC 6455, or an extension we cannot undo). */
  | 'websocket-frames'
  /** A gRPC, gRPC-Web or Connect body stopped making sense as frames (`detail` says where and why). */
  | 'rpc-frames'
  /**
   * The exchange's messages (Server-Sent Events, WebSocket or RPC) past the host's cap are not kept
   * for windows opened later or for export; the body's bytes are.
   */
  | 'message-cap';

/** The reasons that cut a body's copy short; the others concern parsing or messages, not the bytes kept. */
export const BODY_CUT_REASONS: ReadonlySet<CaptureLimitReason> = new Set(['body-cap', 'total-cap', 'spill-failed']);

export interface ExchangeClosedEvent {
  readonly type: 'exchange-closed';
  readonly id: number;
  readonly t: number;
  readonly outcome: ExchangeOutcome;
  /**
   * A short machine-readable cause, e.g. `ECONNRESET`, `response-header-timeout`, or for an HTTP/2
   * stream reset the error code's name (`CANCEL`, `REFUSED_STREAM`, ...); the outcome says who reset.
   */
  readonly reason?: string;
  /** Words for a person. */
  readonly detail?: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Total time reads were paused by backpressure, both directions. */
  readonly pausedMs: number;
}

/** Something a client sent that was not a usable request; answered and closed. */
export interface ClientErrorEvent {
  readonly type: 'client-error';
  readonly t: number;
  readonly wallTime: number;
  readonly clientAddress: string;
  readonly code: string;
  readonly detail: string;
  /** The status we answered with, or 0 when we could only close the connection. */
  readonly status: number;
}

/**
 * A stream rule (app/stream-rules.ts) matched this exchange (`action: 'match'`), or did something
 * to it. Rule-made delays carry `heldMs`, so the timeline draws them apart from backpressure.
 */
export interface RuleAppliedEvent {
  readonly type: 'rule-applied';
  readonly id: number;
  readonly t: number;
  /** The rule's name. */
  readonly rule: string;
  readonly action: RuleActionType | 'match';
  readonly direction: Direction;
  /** What it did, in words: "held event 3 for 200 ms", "ended the stream after 5 events". */
  readonly detail: string;
  /** How long, from `t`, the rule held the stream back. */
  readonly heldMs?: number;
  /** The event it made or changed, as the client got it (from 1): the Events view marks it. */
  readonly event?: number;
}

/**
 * A breakpoint rule holds an exchange's stream before one of its events: nothing more goes to the
 * client (and the upstream is paused) until `breakpoint.resolve` names `breakpoint`.
 */
export interface BreakpointHeldEvent {
  readonly type: 'breakpoint-held';
  readonly id: number;
  readonly t: number;
  /** Unique in the proxy's run: what `breakpoint.resolve` names. */
  readonly breakpoint: number;
  readonly rule: string;
  readonly direction: Direction;
  /** Which event of the stream is held, from 1. */
  readonly event: number;
  /** The held event's bytes as UTF-8 text (SSE and NDJSON are text); `base64` when they are not. */
  readonly text?: string;
  readonly base64?: string;
}

/** A held event went on (as it was or edited), was dropped, or its exchange ended while held. */
export interface BreakpointResolvedEvent {
  readonly type: 'breakpoint-resolved';
  readonly id: number;
  readonly t: number;
  readonly breakpoint: number;
  readonly outcome: BreakpointOutcome;
}

/** `released-all`: this event and the rest of the stream go on without stopping again. */
export type BreakpointOutcome = 'released' | 'edited' | 'dropped' | 'released-all' | 'gone';

export type ProxyEvent =
  | ExchangeOpenedEvent
  | ResponseHeadEvent
  | ChunkEvent
  | BackpressurePausedEvent
  | BackpressureResumedEvent
  | SseEvent
  | SseRetryEvent
  | WebSocketMessageEvent
  | RpcMessageEvent
  | RpcStatusEvent
  | CaptureLimitedEvent
  | ExchangeClosedEvent
  | ClientErrorEvent
  | RuleAppliedEvent
  | BreakpointHeldEvent
  | BreakpointResolvedEvent;

export type ProxyEventType = ProxyEvent['type'];

/** Every proxy event type; `satisfies` makes a new event type a compile error until it is listed. */
const PROXY_EVENT_TYPE_SET = {
  'exchange-opened': true,
  'response-head': true,
  chunk: true,
  'backpressure-paused': true,
  'backpressure-resumed': true,
  'sse-event': true,
  'sse-retry': true,
  'websocket-message': true,
  'rpc-message': true,
  'rpc-status': true,
  'capture-limited': true,
  'exchange-closed': true,
  'rule-applied': true,
  'breakpoint-held': true,
  'breakpoint-resolved': true,
  'client-error': true,
} satisfies Record<ProxyEventType, true>;

export function isProxyEventType(type: string): type is ProxyEventType {
  return Object.hasOwn(PROXY_EVENT_TYPE_SET, type);
}

/** Whether an outcome is a failure, for display: a client that left normally is not one. */
export function isFailure(outcome: ExchangeOutcome): boolean {
  return outcome === 'upstream-reset' || outcome === 'idle-timeout' || outcome === 'proxy-error';
}

/** Whether `next` starts where `first` ends, in the same body: the two can be shown as one. */
export function chunkFollows(first: ChunkEvent, next: ChunkEvent): boolean {
  return first.id === next.id && first.direction === next.direction && first.offset + first.size === next.offset;
}

/**
 * One chunk event covering `first` and then `next` (which must follow it): offset, index and read
 * time of the first, flush time of the last, sizes summed. Byte ranges stay exact; only per-read
 * granularity is lost, and the gap in `index` to the next chunk shows that.
 */
export function mergeChunks(first: ChunkEvent, next: ChunkEvent): ChunkEvent {
  return {
    type: 'chunk',
    id: first.id,
    direction: first.direction,
    offset: first.offset,
    size: first.size + next.size,
    readAt: first.readAt,
    flushedAt: next.flushedAt,
    index: first.index,
    reads: (first.reads ?? 1) + (next.reads ?? 1),
  };
}

/**
 * How many chunks a body really had, from the chunk events kept of it (in body order), whatever
 * was merged or forgotten on the way: indexes count reads, and the last event says how many it
 * stands for.
 */
export function chunkCount(chunks: readonly ChunkEvent[]): number {
  const last = chunks[chunks.length - 1];
  return last ? last.index + (last.reads ?? 1) : 0;
}

/** The first value of a header, its name matched without regard to case as HTTP requires. */
export function headerValue(headers: RawHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  // The length first: most fields are not the one wanted, and lowercasing each would make a string.
  for (const [key, value] of headers) if (key.length === wanted.length && key.toLowerCase() === wanted) return value;
  return undefined;
}
