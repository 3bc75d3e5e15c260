import type { HostEvent } from '../../app/contract.js';
import type {
  CaptureLimitedEvent,
  ChunkEvent,
  Direction,
  ExchangeOpenedEvent,
  RawHeaders,
} from '../../app/proxy-events.js';
import { ChunkColumns } from './chunk-columns.js';
import { SseColumns } from './sse-columns.js';

export interface EventLogLimits {
  /** Events kept in all; past it the oldest finished exchanges are forgotten whole. */
  readonly maxEvents?: number;
  /** Chunk events kept per body; later chunks are merged into the last one (byte ranges stay exact). */
  readonly maxChunksPerBody?: number;
  /**
   * Messages (Server-Sent Events, WebSocket, or gRPC, gRPC-Web and Connect) kept per exchange. Past
   * it further messages still reach live consumers but are not kept for replay or export (counted
   * in `messagesNotKept`): dropping the oldest instead would mean cutting into the middle of an
   * exchange's interleaved events on every message. An RPC's status is not a message: it is always
   * kept.
   */
  readonly maxMessagesPerExchange?: number;
  /** Events that belong to no exchange (client errors, notices) kept, newest last. */
  readonly maxLooseEvents?: number;
}

/** Told the ids of exchanges the log forgot, so their body copies can go too. */
export type ForgetListener = (ids: readonly number[]) => void;

/** One exchange as the log gives it up to the on-disk store. */
export interface TakenExchange {
  /** Its events in order, chunks interleaved where they came. */
  readonly events: HostEvent[];
  readonly requestHeaders: RawHeaders;
  readonly responseHeaders: RawHeaders | undefined;
  readonly messagesNotKept: number;
}

/** What the log holds at one moment, for a consumer that arrives late. */
export interface LogSnapshot {
  /** Each exchange the log holds with its events so far, by id. */
  readonly exchanges: readonly { readonly id: number; readonly events: HostEvent[] }[];
  /** Events that belong to no exchange, newest last. */
  readonly loose: readonly HostEvent[];
}

const DEFAULTS: Required<EventLogLimits> = {
  maxEvents: 1_000_000,
  maxChunksPerBody: 20_000,
  maxMessagesPerExchange: 20_000,
  maxLooseEvents: 1_000,
};

interface ExchangeRecord {
  /**
   * Every event but chunks, in order; a Server-Sent Event as its position in `sse`, where it is
   * kept packed (a stream left open holds thousands).
   */
  readonly events: (HostEvent | number)[];
  /**
   * How many request and response chunks came before `events[i]`, at `[2i]` and `[2i + 1]`, so
   * replay interleaves them as they were. Flat: an exchange has several events, and a pair
   * each would cost more than the numbers.
   */
  readonly chunksBefore: number[];
  /** Made on a body's first chunk: most requests have no body. */
  readonly chunks: Partial<Record<Direction, ChunkColumns>>;
  /** Made on the stream's first event. */
  sse: SseColumns | undefined;
  requestHeaders: RawHeaders;
  responseHeaders: RawHeaders | undefined;
  closed: boolean;
  /** Messages kept (Server-Sent Events, WebSocket or RPC), and those past the cap that were not. */
  messages: number;
  messagesNotKept: number;
}

/**
 * The exchanges still in memory (with a capture store: those not finished yet, and those on their
 * way to the store), and events that belong to none, so a window or tab that connects late (or
 * reloads) can be brought up to date. It is bounded: a body's chunks past a cap are merged, and
 * past the total cap whole finished exchanges are forgotten, oldest first (only without a store do
 * finished exchanges pile up here). Bodies themselves live in the recorder, not here.
 */
export class EventLog {
  private readonly limits: Required<EventLogLimits>;
  private readonly exchanges = new Map<number, ExchangeRecord>();
  private loose: HostEvent[] = [];
  private count = 0;

  constructor(
    limits: EventLogLimits = {},
    private readonly onForget: ForgetListener = () => undefined,
  ) {
    this.limits = { ...DEFAULTS, ...limits };
  }

  get size(): number {
    return this.count + this.loose.length;
  }

