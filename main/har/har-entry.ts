import {
  BODY_CUT_REASONS,
  headerValue,
  type ChunkEvent,
  type Direction,
  type RawHeaders,
} from '../../app/proxy-events.js';
import { firstPast } from '../../app/sorted-search.js';
import { bodyPayload, payloadText, type BodyPayload, type CapturedBody } from './body-text.js';
import type { ExchangeEvents } from './exchange-events.js';
import type {
  HarBackpressure,
  HarBodyMarks,
  HarCaptureLimit,
  HarRuleApplied,
  HarChunk,
  HarContent,
  HarCookie,
  HarEntry,
  HarEventSourceMessage,
  HarNameValue,
  HarPostData,
  HarRequest,
  HarResponse,
  HarRpcMessage,
  HarRpcStatus,
  HarTimings,
  HarWebSocketMessage,
} from './har-types.js';
import { isRedacted, redactHeaders, REDACTED, redactUrl } from './redact.js';

export interface CapturedBodies {
  readonly request?: CapturedBody | undefined;
  readonly response?: CapturedBody | undefined;
}

export interface EntryOptions {
  /** Lower-cased header names whose values are replaced; undefined or empty for none. */
  readonly redact?: ReadonlySet<string> | undefined;
  /**
   * What goes in a body's `text`: by default the whole text; a streaming writer puts a
   * placeholder there and writes the body in pieces in its place.
   */
  readonly placeBody?: ((payload: BodyPayload, direction: Direction) => string) | undefined;
}

/**
 * One HAR entry from what the host saw of an exchange and its captured bodies. Pure: the same
 * input gives the same entry, whether the exchange has ended or is still open.
 */
export function buildEntry(exchange: ExchangeEvents, bodies: CapturedBodies, options: EntryOptions = {}): HarEntry {
  const { opened, closed } = exchange;
  const origin = opened.t;
  const relative = (time: number): number => round(time - origin);
  const timings = harTimings(exchange);
  return {
    startedDateTime: new Date(opened.wallTime).toISOString(),
    time: round(totalTime(timings)),
    request: harRequest(exchange, bodies.request, options),
    response: harResponse(exchange, bodies.response, options),
    cache: {},
    timings,
    ...(opened.connectionId === undefined ? {} : { connection: String(opened.connectionId) }),
    _id: opened.id,
    _kind: opened.kind,
    ...(opened.streamId === undefined ? {} : { _streamId: opened.streamId }),
    ...(opened.resentFrom === undefined ? {} : { _resentFrom: opened.resentFrom }),
    ...(exchange.responseHead?.mock === undefined ? {} : { _mock: exchange.responseHead.mock }),
    ...(closed
      ? {
          _outcome: closed.outcome,
          ...(closed.reason ? { _outcomeReason: closed.reason } : {}),
          _pausedMs: round(closed.pausedMs),
        }
      : { _incomplete: true as const, comment: 'still open at export: what was seen so far' }),
    _chunks: exchange.chunks.map((chunk): HarChunk => ({
      direction: chunk.direction,
      offset: chunk.offset,
      size: chunk.size,
      readAt: relative(chunk.readAt),
      flushedAt: relative(chunk.flushedAt),
    })),
    _backpressure: backpressureIntervals(exchange, relative),
    ...(exchange.sse.length > 0 ? { _eventSourceMessages: exchange.sse.map((e) => sseMessage(e, exchange)) } : {}),
    ...(exchange.messages.length > 0 ? { _webSocketMessages: webSocketMessages(exchange) } : {}),
    ...(exchange.rpcMessages.length > 0 ? { _rpcMessages: rpcMessages(exchange) } : {}),
    ...(exchange.rpcStatus ? { _rpcStatus: rpcStatus(exchange.rpcStatus, exchange, options.redact) } : {}),
    ...captureLimits(exchange, relative),
    ...(exchange.rules.length > 0
      ? {
          _rules: exchange.rules.map((e): HarRuleApplied => ({
            rule: e.rule,
            action: e.action,
            direction: e.direction,
            at: relative(e.t),
            detail: e.detail,
            ...(e.heldMs === undefined ? {} : { heldMs: round(e.heldMs) }),
            ...(e.event === undefined ? {} : { event: e.event }),
          })),
        }
      : {}),
  };
}

/**
 * HAR timings from the core's measurements. The core measures dns, TCP connect and TLS one after
 * another; HAR counts TLS inside `connect`. What the core does not measure separately (waiting
 * for a socket) is in `send`, which runs from the request's arrival to the last byte sent upstream.
 */
