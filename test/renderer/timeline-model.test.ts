import { describe, expect, it } from 'vitest';
import type { ChunkEvent } from '../../app/proxy-events.js';
import type { PauseInterval } from '../../renderer/src/model/exchange.js';
import {
  FIT,
  MIN_VIEW_SPAN_MS,
  buildDrawList,
  chunkText,
  clampViewport,
  dataExtent,
  firstReadAfter,
  firstReadAtOrAfter,
  fitViewport,
  hitTestChunk,
  hitTestPause,
  messageEndsIn,
  niceStep,
  niceTicks,
  panBy,
  pauseText,
  resolveViewport,
  sizeFraction,
  stateAfterUserMove,
  summarize,
  summaryText,
  zoomAt,
  type TimelineData,
  type Viewport,
} from '../../renderer/src/timeline/timeline-model.js';

const START = 10_000;

/** Chunks of `size` bytes read at the given view times (ms after START), each flushed `waitMs` later. */
function chunksAt(times: readonly number[], size = 100, waitMs = 0): ChunkEvent[] {
  return times.map((t, index) => ({
    type: 'chunk',
    id: 1,
    direction: 'response',
    offset: index * size,
    size,
    readAt: START + t,
    flushedAt: START + t + waitMs,
    index,
  }));
}

function pause(start: number, end: number | undefined, queuedBytes = 65_536): PauseInterval {
  return { direction: 'response', start: START + start, end: end === undefined ? undefined : START + end, queuedBytes };
}

function data(overrides: Partial<TimelineData> = {}): TimelineData {
  return { chunks: [], pauses: [], startedAt: START, endedAt: START + 1000, now: START + 1000, ...overrides };
}

const view = (startMs: number, endMs: number, widthPx = 1000): Viewport => ({ startMs, endMs, widthPx });

describe('binary search on read times', () => {
  const chunks = chunksAt([0, 10, 10, 20]);
  it('finds the first chunk at or after, and after, a time', () => {
    expect(firstReadAtOrAfter(chunks, START + 10)).toBe(1);
    expect(firstReadAfter(chunks, START + 10)).toBe(3);
    expect(firstReadAtOrAfter(chunks, START - 1)).toBe(0);
    expect(firstReadAtOrAfter(chunks, START + 21)).toBe(4);
  });
});