  /**
   * Keeps `event` as the limits allow. Returns an event the log added of its own accord (the note
   * that an exchange's messages stopped being kept), which live consumers must hear too.
   */
  append(event: HostEvent): HostEvent | undefined {
    let added: HostEvent | undefined;
    switch (event.type) {
      case 'exchange-opened':
        this.exchanges.set(event.id, {
          events: [event],
          chunksBefore: [0, 0],
          chunks: {},
          sse: undefined,
          requestHeaders: event.request.headers,
          responseHeaders: undefined,
          closed: false,
          messages: 0,
          messagesNotKept: 0,
        });
        this.count++;
        break;
      case 'chunk':
        this.appendChunk(event);
        break;
      case 'response-head':
      case 'backpressure-paused':
      case 'backpressure-resumed':
      case 'sse-event':
      case 'sse-retry':
      case 'websocket-message':
      case 'rpc-message':
      case 'rpc-status':
      case 'capture-limited':
      case 'rule-applied':
      case 'breakpoint-held':
      case 'breakpoint-resolved':
      case 'exchange-closed': {
        const record = this.exchanges.get(event.id);
        if (!record) return;
        if (isMessage(event) && record.messages++ >= this.limits.maxMessagesPerExchange) {
          if (record.messagesNotKept++ > 0) return;
          added = messagesNotKeptNote(event, this.limits.maxMessagesPerExchange);
          this.keep(record, added);
          break;
        }
        if (event.type === 'response-head') record.responseHeaders = event.response.headers;
        if (event.type === 'exchange-closed') record.closed = true;
        this.keep(record, event);
        break;
      }
      case 'client-error':
      case 'host-notice':
        this.loose.push(event);
        if (this.loose.length > this.limits.maxLooseEvents * 2)
          this.loose = this.loose.slice(-this.limits.maxLooseEvents);
        break;
      // Statuses and schemas are asked for on connect, drops concern one consumer, a clear empties
      // the log, and an import's progress matters only while it runs.
      case 'proxy-status':
      case 'schemas-changed':
      case 'rules-changed':
      case 'mocks-changed':
      case 'system-proxy-status':
      case 'events-dropped':
      case 'capture-cleared':
      case 'har-import-progress':
      case 'exchanges-removed':
      case 'exchange-held': // made for one window's replay, never emitted
        return;
      default:
        // A new event type is a compile error here until the log says where it goes.
        event satisfies never;
        return;
    }
    if (this.count > this.limits.maxEvents) this.forgetOldest();
    return added;
  }

  private keep(record: ExchangeRecord, event: HostEvent): void {
    record.events.push(event.type === 'sse-event' ? (record.sse ??= new SseColumns(event.id)).push(event) : event);
    record.chunksBefore.push(record.chunks.request?.length ?? 0, record.chunks.response?.length ?? 0);
    this.count++;
  }

  clear(): void {
    this.exchanges.clear();
    this.loose = [];
    this.count = 0;
  }

  /** Every kept event: each exchange's in order, exchanges in the order they opened, then the rest. */
  events(): HostEvent[] {
    const all: HostEvent[] = [];
    for (const record of this.exchanges.values()) replay(record, all);
    const loose = this.loose.slice(-this.limits.maxLooseEvents);
    for (const event of loose) all.push(event);
    return all;
  }

  /**
   * Copies of what the log holds now, each exchange replayed with its chunks where they came: taken
   * at once, so events appended later are not in it (a consumer gets those live).
   */
  snapshot(): LogSnapshot {
    const exchanges = [...this.exchanges]
      .sort(([a], [b]) => a - b)
      .map(([id, record]) => {
        const events: HostEvent[] = [];
        replay(record, events);
        return { id, events };
      });
    return { exchanges, loose: this.loose.slice(-this.limits.maxLooseEvents) };
  }

  has(id: number): boolean {
    return this.exchanges.has(id);
  }

  /** One exchange's events so far, chunks where they came; undefined when the log does not hold it. */
  eventsOf(id: number): HostEvent[] | undefined {
    const record = this.exchanges.get(id);
    if (!record) return undefined;
    const events: HostEvent[] = [];
    replay(record, events);
    return events;
  }

  /** Gives up one exchange (on its way to the store): its replayed events and what reads need. */
  take(id: number): TakenExchange | undefined {
    const record = this.exchanges.get(id);
    if (!record) return undefined;
    this.exchanges.delete(id);
    this.count -= eventCount(record);
    const events: HostEvent[] = [];
    replay(record, events);
    return {
      events,
      requestHeaders: record.requestHeaders,
      responseHeaders: record.responseHeaders,
      messagesNotKept: record.messagesNotKept,
    };
  }