export function harTimings(exchange: ExchangeEvents): HarTimings {
  const { opened, responseHead, closed } = exchange;
  const phases = responseHead?.timings ?? { dns: -1, connect: -1, ssl: -1 };
  const dns = phases.dns >= 0 ? round(phases.dns) : -1;
  const ssl = phases.ssl >= 0 ? round(phases.ssl) : -1;
  const connect = phases.connect >= 0 ? round(phases.connect + Math.max(ssl, 0)) : -1;
  const setUp = Math.max(dns, 0) + Math.max(connect, 0);
  const end = closed?.t ?? lastActivity(exchange);
  if (!responseHead) {
    return { blocked: -1, dns, connect, ssl, send: nonNegative(end - opened.t - setUp), wait: 0, receive: 0 };
  }
  // A streamed upload can still be going when the response starts (the core then says -1, not
  // sent yet): waiting took no time.
  const sentAt = responseHead.requestSentAt < 0 ? responseHead.t : Math.min(responseHead.requestSentAt, responseHead.t);
  return {
    blocked: -1,
    dns,
    connect,
    ssl,
    send: nonNegative(sentAt - opened.t - setUp),
    wait: nonNegative(responseHead.t - sentAt),
    receive: nonNegative(end - responseHead.t),
  };
}

function totalTime(t: HarTimings): number {
  // `ssl` is inside `connect`, so it is not added again.
  return [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive].reduce((sum, ms) => sum + Math.max(ms, 0), 0);
}

/** The latest time anything happened in an exchange that has not closed. */
function lastActivity(exchange: ExchangeEvents): number {
  let last = exchange.responseHead?.t ?? exchange.opened.t;
  for (const chunk of exchange.chunks) last = Math.max(last, chunk.flushedAt);
  for (const event of exchange.backpressure) last = Math.max(last, event.t);
  return last;
}

function harRequest(exchange: ExchangeEvents, body: CapturedBody | undefined, options: EntryOptions): HarRequest {
  const { redact } = options;
  const { request } = exchange.opened;
  const bytes = exchange.closed?.requestBytes ?? bodyBytesSeen(exchange, 'request');
  const postData =
    bytes > 0 || (body && body.raw.length > 0) ? harPostData(request.headers, body, bytes, options) : undefined;
  const url = redact ? redactUrl(harUrl(exchange)) : harUrl(exchange);
  return {
    method: request.method,
    url,
    httpVersion: httpVersion(request.httpVersion),
    cookies: requestCookies(request.headers, redact),
    headers: nameValues(redactHeaders(request.headers, redact)),
    queryString: queryString(url),
    ...(postData ? { postData } : {}),
    headersSize: -1,
    bodySize: bytes,
  };
}

function harResponse(exchange: ExchangeEvents, body: CapturedBody | undefined, options: EntryOptions): HarResponse {
  const { redact } = options;
  const { responseHead, closed } = exchange;
  const failure = closed && closed.outcome !== 'completed' && closed.outcome !== 'client-closed';
  const error = failure ? (closed.detail ?? closed.reason ?? closed.outcome) : undefined;
  if (!responseHead) {
    return {
      status: 0,
      statusText: '',
      httpVersion: '',
      cookies: [],
      headers: [],
      content: { size: 0, mimeType: 'x-unknown' },
      redirectURL: '',
      headersSize: -1,
      bodySize: -1,
      comment: closed ? 'no response head' : 'no response head yet',
      ...(error ? { _error: error } : {}),
    };
  }
  const { headers } = responseHead.response;
  const bytes = closed?.responseBytes ?? bodyBytesSeen(exchange, 'response');
  return {
    status: responseHead.response.status,
    statusText: responseHead.response.statusText,
    httpVersion: httpVersion(responseHead.response.httpVersion),
    cookies: responseCookies(headers, redact),
    headers: nameValues(redactHeaders(headers, redact)),
    content: harContent(headers, body, bytes, options),
    redirectURL: headerValue(headers, 'location') ?? '',
    headersSize: -1,
    bodySize: bytes,
    ...(error ? { _error: error } : {}),
  };
}

function bodyMarks(body: CapturedBody | undefined, wireBytes: number): HarBodyMarks & { comment?: string } {
  const captured = body?.raw.length ?? 0;
  const cut = body?.limited !== undefined || captured < wireBytes;
  const marks: HarBodyMarks & { comment?: string } = {
    ...(cut
      ? {
          _truncated: true as const,
          _truncatedReason: body?.limited ?? (body ? 'not-captured-yet' : 'not-captured'),
          _capturedBytes: captured,
          comment: `truncated: ${captured} of ${wireBytes} bytes captured${body?.limited ? ` (${body.limited})` : ''}`,
        }
      : {}),
    ...(body?.decodeError !== undefined ? { _decodeError: body.decodeError } : {}),
  };
  return marks;
}