describe('buildDrawList', () => {
  it('aggregates 100,000 chunks into at most one column per pixel', () => {
    const times = Array.from({ length: 100_000 }, (_, i) => i * 0.1);
    const chunks = chunksAt(times, 512, 0.05);
    const d = data({ chunks, endedAt: START + 10_000, now: START + 10_000 });
    const list = buildDrawList(d, fitViewport(dataExtent(d), 1200));
    expect(list.visibleChunks).toBe(100_000);
    expect(list.columns.length).toBeLessThanOrEqual(1200);
    expect(list.columns.length).toBeGreaterThan(1100);
    // 50 µs waits are far below a pixel here: busy columns must not look like they waited.
    expect(list.waits).toEqual([]);
    // Nothing is lost in the aggregation.
    expect(list.columns.reduce((n, c) => n + c.count, 0)).toBe(100_000);
    expect(list.columns.reduce((n, c) => n + c.bytes, 0)).toBe(100_000 * 512);
    for (const column of list.columns) expect(column.x).toBeLessThanOrEqual(1200);
  });

  it('draws rule holds apart from pauses, merging those within a pixel and naming their rules', () => {
    const holds = [
      { start: START + 100, end: START + 300, rule: 'slow' },
      { start: START + 300.2, end: START + 500, rule: 'slow' },
      { start: START + 700, end: START + 800, rule: 'stall' },
    ];
    const list = buildDrawList(data({ holds, pauses: [pause(600, 650)] }), view(0, 1000, 1000));
    expect(list.holds.map((h) => [Math.round(h.x0), Math.round(h.x1), h.label])).toEqual([
      [100, 500, '2 holds 399.8 ms by rule slow'],
      [700, 800, 'held 100 ms by rule stall'],
    ]);
    expect(list.pauses).toHaveLength(1);
    expect(summaryText(summarize({ chunks: [], pauses: [], bytes: 0, ruleHolds: holds }, START))).toMatch(
      /held 499\.8 ms by stream rules$/,
    );
  });

  it('walks only the visible chunks when zoomed in', () => {
    const chunks = chunksAt(Array.from({ length: 100_000 }, (_, i) => i * 0.1));
    const d = data({ chunks, endedAt: START + 10_000, now: START + 10_000 });
    const list = buildDrawList(d, view(5000, 5010, 1000));
    expect(list.visibleChunks).toBe(101);
    expect(list.columns.length).toBe(101);
    expect(list.columns[0]!.first).toBe(50_000);
    expect(list.columns[0]!.x).toBeCloseTo(0);
  });

  it('draws the wait from read to flush, including a chunk read before the view', () => {
    const chunks = chunksAt([100, 500], 100, 50);
    const list = buildDrawList(data({ chunks }), view(120, 620, 500));
    // The first chunk was read at 100 (off to the left) and flushed at 150: its wait reaches in.
    expect(list.waits[0]).toEqual({ x0: -2, x1: 30 });
    expect(list.waits[1]!.x0).toBeCloseTo(380);
    expect(list.waits[1]!.x1).toBeCloseTo(430);
  });

  it('draws a long wait from the chunk that waited, even in a busy column', () => {
    const chunks = chunksAt([100, 100.2, 100.4, 100.6]);
    chunks[2] = { ...chunks[2]!, flushedAt: START + 150 };
    chunks[3] = { ...chunks[3]!, flushedAt: START + 150.1 };
    const list = buildDrawList(data({ chunks }), view(0, 1000, 1000));
    expect(list.columns).toHaveLength(1);
    expect(list.waits).toHaveLength(1);
    expect(list.waits[0]!.x0).toBeCloseTo(100.4);
    expect(list.waits[0]!.x1).toBeCloseTo(150.1);
  });

  it('marks gaps wide enough to label, including one spanning the whole view', () => {
    const chunks = chunksAt([0, 1, 2, 500, 501]);
    const whole = buildDrawList(data({ chunks }), view(0, 1000, 1000));
    expect(whole.gaps).toHaveLength(1);
    expect(whole.gaps[0]).toMatchObject({ ms: 498, label: '498 ms', ongoing: false });
    expect(whole.gaps[0]!.x0).toBeCloseTo(2);

    const inside = buildDrawList(data({ chunks }), view(100, 200, 1000));
    expect(inside.visibleChunks).toBe(0);
    expect(inside.gaps).toHaveLength(1);
    expect(inside.gaps[0]!.ms).toBe(498);

    const threshold = buildDrawList(data({ chunks }), view(0, 1000, 1000), { minGapMs: 600 });
    expect(threshold.gaps).toHaveLength(0);
  });

  it('marks the silence since the last chunk of an open stream', () => {
    const chunks = chunksAt([0, 10]);
    const d = data({ chunks, endedAt: undefined, now: START + 2010 });
    const list = buildDrawList(d, fitViewport(dataExtent(d), 1000));
    expect(list.gaps.at(-1)).toMatchObject({ ms: 2000, ongoing: true, label: '2.0 s so far' });
    expect(list.markers.map((m) => m.kind)).toEqual(['first-byte', 'live']);
  });

  it('marks the first byte and the end', () => {
    const chunks = chunksAt([100, 200]);
    const list = buildDrawList(data({ chunks }), view(0, 1000, 1000));
    expect(list.markers).toEqual([
      { kind: 'first-byte', x: 100, label: 'first byte' },
      { kind: 'end', x: 1000, label: 'end' },
    ]);
    expect(buildDrawList(data({ chunks }), view(300, 600, 1000)).markers).toEqual([]);
  });

  it('shades pauses with their label, merging those within a pixel', () => {
    const pauses = [pause(100, 300, 512 * 1024), pause(400, 400.1), pause(400.2, 400.3), pause(900, undefined, 1024)];
    const d = data({ pauses, endedAt: undefined, now: START + 1000 });
    const list = buildDrawList(d, view(0, 1000, 1000));
    expect(list.pauses).toHaveLength(3);
    expect(list.pauses[0]).toMatchObject({ x0: 100, x1: 300, count: 1, label: 'paused 200 ms · 512 KiB queued' });
    expect(list.pauses[1]).toMatchObject({ count: 2, first: 1 });
    expect(list.pauses[1]!.label).toMatch(/^2 pauses · 200 µs · up to 64 KiB queued$/);
    expect(list.pauses[2]).toMatchObject({ x0: 900, x1: 1000, ongoing: true });
    expect(list.pauses[2]!.label).toBe('paused 100 ms · 1 KiB queued (ongoing)');
  });

  it('finds a pause that started before the view', () => {
    const pauses = [pause(100, 300), pause(600, 700)];
    const list = buildDrawList(data({ pauses }), view(200, 500, 300));
    expect(list.pauses).toHaveLength(1);
    expect(list.pauses[0]).toMatchObject({ x0: -2, x1: 100, first: 0 });
  });

  it('returns nothing for an empty viewport', () => {
    const list = buildDrawList(data({ chunks: chunksAt([1]) }), view(0, 1000, 0));
    expect(list.columns).toEqual([]);
    expect(list.ticks).toEqual([]);
  });
});