  /** Messages of an exchange past the cap and not kept; 0 when none or unknown. */
  messagesNotKept(id: number): number {
    return this.exchanges.get(id)?.messagesNotKept ?? 0;
  }

  /** The ids of the exchanges kept, the newest first. */
  idsNewestFirst(): number[] {
    return [...this.exchanges.keys()].reverse();
  }

  /** How an exchange the log holds began: its request head, where it went. */
  openedOf(id: number): ExchangeOpenedEvent | undefined {
    const first = this.exchanges.get(id)?.events[0];
    return typeof first === 'object' && first.type === 'exchange-opened' ? first : undefined;
  }

  /** The headers of a body, to know its Content-Encoding; undefined when the exchange is not kept. */
  headersOf(id: number, direction: Direction): RawHeaders | undefined {
    const record = this.exchanges.get(id);
    if (!record) return undefined;
    return direction === 'request' ? record.requestHeaders : record.responseHeaders;
  }

  private appendChunk(chunk: ChunkEvent): void {
    const record = this.exchanges.get(chunk.id);
    if (!record) return;
    const columns = (record.chunks[chunk.direction] ??= new ChunkColumns(chunk.id, chunk.direction));
    if (columns.length >= this.limits.maxChunksPerBody && columns.mergeIntoLast(chunk)) return;
    columns.push(chunk);
    this.count++;
  }

  /** Forgets these exchanges whole (the user removed them); returns the ids that were kept. */
  remove(ids: Iterable<number>): number[] {
    const removed: number[] = [];
    for (const id of ids) {
      const record = this.exchanges.get(id);
      if (!record) continue;
      this.exchanges.delete(id);
      this.count -= eventCount(record);
      removed.push(id);
    }
    if (removed.length > 0) this.onForget(removed);
    return removed;
  }

  private forgetOldest(): void {
    const target = Math.floor(this.limits.maxEvents * 0.9);
    const forgotten: number[] = [];
    for (const [id, record] of this.exchanges) {
      if (this.count <= target) break;
      if (!record.closed) continue;
      this.exchanges.delete(id);
      this.count -= eventCount(record);
      forgotten.push(id);
    }
    if (forgotten.length > 0) this.onForget(forgotten);
  }
}

type MessageEvent = Extract<HostEvent, { type: 'sse-event' | 'websocket-message' | 'rpc-message' }>;

/**
 * The events the per-exchange message cap counts. An open exchange is never forgotten, so without
 * the cap one event stream left running all day (a dashboard's, 10 events a second) kept every
 * event in memory, about 0.3 KB each, past the log's total cap too.
 */
function isMessage(event: HostEvent): event is MessageEvent {
  return event.type === 'sse-event' || event.type === 'websocket-message' || event.type === 'rpc-message';
}

/** Says, where the first message not kept would have been, that the rest show only live. */
function messagesNotKeptNote(first: MessageEvent, cap: number): CaptureLimitedEvent {
  return {
    type: 'capture-limited',
    id: first.id,
    direction: first.type === 'sse-event' ? 'response' : first.direction,
    t: first.t,
    reason: 'message-cap',
    atOffset: -1,
    detail:
      `Sluice keeps the first ${cap.toLocaleString('en-US')} messages of an exchange; later ones show ` +
      'only in windows that were open as they came, not in windows opened later or in HAR exports',
  };
}

function eventCount(record: ExchangeRecord): number {
  return record.events.length + (record.chunks.request?.length ?? 0) + (record.chunks.response?.length ?? 0);
}

/** Appends an exchange's events to `out` with its chunks interleaved where they came. */
function replay(record: ExchangeRecord, out: HostEvent[]): void {
  const { request, response } = record.chunks;
  let requestSent = 0;
  let responseSent = 0;
  const chunksUpTo = (requests: number, responses: number): void => {
    for (; requestSent < requests; requestSent++) out.push(request!.at(requestSent));
    for (; responseSent < responses; responseSent++) out.push(response!.at(responseSent));
  };
  record.events.forEach((event, i) => {
    chunksUpTo(record.chunksBefore[2 * i]!, record.chunksBefore[2 * i + 1]!);
    out.push(typeof event === 'number' ? record.sse!.at(event) : event);
  });
  chunksUpTo(request?.length ?? 0, response?.length ?? 0);
}