function harContent(
  headers: RawHeaders,
  body: CapturedBody | undefined,
  wireBytes: number,
  options: EntryOptions,
): HarContent {
  const mimeType = headerValue(headers, 'content-type') ?? 'x-unknown';
  const marks = bodyMarks(body, wireBytes);
  if (!body || body.raw.length === 0) return { size: 0, mimeType, ...marks };
  const payload = bodyPayload(body, marks._truncated === true);
  return {
    size: (body.decoded ?? body.raw).length,
    ...(body.decoded ? { compression: body.decoded.length - body.raw.length } : {}),
    mimeType,
    text: (options.placeBody ?? payloadText)(payload, 'response'),
    ...(payload.base64 ? { encoding: 'base64' as const } : {}),
    ...marks,
  };
}

function harPostData(
  headers: RawHeaders,
  body: CapturedBody | undefined,
  wireBytes: number,
  options: EntryOptions,
): HarPostData {
  const mimeType = headerValue(headers, 'content-type') ?? 'x-unknown';
  const marks = bodyMarks(body, wireBytes);
  if (!body || body.raw.length === 0) return { mimeType, text: '', ...marks };
  const payload = bodyPayload(body, marks._truncated === true);
  const text = (options.placeBody ?? payloadText)(payload, 'request');
  return { mimeType, text, ...(payload.base64 ? { _encoding: 'base64' as const } : {}), ...marks };
}

/** Bytes forwarded so far, for an exchange that has not closed. */
function bodyBytesSeen(exchange: ExchangeEvents, direction: Direction): number {
  let end = 0;
  for (const chunk of exchange.chunks)
    if (chunk.direction === direction) end = Math.max(end, chunk.offset + chunk.size);
  return end;
}

function backpressureIntervals(exchange: ExchangeEvents, relative: (time: number) => number): HarBackpressure[] {
  const intervals: HarBackpressure[] = [];
  const open = new Map<Direction, { pausedAt: number; queuedBytes: number }>();
  for (const event of exchange.backpressure) {
    if (event.type === 'backpressure-paused') {
      open.set(event.direction, { pausedAt: event.t, queuedBytes: event.queuedBytes });
      continue;
    }
    open.delete(event.direction);
    intervals.push({
      direction: event.direction,
      pausedAt: relative(event.pausedAt),
      resumedAt: relative(event.t),
      queuedBytes: event.queuedBytes,
    });
  }
  for (const [direction, paused] of open) {
    intervals.push({ direction, pausedAt: relative(paused.pausedAt), queuedBytes: paused.queuedBytes });
  }
  return intervals;
}

function sseMessage(event: ExchangeEvents['sse'][number], exchange: ExchangeEvents): HarEventSourceMessage {
  return {
    time: epochSeconds(event.t, exchange),
    eventName: event.event ?? 'message',
    eventId: event.eventId ?? '',
    data: event.data,
  };
}

function webSocketMessages(exchange: ExchangeEvents): HarWebSocketMessage[] {
  const placed = { request: 0, response: 0 };
  return exchange.messages.map((message) => {
    const place = placed[message.direction]++;
    return webSocketMessage(message, exchange, message.index === place ? undefined : message.index);
  });
}

function webSocketMessage(
  message: ExchangeEvents['messages'][number],
  exchange: ExchangeEvents,
  index: number | undefined,
): HarWebSocketMessage {
  const binary = message.binary && message.opcode !== 2;
  const truncated = message.truncated === true;
  return {
    type: message.direction === 'request' ? 'send' : 'receive',
    time: epochSeconds(message.t, exchange),
    opcode: message.opcode,
    data: message.data,
    ...(binary ? { _binary: true as const } : {}),
    ...(truncated || message.compressed ? { _size: message.size } : {}),
    ...(truncated ? { _truncated: true as const } : {}),
    ...(message.compressed ? { _compressed: true as const } : {}),
    ...(message.closeCode === undefined ? {} : { _closeCode: message.closeCode }),
    ...(index === undefined ? {} : { _index: index }),
  };
}

/** Seconds since the epoch, with fractions, of a monotonic time of the exchange (as Chrome's `_webSocketMessages`). */
function epochSeconds(time: number, exchange: ExchangeEvents): number {
  const { opened } = exchange;
  return (opened.wallTime + (time - opened.t)) / 1000;
}

function rpcMessages(exchange: ExchangeEvents): HarRpcMessage[] {
  const positions = {
    request: chunkPositions(exchange.chunks, 'request'),
    response: chunkPositions(exchange.chunks, 'response'),
  };
  return exchange.rpcMessages.map((message): HarRpcMessage => {
    const position = positions[message.direction];
    return {
      type: message.direction === 'request' ? 'send' : 'receive',
      time: epochSeconds(message.t, exchange),
      index: message.index,
      kind: message.kind,
      data: message.data,
      ...(message.binary ? { encoding: 'base64' as const } : {}),
      wireBytes: message.wireBytes,
      size: message.size,
      ...(message.compressed ? { compressed: true as const } : {}),
      ...(message.truncated ? { truncated: true as const } : {}),
      ...(message.undecoded === undefined ? {} : { undecoded: message.undecoded }),
      chunkRange: [position(message.chunkRange[0]), position(message.chunkRange[1])],
    };
  });
}