describe('ticks', () => {
  it('steps 1-2-5 below a second and clock steps above', () => {
    expect(niceStep(0.0004)).toBeCloseTo(0.0005);
    expect(niceStep(3)).toBe(5);
    expect(niceStep(120)).toBe(200);
    expect(niceStep(1000)).toBe(1000);
    expect(niceStep(11_000)).toBe(15_000);
    expect(niceStep(100_000)).toBe(120_000);
    expect(niceStep(5 * 3_600_000)).toBe(5 * 3_600_000);
  });

  it('spaces ticks at least the minimum apart, labelled in one unit', () => {
    const ticks = niceTicks(view(0, 1200, 1200), 80);
    expect(ticks.map((t) => t.label)).toEqual([
      '0',
      '0.1 s',
      '0.2 s',
      '0.3 s',
      '0.4 s',
      '0.5 s',
      '0.6 s',
      '0.7 s',
      '0.8 s',
      '0.9 s',
      '1.0 s',
      '1.1 s',
      '1.2 s',
    ]);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.x - ticks[i - 1]!.x).toBeGreaterThanOrEqual(80);
  });

  it('labels deep zoom without float noise', () => {
    const ticks = niceTicks(view(5000.1, 5000.2, 1000), 80);
    expect(ticks.map((t) => t.label).slice(0, 2)).toEqual(['5.00010 s', '5.00011 s']);
    expect(ticks.every((t) => /^5\.\d{5} s$/.test(t.label))).toBe(true);
  });

  it('labels long streams in minutes', () => {
    const ticks = niceTicks(view(0, 600_000, 1000), 80);
    expect(ticks.map((t) => t.label).slice(0, 3)).toEqual(['0', '1:00', '2:00']);
  });
});

describe('hit-testing', () => {
  const chunks = chunksAt([100, 200, 200.01, 200.02, 600], 1000, 0.3);
  const d = data({ chunks, pauses: [pause(300, 500, 2048)] });
  const v = view(0, 1000, 1000);

  it('finds the nearest chunk within reach', () => {
    expect(hitTestChunk(d, v, 103)?.index).toBe(0);
    expect(hitTestChunk(d, v, 597)?.index).toBe(4);
    expect(hitTestChunk(d, v, 400)).toBeUndefined();
  });

  it('counts the chunks sharing the pixel', () => {
    const hit = hitTestChunk(d, v, 200.3);
    expect(hit?.columnCount).toBe(3);
    expect(hit?.columnBytes).toBe(3000);
  });

  it('describes a chunk for the tooltip', () => {
    const chunk = {
      ...chunks[0]!,
      index: 12,
      offset: 4096,
      size: 1229,
      readAt: START + 1234,
      flushedAt: START + 1234.3,
    };
    expect(chunkText(chunk, START)).toBe('chunk #12 · offset 4,096 · 1.2 KiB · read +1.234 s · waited 300 µs');
  });

  it('finds the pause under the pointer', () => {
    expect(hitTestPause(d, v, 400)).toBe(0);
    expect(hitTestPause(d, v, 501)).toBe(0);
    expect(hitTestPause(d, v, 700)).toBeUndefined();
    expect(hitTestPause(d, v, 200)).toBeUndefined();
  });
});

