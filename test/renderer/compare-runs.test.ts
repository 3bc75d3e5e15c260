import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import {
  compareRuns,
  excerpts,
  laneMarks,
  markText,
  noticeable,
  rowWords,
  runEvents,
} from '../../renderer/src/compare/compare-runs.js';
import type { ExchangeView } from '../../renderer/src/model/exchange.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import { openedEvent, responseHeadEvent } from '../helpers/host-events.js';

/**
 * Recorded runs, built as the store builds them from the host's events. Exchange `id` opens at host
 * time `id` (see `openedEvent`), so every time below is written as ms after its own request.
 */
interface Recording {
  readonly id: number;
  /** Each SSE event's data and its time after the request. */
  readonly events?: readonly (readonly [data: string, ms: number])[];
  /** Each response chunk's size and its time after the request. */
  readonly chunks?: readonly (readonly [size: number, ms: number])[];
  readonly pauses?: readonly (readonly [fromMs: number, toMs: number])[];
  readonly closedMs: number;
}

function record({ id, events = [], chunks = [], pauses = [], closedMs }: Recording): ExchangeView {
  const traffic = emptyTraffic();
  const feed: HostEvent[] = [
    openedEvent(id, { url: 'https://api.test/v1/stream' }),
    responseHeadEvent(id, [['Content-Type', events.length > 0 ? 'text/event-stream' : 'application/x-ndjson']]),
  ];
  let offset = 0;
  chunks.forEach(([size, ms], index) => {
    feed.push({ type: 'chunk', id, direction: 'response', offset, size, readAt: id + ms, flushedAt: id + ms, index });
    offset += size;
  });
  events.forEach(([data, ms], index) => {
    const chunkRange = [index, index] as const;
    feed.push({ type: 'sse-event', id, index, eventId: undefined, event: undefined, data, t: id + ms, chunkRange });
  });
  for (const [from, to] of pauses) {
    feed.push({
      type: 'backpressure-resumed',
      id,
      direction: 'response',
      t: id + to,
      pausedAt: id + from,
      queuedBytes: 1,
    });
  }
  feed.push({
    type: 'exchange-closed',
    id,
    t: id + closedMs,
    outcome: 'completed',
    requestBytes: 0,
    responseBytes: offset,
    pausedMs: 0,
  });
  for (const event of feed) applyEvent(traffic, event);
  return traffic.exchanges.get(id)!;
}

