import { describe, expect, it } from 'vitest';
import type { ChunkEvent, SseEvent } from '../../app/proxy-events.js';
import { lastChunkReadBy } from '../../main/har/entry-sse.js';
import { entryToExchange, type ImportedExchange } from '../../main/har/entry-to-events.js';

const STARTED = Date.UTC(2026, 0, 2, 3, 4, 5);

/** A response entry of another tool (or ours) with `fields` over a plain 200. */
function entryWith(response: Record<string, unknown>, fields: Record<string, unknown> = {}): unknown {
  return {
    startedDateTime: new Date(STARTED).toISOString(),
    time: 3,
    request: { method: 'GET', url: 'https://sse.test/', httpVersion: 'HTTP/1.1', headers: [] },
    response: { status: 200, statusText: '', httpVersion: 'HTTP/1.1', headers: [], ...response },
    timings: { send: 1, wait: 1, receive: 1 },
    ...fields,
  };
}

function imported(entry: unknown, writer?: string): ImportedExchange {
  return entryToExchange(entry, { id: 1, monotonic: (wall) => wall, fallbackWallTime: 0, writer });
}

/** `_chunks` as our export writes them: `sizes` one after the other, read `readAt` ms from the start. */
function harChunks(sizes: readonly number[], readAt: (index: number) => number): unknown[] {
  let offset = 0;
  return sizes.map((size, index) => {
    const chunk = { direction: 'response', offset, size, readAt: readAt(index), flushedAt: readAt(index) };
    offset += size;
    return chunk;
  });
}

describe('SSE events of an imported entry', () => {
  it('parses another tool’s event-stream body as the core does: chunk ranges, retry hints', () => {
    // Three reads: one whole event, then an event split across two reads with a retry hint.
    const reads = ['data: a\n\n', 'retry: 1500\ndata: b', '\n\n'];
    const exchange = imported(
      entryWith(
        {
          headers: [{ name: 'Content-Type', value: 'Text/Event-Stream ; charset=utf-8' }],
          content: { size: 0, mimeType: 'text/event-stream', text: reads.join('') },
        },
        {
          _chunks: harChunks(
            reads.map((r) => r.length),
            (index) => 10 + index,
          ),
        },
      ),
      'some other tool',
    );
    const parsed = exchange.events.flatMap((e) =>
      e.type === 'sse-event'
        ? [[e.type, e.data, e.t - STARTED, e.chunkRange]]
        : e.type === 'sse-retry'
          ? [[e.type, e.retryMs, e.t - STARTED]]
          : [],
    );
    expect(parsed).toEqual([
      ['sse-event', 'a', 10, [0, 0]],
      ['sse-retry', 1500, 11],
      // The first read ended on a blank line, so nothing of this event was in it.
      ['sse-event', 'b', 12, [1, 2]],
    ]);
  });

  it('stamps a long recorded stream with its chunks in n log n: 50,000 events over 50,000 chunks', () => {
    // Scanning every chunk for every event took 38 s on a 2-core machine; this takes well under 1 s.
    const COUNT = 50_000;
    const messages = Array.from({ length: COUNT }, (_, i) => ({
      // Half a ms after chunk i - 1 was read; the first before any read.
      time: (STARTED + i + 0.5) / 1000,
      data: `e${i}`,
      eventName: 'message',
      eventId: '',
    }));
    const exchange = imported(
      entryWith(
        { content: { size: COUNT, mimeType: 'text/event-stream', text: 'x'.repeat(COUNT) } },
        {
          _chunks: harChunks(
            Array.from({ length: COUNT }, () => 1),
            (index) => index + 1,
          ),
          _eventSourceMessages: messages,
        },
      ),
      'Sluice',
    );
    const sse = exchange.events.filter((e): e is SseEvent => e.type === 'sse-event');
    expect(sse).toHaveLength(COUNT);
    expect(sse[0]!.chunkRange).toEqual([0, 0]);
    expect(sse[1]!.chunkRange).toEqual([0, 0]);
    expect(sse[2]!.chunkRange).toEqual([1, 1]);
    expect(sse.at(-1)!.chunkRange).toEqual([COUNT - 2, COUNT - 2]);
  }, 20_000);

  it('finds the last chunk read by a time reading each chunk once, whatever their order in the file', () => {
    let reads = 0;
    const chunk = (index: number, readAt: number): ChunkEvent => {
      const event = { type: 'chunk', id: 1, direction: 'response', offset: index, size: 1, flushedAt: readAt, index };
      return Object.defineProperty(event, 'readAt', {
        get: () => {
          reads++;
          return readAt;
        },
      }) as unknown as ChunkEvent;
    };
    const COUNT = 20_000;
    const chunkAt = lastChunkReadBy(Array.from({ length: COUNT }, (_, i) => chunk(i, i * 10)));
    const wrong = Array.from({ length: COUNT }, (_, i) => i).filter((i) => chunkAt(i * 10 + 5) !== i);
    expect(wrong).toEqual([]);
    expect(chunkAt(-1)).toBe(0);
    // Once each while sorting, not once per question: 20,000 questions scanning all would be 4·10⁸.
    expect(reads).toBe(COUNT);

    // Listed out of time order: by a time, the highest index read so far.
    const shuffled = lastChunkReadBy([chunk(0, 5), chunk(1, 30), chunk(2, 20), chunk(3, 40)]);
    expect([0, 5, 20, 29, 30, 40, 99].map(shuffled)).toEqual([0, 0, 2, 2, 2, 3, 3]);
  });
});
