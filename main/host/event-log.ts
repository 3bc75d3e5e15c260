import type { HostEvent } from '../../app/contract.js';
import { chunkFollows, mergeChunks, type ChunkEvent, type Direction, type RawHeaders } from '../../app/proxy-events.js';

export interface EventLogLimits {
  /** Events kept in all; past it the oldest finished exchanges are forgotten whole. */
  readonly maxEvents?: number;
  /** Chunk events kept per body; later chunks are merged into the last one (byte ranges stay exact). */
  readonly maxChunksPerBody?: number;
  /** Events that belong to no exchange (client errors, notices) kept, newest last. */
  readonly maxLooseEvents?: number;
}

const DEFAULTS: Required<EventLogLimits> = {
  maxEvents: 1_000_000,
  maxChunksPerBody: 20_000,
  maxLooseEvents: 1_000,
};

interface ExchangeRecord {
  readonly events: HostEvent[];
  requestHeaders: RawHeaders;
  responseHeaders: RawHeaders | undefined;
  closed: boolean;
  /** Index in `events` of the last chunk event of each body, and how many that body has. */
  lastChunk: Record<Direction, number>;
  chunkCount: Record<Direction, number>;
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

  constructor(limits: EventLogLimits = {}) {
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
          requestHeaders: event.request.headers,
          responseHeaders: undefined,
          closed: false,
          lastChunk: { request: -1, response: -1 },
          chunkCount: { request: 0, response: 0 },
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
      case 'capture-limited':
      case 'exchange-closed': {
        const record = this.exchanges.get(event.id);
        if (!record) return;
        if (event.type === 'response-head') record.responseHeaders = event.response.headers;
        if (event.type === 'exchange-closed') record.closed = true;
        record.events.push(event);
        this.count++;
        break;
      }
      case 'client-error':
      case 'host-notice':
        this.loose.push(event);
        if (this.loose.length > this.limits.maxLooseEvents * 2)
          this.loose = this.loose.slice(-this.limits.maxLooseEvents);
        break;
      // Status is asked for on connect, drops concern one consumer, and a clear empties the log.
      case 'proxy-status':
      case 'events-dropped':
      case 'capture-cleared':
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
    for (const record of this.exchanges.values()) for (const event of record.events) all.push(event);
    const loose = this.loose.slice(-this.limits.maxLooseEvents);
    for (const event of loose) all.push(event);
    return all;
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
    const { direction } = chunk;
    const at = record.lastChunk[direction];
    const previous = at >= 0 ? (record.events[at] as ChunkEvent) : undefined;
    if (record.chunkCount[direction] >= this.limits.maxChunksPerBody && previous && chunkFollows(previous, chunk)) {
      record.events[at] = mergeChunks(previous, chunk);
      return;
    }
    record.lastChunk[direction] = record.events.length;
    record.chunkCount[direction]++;
    record.events.push(chunk);
    this.count++;
  }

  private forgetOldest(): void {
    const target = Math.floor(this.limits.maxEvents * 0.9);
    for (const [id, record] of this.exchanges) {
      if (this.count <= target) return;
      if (!record.closed) continue;
      this.exchanges.delete(id);
      this.count -= record.events.length;
    }
  }
}