const WORDS = ['The', 'quick', 'brown', 'Hello', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog'];

/** Ten events 50 ms apart from 100 ms after the request, with `stallMs` before event 6 (index 5). */
function stream(words: readonly string[], stallMs = 50): [string, number][] {
  return words.map((word, i) => [word, 100 + i * 50 + (i >= 5 ? stallMs - 50 : 0)]);
}

describe('compareRuns', () => {
  it('names one changed event and one stall between two runs of an SSE stream, and nothing else', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600 });
    const changed = WORDS.map((word) => (word === 'Hello' ? 'Hullo' : word));
    const b = record({ id: 5000, events: stream(changed, 200), closedMs: 750 });

    const comparison = compareRuns(a, b);

    // Duration 600 → 750 ms and rate 20 → 15 events/s move by less than half again: not named.
    expect(comparison.differences).toEqual([
      'event 4 changed: "Hello" → "Hullo"',
      'stall before event 6: 50 ms → 200 ms',
    ]);
    expect(comparison.source).toBe('sse');
    expect(comparison.rows.map((row) => row.kind)).toEqual([
      'same',
      'same',
      'same',
      'changed',
      'same',
      'same',
      'same',
      'same',
      'same',
      'same',
    ]);
    expect(comparison.rows.filter((row) => row.stall).map((row) => row.index)).toEqual([5]);
    expect(comparison.rows[5]!.a!.gap).toBe(50);
    expect(comparison.rows[5]!.b!.gap).toBe(200);
    expect(comparison.rows[5]!.b!.event.t).toBe(500);
    expect(rowWords(comparison.rows[5]!)).toBe('gap differs');
  });

  it('measures each run from its own request', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600, pauses: [[300, 340]] });
    const b = record({ id: 5000, events: stream(WORDS, 200), closedMs: 750 });
    const { a: runA, b: runB, spanMs } = compareRuns(a, b);

    expect(runA.responseHead).toBe(0.5);
    expect(runA.firstEvent).toBe(100);
    expect(runA.duration).toBe(600);
    expect(runA.count).toBe(10);
    expect(runA.rate).toBeCloseTo(9 / 0.45);
    expect(runA.longestGap).toEqual({ start: 100, end: 150, beforeIndex: 1 });
    expect(runA.pauses).toEqual([{ start: 300, end: 340 }]);
    expect(runA.pausedMs).toBe(40);

    expect(runB.duration).toBe(750);
    expect(runB.rate).toBeCloseTo(9 / 0.6);
    expect(runB.longestGap).toEqual({ start: 300, end: 500, beforeIndex: 5 });
    expect(runB.pauses).toEqual([]);
    expect(spanMs).toBe(750);
  });

  it('names a long stall with what it did to the duration and the rate', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600 });
    const b = record({ id: 5000, events: stream(WORDS, 2100), closedMs: 2650 });

    // B: 9 intervals over 2,500 ms = 3.6 events/s, against 9 over 450 ms = 20.
    expect(compareRuns(a, b).differences).toEqual([
      'stall before event 6: 50 ms → 2.1 s',
      'duration 600 ms → 2.65 s (+2.05 s)',
      'rate 20.0 → 3.6 events/s',
    ]);
  });

  it('finds no differences between two identical runs, recorded at different times', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600, pauses: [[300, 340]] });
    const b = record({ id: 5000, events: stream(WORDS), closedMs: 600, pauses: [[300, 340]] });
    const comparison = compareRuns(a, b);
    expect(comparison.differences).toEqual([]);
    expect(comparison.rows.every((row) => row.kind === 'same' && !row.stall)).toBe(true);
  });

  it('leaves jitter under the thresholds unnamed', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600 });
    // The stall before event 6 grows 50 → 90 ms: 1.8 times, but only 40 ms longer.
    const b = record({ id: 5000, events: stream(WORDS, 90), closedMs: 640 });
    expect(compareRuns(a, b).differences).toEqual([]);
    expect(noticeable(50, 90)).toBe(false);
    expect(noticeable(50, 100)).toBe(true);
    expect(noticeable(200, 280)).toBe(false);
  });

  it('says an extra event in B was added, and one only A has is missing', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600 });
    const b = record({ id: 5000, events: [...stream(WORDS), ['again', 600]], closedMs: 650 });

    const added = compareRuns(a, b);
    expect(added.differences).toEqual(['B has 1 more event (10 → 11)', 'event 11 added in B']);
    expect(added.rows[10]).toMatchObject({ index: 10, kind: 'added', a: undefined });
    expect(added.rows[10]!.b!.event.data).toBe('again');

    const changedToo = compareRuns(
      a,
      record({ id: 9000, events: [...stream(WORDS.slice(0, 9)), ['Dog', 550], ['again', 600]], closedMs: 650 }),
    );
    expect(changedToo.differences).toEqual([
      'B has 1 more event (10 → 11)',
      'event 10 changed: "dog" → "Dog"',
      'event 11 added in B',
    ]);
    expect(changedToo.rows.slice(9).map(rowWords)).toEqual(['changed', 'added in B']);

    const missing = compareRuns(b, a);
    expect(missing.differences).toEqual(['B has 1 fewer event (11 → 10)', 'event 11 missing in B']);
    expect(missing.rows[10]).toMatchObject({ index: 10, kind: 'missing', b: undefined });
  });

  it('compares a body without SSE by its chunks: sizes and times', () => {
    const chunks = (shiftMs: number, third: number): [number, number][] =>
      [10, 10, third, 10].map((size, i) => [size, 100 + shiftMs + i * 100]);
    const a = record({ id: 1000, chunks: chunks(0, 10), closedMs: 600 });
    const b = record({ id: 5000, chunks: chunks(300, 12), closedMs: 900 });

    const comparison = compareRuns(a, b);
    expect(comparison.source).toBe('chunks');
    expect(comparison.noun).toBe('chunk');
    expect(comparison.rows.map((row) => row.kind)).toEqual(['same', 'same', 'changed', 'same']);
    expect(comparison.a.bytes).toBe(40);
    expect(comparison.b.bytes).toBe(42);
    expect(comparison.differences).toEqual([
      'chunk 3 changed: 10 B → 12 B',
      'time to first chunk 100 ms → 400 ms (+300 ms)',
      'duration 600 ms → 900 ms (+300 ms)',
    ]);
  });

  it('names a backpressure pause only one run had', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600, pauses: [[300, 340]] });
    const b = record({ id: 5000, events: stream(WORDS), closedMs: 600 });
    expect(compareRuns(a, b).differences).toEqual(['backpressure pauses: 1 (40 ms) → none']);
  });

  it('names the first ten changed events and counts the rest', () => {
    const words = Array.from({ length: 15 }, (_, i) => `word ${i}`);
    const a = record({ id: 1000, events: words.map((w, i) => [w, 100 + i]), closedMs: 200 });
    const b = record({ id: 5000, events: words.map((w, i) => [`${w}!`, 100 + i]), closedMs: 200 });
    const differences = compareRuns(a, b).differences;
    expect(differences).toHaveLength(11);
    expect(differences[0]).toBe('event 1 changed: "word 0" → "word 0!"');
    expect(differences[10]).toBe('5 more events changed');
  });
});