describe('zoom and pan', () => {
  const extent = { startMs: 0, endMs: 1000 };

  it('zooms about the anchor', () => {
    const zoomed = zoomAt(view(0, 1000), 2, 250, extent);
    expect(zoomed.startMs).toBeCloseTo(125);
    expect(zoomed.endMs).toBeCloseTo(625);
    // The time under the pointer stays under the pointer.
    expect(zoomed.startMs + 0.25 * (zoomed.endMs - zoomed.startMs)).toBeCloseTo(250);
  });

  it('never zooms out past the data or in past the minimum span', () => {
    expect(zoomAt(view(100, 200), 0.01, 500, extent)).toEqual(view(0, 1000));
    const deep = zoomAt(view(0, 1000), 1e9, 500, extent);
    expect(deep.endMs - deep.startMs).toBeCloseTo(MIN_VIEW_SPAN_MS);
    expect(deep.startMs).toBeCloseTo(500 - MIN_VIEW_SPAN_MS / 2);
  });

  it('keeps the view inside the data when zooming out near an edge', () => {
    const v = zoomAt(view(900, 1000), 0.5, 1000, extent);
    expect(v).toEqual(view(800, 1000));
  });

  it('pans by pixels, clamped at both ends', () => {
    expect(panBy(view(100, 200), 500, extent)).toEqual(view(150, 250));
    expect(panBy(view(100, 200), -5000, extent)).toEqual(view(0, 100));
    expect(panBy(view(100, 200), 1e6, extent)).toEqual(view(900, 1000));
  });

  it('clamps a viewport wider than the data to the data', () => {
    expect(clampViewport(view(-50, 2000), extent)).toEqual(view(0, 1000));
  });
});

describe('following the live edge', () => {
  it('fits the whole extent, growing with now, until the user moves', () => {
    const open = data({ chunks: chunksAt([5]), endedAt: undefined, now: START + 500 });
    expect(resolveViewport(FIT, dataExtent(open), 800)).toEqual(view(0, 500, 800));
    const later = { ...open, now: START + 900 };
    expect(resolveViewport(FIT, dataExtent(later), 800)).toEqual(view(0, 900, 800));
  });

  it('keeps a zoomed window at the live edge sliding along', () => {
    const extent = { startMs: 0, endMs: 500 };
    const zoomed = zoomAt(view(0, 500), 5, 1000, extent);
    const state = stateAfterUserMove(zoomed, extent, true);
    expect(state).toMatchObject({ mode: 'manual', followEnd: true });
    expect(resolveViewport(state, { startMs: 0, endMs: 900 }, 1000)).toEqual(view(800, 900));
  });

  it('holds a window away from the edge still', () => {
    const extent = { startMs: 0, endMs: 500 };
    const state = stateAfterUserMove(view(100, 200), extent, true);
    expect(state).toMatchObject({ mode: 'manual', followEnd: false });
    expect(resolveViewport(state, { startMs: 0, endMs: 900 }, 1000)).toEqual(view(100, 200));
  });

  it('returns to fitting when zoomed all the way out', () => {
    const extent = { startMs: 0, endMs: 500 };
    expect(stateAfterUserMove(view(0, 500), extent, true)).toBe(FIT);
  });

  it('covers chunks read before the exchange start and data past now', () => {
    const chunks = chunksAt([-5, 10], 10, 2000);
    expect(dataExtent(data({ chunks, endedAt: undefined, now: START + 100 }))).toEqual({ startMs: -5, endMs: 2010 });
    expect(dataExtent(data({ endedAt: undefined, now: START }))).toEqual({ startMs: 0, endMs: 1 });
  });
});