/**
 * For a chunk index of one direction, where the chunk event holding it is among that direction's
 * chunk events, which is what `_chunks` keeps (and what an import numbers its chunks by): an
 * event merged from several reads holds each of their indexes.
 */
function chunkPositions(chunks: readonly ChunkEvent[], direction: Direction): (index: number) => number {
  const own = chunks.filter((chunk) => chunk.direction === direction);
  return (index) => Math.max(0, firstPast(own, index, (chunk) => chunk.index) - 1);
}

function rpcStatus(
  status: NonNullable<ExchangeEvents['rpcStatus']>,
  exchange: ExchangeEvents,
  redact: ReadonlySet<string> | undefined,
): HarRpcStatus {
  return {
    time: epochSeconds(status.t, exchange),
    protocol: status.protocol,
    source: status.source,
    code: status.code,
    name: status.name,
    ...(status.message === undefined ? {} : { message: status.message }),
    ...(status.details === undefined ? {} : { details: status.details }),
    trailers: nameValues(redactHeaders(status.trailers, redact)),
  };
}

function captureLimits(
  exchange: ExchangeEvents,
  relative: (time: number) => number,
): { _captureLimits?: HarCaptureLimit[] } {
  const limits = exchange.captureLimits
    // The bodies' `_truncated` marks say these; every other limit is written here.
    .filter((limit) => !BODY_CUT_REASONS.has(limit.reason))
    .map((limit): HarCaptureLimit => ({
      direction: limit.direction,
      at: relative(limit.t),
      reason: limit.reason,
      atOffset: limit.atOffset,
      ...(limit.detail === undefined ? {} : { detail: limit.detail }),
    }));
  return limits.length > 0 ? { _captureLimits: limits } : {};
}

function nameValues(headers: RawHeaders): HarNameValue[] {
  return headers.map(([name, value]) => ({ name, value }));
}

/** A tunnel's target is `host:port`, which is no URL; HAR needs one, and `tcp://` says what it was. */
function harUrl(exchange: ExchangeEvents): string {
  const { kind, request } = exchange.opened;
  return kind === 'tunnel' ? `tcp://${request.url}` : request.url;
}

function queryString(url: string): HarNameValue[] {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return []; // a CONNECT target (host:port) has no query
  }
}

function requestCookies(headers: RawHeaders, redact: ReadonlySet<string> | undefined): HarCookie[] {
  const hidden = isRedacted('cookie', redact);
  const cookies: HarCookie[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'cookie') continue;
    for (const pair of value.split(';')) {
      const [cookieName, cookieValue] = splitPair(pair);
      if (cookieName) cookies.push({ name: cookieName, value: hidden ? REDACTED : cookieValue });
    }
  }
  return cookies;
}

function responseCookies(headers: RawHeaders, redact: ReadonlySet<string> | undefined): HarCookie[] {
  const hidden = isRedacted('set-cookie', redact);
  const cookies: HarCookie[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'set-cookie') continue;
    const [first = '', ...attributes] = value.split(';');
    const [cookieName, cookieValue] = splitPair(first);
    if (!cookieName) continue;
    const cookie: { -readonly [K in keyof HarCookie]: HarCookie[K] } = {
      name: cookieName,
      value: hidden ? REDACTED : cookieValue,
    };
    for (const attribute of attributes) {
      const [key, attributeValue] = splitPair(attribute);
      switch (key.toLowerCase()) {
        case 'path':
          cookie.path = attributeValue;
          break;
        case 'domain':
          cookie.domain = attributeValue;
          break;
        case 'expires': {
          const date = new Date(attributeValue);
          if (!Number.isNaN(date.getTime())) cookie.expires = date.toISOString();
          break;
        }
        case 'httponly':
          cookie.httpOnly = true;
          break;
        case 'secure':
          cookie.secure = true;
          break;
      }
    }
    cookies.push(cookie);
  }
  return cookies;
}

function splitPair(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at < 0) return [text.trim(), ''];
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

/** HAR writes the protocol as it appears on a status line: `HTTP/1.1`, `HTTP/2` (no minor version). */
function httpVersion(version: string): string {
  return version === '' || version.startsWith('HTTP/') ? version : `HTTP/${version}`;
}

function nonNegative(ms: number): number {
  return Math.max(0, round(ms));
}

/** Microsecond precision: the clock has it, and more digits would only bloat the file. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
