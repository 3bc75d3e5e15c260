import type { HostEvent } from '../../app/contract.js';
import type { ChunkEvent, Direction, RawHeaders } from '../../app/proxy-events.js';
import { ChunkColumns } from './chunk-columns.js';

export interface EventLogLimits {
  /** Events kept in all; past it the oldest finished exchanges are forgotten whole. */
  readonly maxEvents?: number;
  /** Chunk events kept per body; later chunks are merged into the last one (byte ranges stay exact). */
  readonly maxChunksPerBody?: number;
  /**
   * WebSocket messages kept per exchange. Past it further messages still reach live consumers but
   * are not kept for replay or export (counted in `messagesNotKept`): dropping the oldest instead
   * would mean cutting into the middle of an exchange's interleaved events on every message.
   */
  readonly maxMessagesPerExchange?: number;
  /** Events that belong to no exchange (client errors, notices) kept, newest last. */
  readonly maxLooseEvents?: number;
}

/** Told the ids of exchanges the log forgot, so their body copies can go too. */
export type ForgetListener = (ids: readonly number[]) => void;

const DEFAULTS: Required<EventLogLimits> = {
  maxEvents: 1_000_000,
  maxChunksPerBody: 20_000,
  maxMessagesPerExchange: 20_000,
  maxLooseEvents: 1_000,
};

interface ExchangeRecord {
  /** Every event but chunks, in order. */
  readonly events: HostEvent[];
  /**
   * How many request and response chunks came before `events[i]`, at `[2i]` and `[2i + 1]`, so
   * replay interleaves them as they were. Flat: an exchange has several events, and a pair
   * each would cost more than the numbers.
   */
  readonly chunksBefore: number[];
  /** Made on a body's first chunk: most requests have no body. */
  readonly chunks: Partial<Record<Direction, ChunkColumns>>;
  requestHeaders: RawHeaders;
  responseHeaders: RawHeaders | undefined;
  closed: boolean;
  /** WebSocket messages kept, and those past the cap that were not. */
  messages: number;
  messagesNotKept: number;
}

/**
 * What happened since the last clear, so a window or tab that connects late (or reloads) can be
 * brought up to date: the host replays `events()` to each new consumer before live events. It is
 * bounded: a body's chunks past a cap are merged, and past the total cap whole finished exchanges
 * are forgotten, oldest first. Bodies themselves live in the recorder, not here.
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

  append(event: HostEvent): void {
    switch (event.type) {
      case 'exchange-opened':
        this.exchanges.set(event.id, {
          events: [event],
          chunksBefore: [0, 0],
          chunks: {},
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
      case 'capture-limited':
      case 'exchange-closed': {
        const record = this.exchanges.get(event.id);
        if (!record) return;
        if (event.type === 'websocket-message' && record.messages++ >= this.limits.maxMessagesPerExchange) {
          record.messagesNotKept++;
          return;
        }
        if (event.type === 'response-head') record.responseHeaders = event.response.headers;
        if (event.type === 'exchange-closed') record.closed = true;
        record.events.push(event);
        record.chunksBefore.push(record.chunks.request?.length ?? 0, record.chunks.response?.length ?? 0);
        this.count++;
        break;
      }
      case 'client-error':
      case 'host-notice':
        this.loose.push(event);
        if (this.loose.length > this.limits.maxLooseEvents * 2)
          this.loose = this.loose.slice(-this.limits.maxLooseEvents);
        break;
      // Statuses are asked for on connect, drops concern one consumer, a clear empties the log, and
      // an import's progress matters only while it runs.
      case 'proxy-status':
      case 'system-proxy-status':
      case 'events-dropped':
      case 'capture-cleared':
      case 'har-import-progress':
      case 'exchanges-removed':
        return;
    }
    if (this.count > this.limits.maxEvents) this.forgetOldest();
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

  /** WebSocket messages of an exchange that were past the cap and not kept; 0 when none or unknown. */
  messagesNotKept(id: number): number {
    return this.exchanges.get(id)?.messagesNotKept ?? 0;
  }

  /** The ids of the exchanges kept, the newest first. */
  idsNewestFirst(): number[] {
    return [...this.exchanges.keys()].reverse();
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
      this.count -= record.events.length + (record.chunks.request?.length ?? 0) + (record.chunks.response?.length ?? 0);
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
      this.count -= record.events.length + (record.chunks.request?.length ?? 0) + (record.chunks.response?.length ?? 0);
      forgotten.push(id);
    }
    if (forgotten.length > 0) this.onForget(forgotten);
  }
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
    out.push(event);
  });
  chunksUpTo(request?.length ?? 0, response?.length ?? 0);
}