describe('the words for a change', () => {
  it('quotes short texts whole and long ones around where they differ', () => {
    expect(excerpts('Hello', 'Hullo')).toEqual(['Hello', 'Hullo']);
    const before = `{"id":"chatcmpl-1","choices":[{"delta":{"content":"Hello"}}],"usage":null}`;
    const after = before.replace('Hello', 'Hullo');
    // Sixteen characters either side of the one that differs ('e' / 'u').
    expect(excerpts(before, after)).toEqual([
      '…a":{"content":"Hello"}}],"usage":…',
      '…a":{"content":"Hullo"}}],"usage":…',
    ]);
  });

  it('names an SSE event whose type changed by its type', () => {
    const a = record({ id: 1000, events: [['x', 100]], closedMs: 200 });
    const b = record({ id: 5000, events: [['x', 100]], closedMs: 200 });
    b.sse[0] = { ...b.sse[0]!, event: 'done' };
    expect(compareRuns(a, b).differences).toEqual(['event 1 changed: (no type) → event: done']);
  });
});

describe('the timeline lanes', () => {
  it('draws events in one column as one mark, and marks the ones that differ', () => {
    const a = record({ id: 1000, events: stream(WORDS), closedMs: 600 });
    const b = record({ id: 5000, events: stream(WORDS.map((w) => (w === 'fox' ? 'cat' : w))), closedMs: 600 });
    const { rows, spanMs, b: runB } = compareRuns(a, b);
    // Six columns of 100 ms: events at 100, 150 | 200, 250 | 300, 350 | 400, 450 | 500, 550.
    const marks = laneMarks(runB.events, rows, spanMs, 6);
    expect(marks.map((m) => [m.first, m.count, m.differs])).toEqual([
      [0, 2, false],
      [2, 2, false],
      [4, 2, true],
      [6, 2, false],
      [8, 2, false],
    ]);
    expect(markText(marks[2]!, 'event')).toBe('events 5–6 from +300 ms');
    expect(markText({ t: 1234, first: 4, count: 1, differs: false }, 'event')).toBe('event 5 at +1.23 s');
  });

  it('reads a run as events in order of preference', () => {
    const x = record({ id: 1000, events: [['a', 100]], chunks: [[5, 90]], closedMs: 200 });
    expect(runEvents(x, 'sse').map((e) => e.data)).toEqual(['a']);
    expect(runEvents(x, 'chunks').map((e) => [e.size, e.t])).toEqual([[5, 90]]);
  });
});
