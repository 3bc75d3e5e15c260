/**
 * The Server-Sent Events of one imported HAR entry: ours read back from `_eventSourceMessages`,
 * another tool's parsed from the body by the core's own tracker. Pure, like the rest of the import.
 */
import {
  headerValue,
  type ChunkEvent,
  type RawHeaders,
  type SseEvent,
  type SseRetryEvent,
} from '../../app/proxy-events.js';
import { isEventStream } from '../../app/http-headers.js';
import { SseTracker } from '../../proxy-core/index.js';
import { arrayAt, isObject, type Fields } from './har-fields.js';
import type { HarEventSourceMessage } from './har-types.js';
import { firstPast } from '../../app/sorted-search.js';

export type ImportedSseEvent = SseEvent | SseRetryEvent;

/** What of the exchange the events are placed against: its response chunks and its clock. */
export interface SseContext {
  readonly id: number;
  readonly wallTime: number;
  /** The host's monotonic time for ms from `startedDateTime`. */
  readonly at: (ms: number) => number;
  /** The response's chunk events, in index order. */
  readonly chunks: readonly ChunkEvent[];
}

/**
 * SSE events: ours from `_eventSourceMessages`; otherwise, for a `text/event-stream` body, parsed
 * from the body by the core's tracker, so an imported stream has the events (and `retry` hints)
 * a captured one would, each stamped with the chunk that completed it.
 */
export function sseEvents(
  entry: Fields,
  headers: RawHeaders,
  body: Buffer | undefined,
  context: SseContext,
): ImportedSseEvent[] {
  const recorded = (arrayAt(entry, '_eventSourceMessages') ?? []).filter(isEventSourceMessage);
  if (recorded.length > 0) return recordedEvents(recorded, context);
  if (!body?.length || !isEventStream(headerValue(headers, 'content-type'))) return [];
  return parsedEvents(body, context);
}

function recordedEvents(recorded: readonly HarEventSourceMessage[], context: SseContext): SseEvent[] {
  const { id, wallTime, at } = context;
  const chunkAt = lastChunkReadBy(context.chunks);
  return recorded.map((m, index) => {
    const t = at(m.time * 1000 - wallTime);
    const chunk = chunkAt(t);
    // Our export writes an event with no name as `message` and no id as '': both are the defaults.
    return {
      type: 'sse-event',
      id,
      index,
      eventId: m.eventId === '' ? undefined : m.eventId,
      event: m.eventName === 'message' ? undefined : m.eventName,
      data: m.data,
      t,
      chunkRange: [chunk, chunk],
    };
  });
}

function parsedEvents(body: Buffer, { id, chunks }: SseContext): ImportedSseEvent[] {
  const events: ImportedSseEvent[] = [];
  // HAR holds the body decoded, so the tracker reads it as the core reads an unencoded stream;
  // without a decoder it has nothing that could give way, so it never reports a limit.
  const tracker = new SseTracker(
    id,
    undefined,
    (event) => {
      if (event.type === 'sse-event' || event.type === 'sse-retry') events.push(event);
    },
    () => undefined,
  );
  // Chunk by chunk when the chunks cover the body's bytes (it was not content-encoded).
  if (chunks.reduce((sum, c) => sum + c.size, 0) === body.length) {
    for (const c of chunks) tracker.onChunk(body.subarray(c.offset, c.offset + c.size), c.index, c.readAt);
  } else {
    tracker.onChunk(body, 0, chunks.at(-1)?.readAt ?? 0);
  }
  tracker.end();
  return events;
}

/**
 * For a time, the index of the last chunk read by then (0 before the first). Sorted once, then a
 * binary search per question: a stream of n events over n chunks costs n log n, not n² (20,000
 * events were 4·10⁸ steps on the host's loop, which is the proxy's loop too).
 */
export function lastChunkReadBy(chunks: readonly ChunkEvent[]): (t: number) => number {
  const reads = chunks.map((c) => ({ at: c.readAt, index: c.index })).sort((a, b) => a.at - b.at);
  // A file may list its chunks out of time order: by a time, the highest index read so far.
  const highest: number[] = [];
  for (const read of reads) highest.push(Math.max(read.index, highest.at(-1) ?? 0));
  return (t) => {
    const read = firstPast(reads, t, (r) => r.at);
    return read === 0 ? 0 : highest[read - 1]!;
  };
}

function isEventSourceMessage(value: unknown): value is HarEventSourceMessage {
  return (
    isObject(value) &&
    typeof value.time === 'number' &&
    typeof value.data === 'string' &&
    typeof value.eventName === 'string' &&
    typeof value.eventId === 'string'
  );
}
