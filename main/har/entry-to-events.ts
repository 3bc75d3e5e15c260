/**
 * One HAR entry (ours or any tool's) as the events the core would have reported for it, so an
 * imported exchange is an ordinary exchange to every view. Pure: no clock, no host, no I/O.
 */
import {
  type CaptureLimitReason,
  type ChunkEvent,
  type ConnectTimings,
  type Direction,
  type ExchangeClosedEvent,
  type ExchangeKind,
  type ExchangeOutcome,
  type ProxyEvent,
  type RawHeaders,
  type RuleAppliedEvent,
  type WebSocketMessageEvent,
} from '../../app/proxy-events.js';
import {
  arrayAt,
  bodyBytes,
  coreHttpVersion,
  headersAt,
  idAt,
  isObject,
  numberAt,
  objectAt,
  stringAt,
  withoutContentEncoding,
  type Fields,
} from './har-fields.js';
import { RULE_ACTION_TYPES } from '../../app/stream-rules.js';
import type { HarBackpressure, HarCaptureLimit, HarChunk, HarRuleApplied } from './har-types.js';
import { rpcMessageEvents, rpcStatusEvent } from './entry-rpc.js';
import { sseEvents } from './entry-sse.js';

/** An entry that cannot become an exchange at all; the import skips it and says why. */
export class EntrySkipped extends Error {}

export interface EntryContext {
  /** The exchange id the host assigned. */
  readonly id: number;
  /** The host's monotonic time for a wall-clock time in ms, preserving gaps between entries. */
  readonly monotonic: (wallTime: number) => number;
  /** Wall time to use when `startedDateTime` cannot be read (the previous entry's). */
  readonly fallbackWallTime: number;
  /** `log.creator.name` of the file, when it came before the entries: some tools mean other things by a field. */
  readonly writer?: string | undefined;
  /** The file's name, which the exchange carries so it can be told apart, hidden or removed. */
  readonly fileName?: string | undefined;
}

export interface ImportedExchange {
  readonly wallTime: number;
  /** In the order the core would have emitted them, up to `closed`. */
  readonly events: ProxyEvent[];
  readonly closed: ExchangeClosedEvent;
  /** Body bytes as HAR holds them: with any Content-Encoding undone. */
  readonly bodies: Partial<Record<Direction, Buffer>>;
  /** Parts of the entry that were left out, in words. */
  readonly warnings: string[];
}

const OUTCOMES: readonly ExchangeOutcome[] = [
  'completed',
  'client-closed',
  'upstream-reset',
  'idle-timeout',
  'proxy-error',
];
const LIMIT_REASONS: readonly CaptureLimitReason[] = [
  'body-cap',
  'total-cap',
  'spill-failed',
  'decode-failed',
  'websocket-frames',
  'rpc-frames',
  'message-cap',
];

/** Writers whose `connection` is the server's port (Firefox's HAR builder, Firebug's NetExport). */
const PORT_IN_CONNECTION = /^(firefox|firebug)$/i;

/** Rank among events at the same time: the core opens, answers, forwards, parses, then limits. */
type Timed = { readonly at: number; readonly rank: number; readonly event: ProxyEvent };