describe('summary', () => {
  it('counts chunks, bytes, pauses and paused time, with an open pause up to now', () => {
    const body = {
      chunks: chunksAt([0, 1, 2], 1000),
      bytes: 3000,
      pauses: [pause(10, 110), pause(200, 250), pause(900, undefined)],
    };
    const summary = summarize(body, START + 1000);
    expect(summary).toEqual({ chunks: 3, bytes: 3000, pauses: 3, pausedMs: 250 });
    expect(summaryText(summary)).toBe('3 chunks, 2.9 KiB, 3 backpressure pauses totalling 250 ms');
  });

  it('reads like the issue asks', () => {
    const text = summaryText({ chunks: 412, bytes: 1.2 * 1024 * 1024, pauses: 3, pausedMs: 2400 });
    expect(text).toBe('412 chunks, 1.2 MiB, 3 backpressure pauses totalling 2.4 s');
  });

  it('handles singulars and none', () => {
    expect(summaryText({ chunks: 1, bytes: 5, pauses: 1, pausedMs: 12 })).toBe(
      '1 chunk, 5 B, 1 backpressure pause totalling 12 ms',
    );
    expect(summaryText({ chunks: 0, bytes: 0, pauses: 0, pausedMs: 0 })).toBe('0 chunks, 0 B, no backpressure pauses');
    expect(summaryText({ chunks: 100_000, bytes: 0, pauses: 0, pausedMs: 0 })).toMatch(/^100,000 chunks/);
  });

  it("counts an RPC body's messages after its size", () => {
    const body = {
      chunks: chunksAt([0, 1]),
      bytes: 200,
      pauses: [],
      rpcTotals: { frames: 3, messages: 2, wireBytes: 0, bytes: 0 },
    };
    const summary = summarize(body, START);
    expect(summary.messages).toBe(3);
    expect(summaryText(summary)).toBe('2 chunks, 200 B, 3 messages, no backpressure pauses');
  });

  it('words a pause for the list', () => {
    expect(pauseText(pause(0, 1200, 512 * 1024), 0, ', ')).toBe('paused 1.2 s, 512 KiB queued');
    expect(pauseText(pause(0, undefined, 10), START + 5, ', ')).toBe('paused 5 ms, 10 B queued (ongoing)');
  });
});

describe('RPC message boundaries', () => {
  // Chunks 0-4 at 100, 100.5, 250, 600 and 2000 ms; 1 px per ms.
  const chunks = chunksAt([100, 100.5, 250, 600, 2000]);

  it('marks each chunk column in which a message ended, once however many ended there', () => {
    // Two messages end in chunk 0, one in 1 (same pixel column), one spans 2 to 3 and ends in 3.
    const list = buildDrawList(data({ chunks, messageEndChunks: [0, 0, 1, 3, 4] }), view(0, 1000));
    expect(list.messageEnds).toEqual([100, 600]);
    expect(buildDrawList(data({ chunks, messageEndChunks: [2] }), view(200, 400, 200)).messageEnds).toEqual([50]);
    expect(buildDrawList(data({ chunks }), view(0, 1000)).messageEnds).toEqual([]);
  });

  it("counts a merged chunk's messages over every read it stands for", () => {
    const merged = [
      { ...chunks[0]!, reads: 3 },
      { ...chunks[3]!, index: 3 },
    ];
    expect(buildDrawList(data({ chunks: merged, messageEndChunks: [2] }), view(0, 1000)).messageEnds).toEqual([100]);
    expect(messageEndsIn([0, 0, 2, 5], 0, 2)).toBe(3);
    expect(messageEndsIn([0, 0, 2, 5], 3, 4)).toBe(0);
  });
});

describe('bar heights', () => {
  it('scale logarithmically so small chunks stay visible', () => {
    expect(sizeFraction(65_536, 65_536)).toBe(1);
    expect(sizeFraction(0, 65_536)).toBe(0);
    expect(sizeFraction(20, 65_536)).toBeGreaterThan(0.25);
    expect(sizeFraction(10, 0)).toBe(0);
  });
});