export function entryToExchange(entry: unknown, context: EntryContext): ImportedExchange {
  if (!isObject(entry)) throw new EntrySkipped(`is ${describeValue(entry)}, not an object`);
  const request = objectAt(entry, 'request');
  const method = stringAt(request, 'method');
  const rawUrl = stringAt(request, 'url');
  if (!request || !method || rawUrl === undefined) throw new EntrySkipped('has no request with a method and url');
  const response = objectAt(entry, 'response') ?? {};
  const { id } = context;
  const warnings: string[] = [];
  // Firefox (and Firebug before it) write the server's port in `connection`, not a connection id.
  const connectionId = PORT_IN_CONNECTION.test(context.writer ?? '') ? undefined : idAt(entry, 'connection');
  const streamId = idAt(entry, '_streamId');

  const parsedWall = Date.parse(stringAt(entry, 'startedDateTime') ?? '');
  if (Number.isNaN(parsedWall)) warnings.push('startedDateTime is not a date; placed after the previous entry');
  const wallTime = Number.isNaN(parsedWall) ? context.fallbackWallTime : parsedWall;
  const start = context.monotonic(wallTime);
  const at = (msFromStart: number): number => start + msFromStart;

  const kind = kindOf(entry, method, rawUrl, numberAt(response, 'status') ?? 0);
  const phases = phasesOf(objectAt(entry, 'timings'), numberAt(entry, 'time'));
  const status = numberAt(response, 'status') ?? 0;
  const content = objectAt(response, 'content');
  const postData = objectAt(request, 'postData');
  // A body whose decoding failed on export is still encoded: its header stays true.
  const requestHeaders = keepEncodingIf(headersAt(request, 'headers'), postData);
  const responseHeaders = keepEncodingIf(headersAt(response, 'headers'), content);

  const bodies: Partial<Record<Direction, Buffer>> = {};
  const readBody = (direction: Direction, holder: Fields | undefined, base64: boolean): void => {
    const text = stringAt(holder, 'text');
    if (!text) return;
    try {
      bodies[direction] = bodyBytes(text, base64);
    } catch (err) {
      warnings.push(`${direction} body left out: ${(err as Error).message}`);
    }
  };
  readBody('request', postData, stringAt(postData, '_encoding') === 'base64');
  readBody('response', content, stringAt(content, 'encoding') === 'base64');

  const timed: Timed[] = [];
  const push = (time: number, rank: number, event: ProxyEvent): void => {
    timed.push({ at: time, rank, event });
  };
  push(start, 0, {
    type: 'exchange-opened',
    id,
    t: start,
    wallTime,
    kind,
    intercepted: /^(https|wss):/i.test(rawUrl),
    clientAddress: '',
    request: {
      method,
      url: kind === 'tunnel' ? rawUrl.replace(/^tcp:\/\//, '') : rawUrl,
      httpVersion: coreHttpVersion(stringAt(request, 'httpVersion')),
      headers: requestHeaders,
    },
    ...(connectionId === undefined ? {} : { connectionId }),
    ...(context.fileName === undefined ? {} : { importedFrom: context.fileName }),
    ...(streamId === undefined ? {} : { streamId }),
  });
  const responseAt = at(phases.responseAt);
  if (status > 0) {
    push(responseAt, 1, {
      type: 'response-head',
      id,
      t: responseAt,
      response: {
        status,
        statusText: stringAt(response, 'statusText') ?? '',
        httpVersion: coreHttpVersion(stringAt(response, 'httpVersion')),
        headers: responseHeaders,
      },
      timings: phases.connectTimings,
      requestSentAt: at(phases.requestSentAt),
    });
  }

  const messages = webSocketMessages(entry, wallTime, warnings);
  const chunks = chunksOf(entry, bodies, messages, phases, id, at);
  for (const message of messages) push(at(message.at), 3, messageEvent(message, id, at));
  for (const chunk of chunks) {
    push(chunk.direction === 'response' ? Math.max(chunk.readAt, responseAt) : chunk.readAt, 2, chunk);
  }
  const responseChunks = chunks.filter((c) => c.direction === 'response');
  const sse = sseEvents(entry, responseHeaders, bodies.response, { id, wallTime, at, chunks: responseChunks });
  for (const event of sse) push(event.t, 3, event);
  const chunkCounts = { request: chunks.length - responseChunks.length, response: responseChunks.length };
  const rpc = { id, wallTime, at, chunkCounts };
  for (const event of rpcMessageEvents(entry, rpc, warnings)) push(event.t, 3, event);
  const rpcStatus = rpcStatusEvent(entry, rpc, warnings);
  if (rpcStatus) push(rpcStatus.t, 3, rpcStatus);
  const backpressure = backpressureOf(entry);
  for (const interval of backpressure) {
    push(at(interval.pausedAt), 2, {
      type: 'backpressure-paused',
      id,
      direction: interval.direction,
      t: at(interval.pausedAt),
      queuedBytes: interval.queuedBytes,
    });
    if (interval.resumedAt === undefined) continue;
    push(at(interval.resumedAt), 2, {
      type: 'backpressure-resumed',
      id,
      direction: interval.direction,
      t: at(interval.resumedAt),
      pausedAt: at(interval.pausedAt),
      queuedBytes: interval.queuedBytes,
    });
  }
  for (const limit of captureLimitsOf(entry)) {
    push(at(limit.at), 4, {
      type: 'capture-limited',
      id,
      direction: limit.direction,
      t: at(limit.at),
      reason: limit.reason,
      atOffset: limit.atOffset,
      ...(limit.detail === undefined ? {} : { detail: limit.detail }),
    });
  }
  for (const rule of rulesOf(entry)) {
    push(at(rule.at), 4, {
      type: 'rule-applied',
      id,
      t: at(rule.at),
      rule: rule.rule,
      action: rule.action as RuleAppliedEvent['action'],
      direction: rule.direction,
      detail: rule.detail,
      ...(rule.heldMs === undefined ? {} : { heldMs: rule.heldMs }),
      ...(rule.event === undefined ? {} : { event: rule.event }),
    });
  }
  const end = at(phases.end);
  for (const [direction, holder] of [
    ['request', postData],
    ['response', content],
  ] as const) {
    if (holder?._truncated !== true) continue;
    const reason = stringAt(holder, '_truncatedReason') as CaptureLimitReason | undefined;
    push(end, 4, {
      type: 'capture-limited',
      id,
      direction,
      t: end,
      reason: reason && LIMIT_REASONS.includes(reason) ? reason : 'body-cap',
      atOffset: numberAt(holder, '_capturedBytes') ?? bodies[direction]?.length ?? 0,
    });
  }
  const closed: ExchangeClosedEvent = {
    type: 'exchange-closed',
    id,
    t: timed.reduce((latest, e) => Math.max(latest, e.at), end),
    ...outcomeOf(entry, response, status),
    requestBytes: byteCount(numberAt(request, 'bodySize'), bodies.request),
    responseBytes: byteCount(numberAt(response, 'bodySize'), bodies.response),
    pausedMs:
      numberAt(entry, '_pausedMs') ??
      backpressure.reduce((sum, b) => sum + (b.resumedAt === undefined ? 0 : b.resumedAt - b.pausedAt), 0),
  };

  // Stable: events at the same time keep the core's order (rank), then the file's.
  timed.sort((a, b) => a.at - b.at || a.rank - b.rank);
  return { wallTime, events: timed.map((e) => e.event), closed, bodies, warnings };
}

function kindOf(entry: Fields, method: string, url: string, status: number): ExchangeKind {
  const ours = stringAt(entry, '_kind');
  if (ours === 'http' || ours === 'websocket' || ours === 'tunnel') return ours;
  if (method.toUpperCase() === 'CONNECT' || url.startsWith('tcp://')) return 'tunnel';
  if (status === 101 || Array.isArray(entry._webSocketMessages)) return 'websocket';
  return 'http';
}

/** When each phase happened, in ms from `startedDateTime`. */
interface Phases {
  readonly connectTimings: ConnectTimings;
  readonly requestSentAt: number;
  readonly responseAt: number;
  readonly end: number;
}

function phasesOf(timings: Fields | undefined, time: number | undefined): Phases {
  const phase = (key: string): number => Math.max(numberAt(timings, key) ?? -1, -1);
  const [blocked, dns, connect, ssl, send, wait, receive] = [
    'blocked',
    'dns',
    'connect',
    'ssl',
    'send',
    'wait',
    'receive',
  ].map(phase) as [number, number, number, number, number, number, number];
  const spent = (ms: number): number => Math.max(ms, 0);
  // HAR counts TLS inside `connect`; the core reports them one after the other.
  const tcp = connect >= 0 ? Math.max(connect - spent(ssl), 0) : -1;
  const requestSentAt = spent(blocked) + spent(dns) + spent(connect) + spent(send);
  const responseAt = requestSentAt + spent(wait);
  return {
    connectTimings: { dns, connect: tcp, ssl },
    requestSentAt,
    responseAt,
    end: Math.max(responseAt + spent(receive), time ?? 0),
  };
}

interface Message {
  readonly direction: Direction;
  /** Ms from `startedDateTime`. */
  readonly at: number;
  readonly opcode: number;
  /** Its position among its direction's messages: `_index` when older ones were not kept, else its place. */
  readonly index: number;
  readonly data: string;
  readonly binary: boolean;
  /** The payload's bytes, for `size` and, for data messages, as body bytes. */
  readonly bytes: Buffer;
  readonly item: Fields;
}

/** Chrome's `_webSocketMessages` (mitmproxy and ours write the same shape), in file order. */
function webSocketMessages(entry: Fields, wallTime: number, warnings: string[]): Message[] {
  const messages: Message[] = [];
  const placed = { request: 0, response: 0 };
  for (const item of arrayAt(entry, '_webSocketMessages') ?? []) {
    if (!isObject(item)) continue;
    const opcode = numberAt(item, 'opcode');
    if (opcode === undefined || ![1, 2, 8, 9, 10].includes(opcode)) continue;
    const data = stringAt(item, 'data') ?? '';
    // Chrome writes binary messages in base64; ours mark other base64 payloads with `_binary`.
    const binary = opcode === 2 || item._binary === true;
    const direction = stringAt(item, 'type') === 'send' ? 'request' : 'response';
    const place = placed[direction]++;
    try {
      messages.push({
        direction,
        index: numberAt(item, '_index') ?? place,
        at: (numberAt(item, 'time') ?? wallTime / 1000) * 1000 - wallTime,
        opcode,
        data,
        binary,
        bytes: bodyBytes(data, binary),
        item,
      });
    } catch (err) {
      warnings.push(`a WebSocket message left out: ${(err as Error).message}`);
    }
  }
  return messages;
}

function messageEvent(message: Message, id: number, at: (ms: number) => number): WebSocketMessageEvent {
  const { item } = message;
  const closeCode = numberAt(item, '_closeCode');
  // A close frame's payload on the wire held its 2-byte code before the reason.
  const wireSize = message.bytes.length + (closeCode === undefined ? 0 : 2);
  return {
    type: 'websocket-message',
    id,
    direction: message.direction,
    index: message.index,
    t: at(message.at),
    opcode: message.opcode,
    data: message.data,
    binary: message.binary,
    size: numberAt(item, '_size') ?? wireSize,
    ...(item._truncated === true ? { truncated: true } : {}),
    ...(item._compressed === true ? { compressed: true } : {}),
    ...(closeCode === undefined ? {} : { closeCode }),
  };
}

/**
 * Chunk events: ours from `_chunks`; a WebSocket's messages; otherwise one chunk per body when
 * it was sent (request) or fully received (response). Message bytes become the bodies so they
 * can be read like any body.
 */
function chunksOf(
  entry: Fields,
  bodies: Partial<Record<Direction, Buffer>>,
  messages: readonly Message[],
  phases: Phases,
  id: number,
  at: (ms: number) => number,
): ChunkEvent[] {
  const chunks: ChunkEvent[] = [];
  const next = { request: { index: 0, offset: 0 }, response: { index: 0, offset: 0 } };
  const add = (direction: Direction, size: number, readAt: number, flushedAt: number, offset?: number): void => {
    const body = next[direction];
    const from = offset ?? body.offset;
    chunks.push({ type: 'chunk', id, direction, offset: from, size, readAt, flushedAt, index: body.index++ });
    body.offset = from + size;
  };
  const ours = (arrayAt(entry, '_chunks') ?? []).filter(isChunk);
  if (ours.length > 0) {
    for (const c of ours) add(c.direction, c.size, at(c.readAt), at(c.flushedAt), c.offset);
    return chunks;
  }
  if (messages.length > 0) {
    const parts: Record<Direction, Buffer[]> = { request: [], response: [] };
    // Only data messages are message bytes; control frames carry none.
    for (const m of messages.filter((message) => message.opcode === 1 || message.opcode === 2)) {
      add(m.direction, m.bytes.length, at(m.at), at(m.at));
      parts[m.direction].push(m.bytes);
    }
    for (const direction of ['request', 'response'] as const) {
      if (parts[direction].length > 0) bodies[direction] = Buffer.concat(parts[direction]);
    }
    return chunks;
  }
  const sent = at(phases.requestSentAt);
  if (bodies.request?.length) add('request', bodies.request.length, sent, sent);
  if (bodies.response?.length) add('response', bodies.response.length, at(phases.end), at(phases.end));
  return chunks;
}

function isChunk(value: unknown): value is HarChunk {
  return (
    isObject(value) &&
    (value.direction === 'request' || value.direction === 'response') &&
    [value.offset, value.size, value.readAt, value.flushedAt].every((n) => typeof n === 'number' && Number.isFinite(n))
  );
}

function backpressureOf(entry: Fields): HarBackpressure[] {
  return (arrayAt(entry, '_backpressure') ?? []).filter(
    (b): b is HarBackpressure =>
      isObject(b) &&
      (b.direction === 'request' || b.direction === 'response') &&
      typeof b.pausedAt === 'number' &&
      (b.resumedAt === undefined || typeof b.resumedAt === 'number') &&
      typeof b.queuedBytes === 'number',
  );
}

/** Our `_captureLimits`: parsing that gave way (WebSocket or RPC framing, content decoding). */
function captureLimitsOf(entry: Fields): HarCaptureLimit[] {
  return (arrayAt(entry, '_captureLimits') ?? []).filter(
    (l): l is HarCaptureLimit =>
      isObject(l) &&
      (l.direction === 'request' || l.direction === 'response') &&
      typeof l.at === 'number' &&
      Number.isFinite(l.at) &&
      LIMIT_REASONS.includes(l.reason as CaptureLimitReason) &&
      typeof l.atOffset === 'number' &&
      (l.detail === undefined || typeof l.detail === 'string'),
  );
}

const RULE_ACTIONS: readonly string[] = ['match', ...RULE_ACTION_TYPES];

/** Our `_rules`: what stream rules did to the exchange when it was captured. */
function rulesOf(entry: Fields): HarRuleApplied[] {
  return (arrayAt(entry, '_rules') ?? []).filter(
    (r): r is HarRuleApplied =>
      isObject(r) &&
      typeof r.rule === 'string' &&
      RULE_ACTIONS.includes(r.action as string) &&
      (r.direction === 'request' || r.direction === 'response') &&
      typeof r.at === 'number' &&
      Number.isFinite(r.at) &&
      typeof r.detail === 'string' &&
      (r.heldMs === undefined || (typeof r.heldMs === 'number' && Number.isFinite(r.heldMs))) &&
      (r.event === undefined || (Number.isInteger(r.event) && (r.event as number) > 0)),
  );
}

function outcomeOf(
  entry: Fields,
  response: Fields,
  status: number,
): { outcome: ExchangeOutcome; reason?: string; detail?: string } {
  const error = stringAt(response, '_error') || undefined;
  const ours = stringAt(entry, '_outcome') as ExchangeOutcome | undefined;
  if (ours && OUTCOMES.includes(ours)) {
    const reason = stringAt(entry, '_outcomeReason');
    return { outcome: ours, ...(reason ? { reason } : {}), ...(error ? { detail: error } : {}) };
  }
  if (entry._incomplete === true) {
    // Nothing more will ever arrive for it: shown as ended, with words saying it was cut by the export.
    return {
      outcome: 'client-closed',
      reason: 'incomplete-at-export',
      detail: 'still open when the HAR file was written: this is what had been seen',
    };
  }
  if (status === 0) return { outcome: 'proxy-error', reason: 'no-response', detail: error ?? 'no response in the HAR' };
  if (error) return { outcome: 'upstream-reset', reason: 'har-error', detail: error };
  return { outcome: 'completed' };
}

/** Our export writes wire bytes in `bodySize`; other tools may write -1 (unknown). */
function byteCount(bodySize: number | undefined, body: Buffer | undefined): number {
  return bodySize !== undefined && bodySize >= 0 ? bodySize : (body?.length ?? 0);
}

function keepEncodingIf(headers: RawHeaders, body: Fields | undefined): [string, string][] {
  return typeof body?._decodeError === 'string'
    ? headers.map(([n, v]) => [n, v] as [string, string])
    : withoutContentEncoding(headers);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}
