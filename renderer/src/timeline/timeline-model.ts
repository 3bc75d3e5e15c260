/**
 * The chunk timeline's maths, with no DOM and no React: what to draw for a viewport, which chunk is
 * under the pointer, how zoom and pan move the viewport, and the text summary. Everything is in ms
 * since the exchange opened ("view time"); chunk and pause times are absolute host times, and
 * `startedAt` converts between the two.
 *
 * Cost: chunks are sorted by `readAt` within a body, so the visible ones are found by binary
 * search and walked once, and what is drawn is aggregated per pixel column. A body of 100,000
 * chunks costs one pass over the visible ones and at most one mark per pixel.
 */
import { chunkCount, type ChunkEvent } from '../../../app/proxy-events.js';
import { formatBytes, formatCount, formatDuration, formatTime, timeUnitFor } from '../format.js';
import type { BodyView, PauseInterval, RuleHold } from '../model/exchange.js';
import { firstPast } from '../../../app/sorted-search.js';

/** The narrowest viewport: 10 µs across the whole width is past any timer's useful resolution. */
export const MIN_VIEW_SPAN_MS = 0.01;
/** The shortest data range, so a body that has just started still has an axis. */
export const MIN_EXTENT_MS = 1;

export interface TimelineData {
  readonly chunks: readonly ChunkEvent[];
  readonly pauses: readonly PauseInterval[];
  /** When the exchange opened (host time): view time 0. */
  readonly startedAt: number;
  /** When the exchange closed; undefined while it is open. */
  readonly endedAt: number | undefined;
  /** The host's current time, for open streams and open pauses. */
  readonly now: number;
  /**
   * The chunk index (`ChunkEvent.index`) each RPC message of this body ended in, ascending: the
   * message boundaries, marked over the chunks that hold them.
   */
  readonly messageEndChunks?: readonly number[];
  /** Where stream rules held the body back on purpose, in time order. */
  readonly holds?: readonly RuleHold[];
}

/** A window on the time axis, in view time, drawn across `widthPx` CSS pixels. */
export interface Viewport {
  readonly startMs: number;
  readonly endMs: number;
  readonly widthPx: number;
}

/** The range there is data for, in view time. */
export interface Extent {
  readonly startMs: number;
  readonly endMs: number;
}

// ---------------------------------------------------------------------------------------------
// Search

/** Index of the first chunk read at or after `t`, or `chunks.length`. */
export function firstReadAtOrAfter(chunks: readonly ChunkEvent[], t: number): number {
  return firstPast(chunks, t, readAtOf, true);
}

/** Index of the first chunk read after `t`, or `chunks.length`. */
export function firstReadAfter(chunks: readonly ChunkEvent[], t: number): number {
  return firstPast(chunks, t, readAtOf);
}

function readAtOf(chunk: ChunkEvent): number {
  return chunk.readAt;
}

/** Index of the first pause starting after `t`, or `pauses.length`. */
function firstPauseAfter(pauses: readonly PauseInterval[], t: number): number {
  return firstPast(pauses, t, (pause) => pause.start);
}

// ---------------------------------------------------------------------------------------------
// Viewport maths

/** The newest host time the data mentions: a clock estimate for open streams has to reach it. */
export function latestTime(data: Omit<TimelineData, 'now' | 'endedAt'>): number {
  let latest = data.startedAt;
  const last = data.chunks[data.chunks.length - 1];
  if (last) latest = Math.max(latest, last.flushedAt);
  const pause = data.pauses[data.pauses.length - 1];
  if (pause) latest = Math.max(latest, pause.end ?? pause.start);
  return latest;
}

/** From the exchange's start to its end (or now), widened to cover every chunk and pause. */
export function dataExtent(data: TimelineData): Extent {
  const first = data.chunks[0];
  const startMs = Math.min(0, first ? first.readAt - data.startedAt : 0);
  const end = Math.max(data.endedAt ?? data.now, latestTime(data));
  return { startMs, endMs: Math.max(end - data.startedAt, startMs + MIN_EXTENT_MS) };
}

export function fitViewport(extent: Extent, widthPx: number): Viewport {
  return { startMs: extent.startMs, endMs: extent.endMs, widthPx };
}

/** Keeps a viewport inside the data: no wider than it, no narrower than `MIN_VIEW_SPAN_MS`. */
export function clampViewport(view: Viewport, extent: Extent): Viewport {
  const extentSpan = extent.endMs - extent.startMs;
  const span = clamp(view.endMs - view.startMs, Math.min(MIN_VIEW_SPAN_MS, extentSpan), extentSpan);
  const startMs = clamp(view.startMs, extent.startMs, extent.endMs - span);
  return { startMs, endMs: startMs + span, widthPx: view.widthPx };
}

/** Zooms by `factor` (> 1 zooms in) keeping the time under `anchorPx` where it is on screen. */
export function zoomAt(view: Viewport, factor: number, anchorPx: number, extent: Extent): Viewport {
  const span = view.endMs - view.startMs;
  const extentSpan = extent.endMs - extent.startMs;
  const nextSpan = clamp(span / factor, Math.min(MIN_VIEW_SPAN_MS, extentSpan), extentSpan);
  const fraction = view.widthPx > 0 ? clamp(anchorPx / view.widthPx, 0, 1) : 0.5;
  const anchorMs = view.startMs + fraction * span;
  const startMs = anchorMs - fraction * nextSpan;
  return clampViewport({ startMs, endMs: startMs + nextSpan, widthPx: view.widthPx }, extent);
}

/** Moves the view by `dxPx` pixels' worth of time; positive moves towards later times. */
export function panBy(view: Viewport, dxPx: number, extent: Extent): Viewport {
  const shift = view.widthPx > 0 ? (dxPx / view.widthPx) * (view.endMs - view.startMs) : 0;
  return clampViewport({ startMs: view.startMs + shift, endMs: view.endMs + shift, widthPx: view.widthPx }, extent);
}

/**
 * What the user asked to see. `fit` follows the data as it grows (the whole stream, live edge
 * included); `manual` keeps the user's window, and when that window touches the live edge it
 * slides along with it at the same zoom, like a terminal scrolled to the bottom.
 */
export type ViewState =
  | { readonly mode: 'fit' }
  | { readonly mode: 'manual'; readonly startMs: number; readonly endMs: number; readonly followEnd: boolean };

export const FIT: ViewState = { mode: 'fit' };

export function resolveViewport(state: ViewState, extent: Extent, widthPx: number): Viewport {
  if (state.mode === 'fit') return fitViewport(extent, widthPx);
  const span = state.endMs - state.startMs;
  const startMs = state.followEnd ? extent.endMs - span : state.startMs;
  return clampViewport({ startMs, endMs: startMs + span, widthPx }, extent);
}

/** The state to keep after the user zoomed or panned to `view`; zooming all the way out is `fit` again. */
export function stateAfterUserMove(view: Viewport, extent: Extent, live: boolean): ViewState {
  const span = view.endMs - view.startMs;
  const onePx = view.widthPx > 0 ? span / view.widthPx : 0;
  if (span >= extent.endMs - extent.startMs - onePx) return FIT;
  const followEnd = live && view.endMs >= extent.endMs - onePx;
  return { mode: 'manual', startMs: view.startMs, endMs: view.endMs, followEnd };
}

// ---------------------------------------------------------------------------------------------
// Draw list

/** The chunks read within one pixel column; most columns hold one chunk, a flood holds thousands. */
export interface ChunkColumn {
  /** Exact x of the first chunk in the column. */
  readonly x: number;
  count: number;
  bytes: number;
  maxSize: number;
  /** Array indexes of the first and last chunk in the column. */
  readonly first: number;
  last: number;
  /** x of the first chunk in the column that waited a pixel or more inside the proxy, if any. */
  waitFromX: number | undefined;
  /** x of the latest flush among the column's chunks: the wait inside the proxy ends there. */
  waitEndX: number;
}

/** A horizontal span in pixels; may reach a little past the canvas edges. */
export interface Span {
  readonly x0: number;
  readonly x1: number;
}

/** Silence between two chunk arrivals, wide enough on screen to label. */
export interface GapMark extends Span {
  readonly ms: number;
  /** The stream is open and nothing has arrived since: the gap is still growing. */
  readonly ongoing: boolean;
  readonly label: string;
}

/** A rule's hold, or several within a pixel of each other: drawn apart from backpressure. */
export interface HoldBand extends Span {
  readonly count: number;
  readonly ms: number;
  readonly label: string;
}

/** One backpressure pause, or several that fall within a pixel of each other. */
export interface PauseBand extends Span {
  readonly count: number;
  /** Index in `pauses` of the first pause in the band. */
  readonly first: number;
  readonly ms: number;
  readonly queuedBytes: number;
  readonly ongoing: boolean;
  readonly label: string;
}

export type MarkerKind = 'first-byte' | 'end' | 'live';

export interface Marker {
  readonly kind: MarkerKind;
  readonly x: number;
  readonly label: string;
}

export interface Tick {
  readonly x: number;
  readonly ms: number;
  readonly label: string;
}

export interface DrawList {
  readonly columns: readonly ChunkColumn[];
  /** Where chunks waited inside the proxy (read → flush), at least a pixel long. */
  readonly waits: readonly Span[];
  readonly gaps: readonly GapMark[];
  readonly pauses: readonly PauseBand[];
  readonly holds: readonly HoldBand[];
  readonly markers: readonly Marker[];
  readonly ticks: readonly Tick[];
  /** The x of each chunk column in which at least one RPC message ended, ascending. */
  readonly messageEnds: readonly number[];
  /** How many chunks the viewport shows. */
  readonly visibleChunks: number;
}

export interface DrawOptions {
  /** Gaps narrower than this on screen are not marked: their label would not fit. */
  readonly minGapPx?: number;
  /** Gaps shorter than this are not marked however far one zooms in. */
  readonly minGapMs?: number;
  /** The least distance between axis ticks. */
  readonly minTickSpacingPx?: number;
}

const DEFAULT_MIN_GAP_PX = 48;
const DEFAULT_TICK_SPACING_PX = 80;

export function buildDrawList(data: TimelineData, view: Viewport, options: DrawOptions = {}): DrawList {
  const minGapPx = options.minGapPx ?? DEFAULT_MIN_GAP_PX;
  const minGapMs = options.minGapMs ?? 0;
  const { chunks, startedAt } = data;
  const width = view.widthPx;
  const pxPerMs = width / (view.endMs - view.startMs);
  const t0 = startedAt + view.startMs;
  const t1 = startedAt + view.endMs;
  // Off-canvas coordinates are clamped near the edges: deep zoom would otherwise hand the canvas
  // numbers in the billions.
  const toX = (t: number) => clamp((t - t0) * pxPerMs, -2, width + 2);

  if (!(width > 0) || !(pxPerMs > 0) || !Number.isFinite(pxPerMs)) {
    return {
      columns: [],
      waits: [],
      gaps: [],
      pauses: [],
      holds: [],
      markers: [],
      ticks: [],
      messageEnds: [],
      visibleChunks: 0,
    };
  }

  const lo = firstReadAtOrAfter(chunks, t0);
  const hi = firstReadAfter(chunks, t1);
  const lastColumn = Math.max(0, Math.ceil(width) - 1);

  const columns: ChunkColumn[] = [];
  const gaps: GapMark[] = [];
  let column: ChunkColumn | undefined;
  let columnIndex = -1;
  let prev = lo > 0 ? chunks[lo - 1] : undefined;
  // The hot loop: plain arithmetic, one object per pixel column rather than per chunk.
  for (let i = lo; i < hi; i++) {
    const chunk = chunks[i]!;
    const x = (chunk.readAt - t0) * pxPerMs;
    const waitEndX = (chunk.flushedAt - t0) * pxPerMs;
    // Sub-pixel waits are not drawn: they would only smear every busy column.
    const waited = waitEndX - x >= 1;
    const index = Math.min(lastColumn, Math.floor(x));
    if (column && index === columnIndex) {
      column.count++;
      column.bytes += chunk.size;
      if (chunk.size > column.maxSize) column.maxSize = chunk.size;
      column.last = i;
      if (waitEndX > column.waitEndX) column.waitEndX = waitEndX;
      if (waited && column.waitFromX === undefined) column.waitFromX = x;
    } else {
      const waitFromX = waited ? x : undefined;
      column = { x, count: 1, bytes: chunk.size, maxSize: chunk.size, first: i, last: i, waitFromX, waitEndX };
      columns.push(column);
      columnIndex = index;
    }
    if (prev) maybeGap(gaps, prev.readAt, chunk.readAt, false);
    prev = chunk;
  }
  // The pair straddling the right edge; with nothing visible, the pair around the whole view.
  const next = chunks[hi];
  if (prev && next) maybeGap(gaps, prev.readAt, next.readAt, false);
  const open = data.endedAt === undefined;
  const last = chunks[chunks.length - 1];
  if (open && last && hi === chunks.length) maybeGap(gaps, last.readAt, data.now, true);

  function maybeGap(into: GapMark[], from: number, to: number, ongoing: boolean): void {
    const ms = to - from;
    if (ms < minGapMs || ms * pxPerMs < minGapPx || to < t0 || from > t1) return;
    const label = ongoing ? `${formatDuration(ms)} so far` : formatDuration(ms);
    into.push({ x0: toX(from), x1: toX(to), ms, ongoing, label });
  }

  const waits: Span[] = [];
  // A chunk read before the view may still be waiting inside it. Flushes happen in body order, so
  // the last chunk read before the view is the one whose wait reaches furthest.
  const before = lo > 0 ? chunks[lo - 1] : undefined;
  if (before && before.flushedAt >= t0 && (before.flushedAt - before.readAt) * pxPerMs >= 1) {
    waits.push({ x0: toX(before.readAt), x1: toX(before.flushedAt) });
  }
  for (const c of columns) {
    if (c.waitFromX !== undefined) waits.push({ x0: c.waitFromX, x1: Math.min(c.waitEndX, width + 2) });
  }

  return {
    columns,
    waits,
    gaps,
    pauses: pauseBands(data, t0, t1, toX),
    holds: holdBands(data.holds ?? [], t0, t1, toX),
    markers: markers(data, t0, t1, toX),
    ticks: niceTicks(view, options.minTickSpacingPx ?? DEFAULT_TICK_SPACING_PX),
    messageEnds: messageEndColumns(data, columns),
    visibleChunks: hi - lo,
  };
}

/**
 * The x of each chunk column holding the last byte of at least one RPC message: one binary search
 * per column (a column stands for chunk indexes from its first chunk to its last chunk's last read,
 * so merged chunks count whole), whatever the number of messages.
 */
function messageEndColumns(data: TimelineData, columns: readonly ChunkColumn[]): number[] {
  const ends = data.messageEndChunks;
  if (!ends || ends.length === 0) return [];
  const xs: number[] = [];
  for (const column of columns) {
    const first = data.chunks[column.first]!.index;
    const last = data.chunks[column.last]!;
    if (messageEndsIn(ends, first, last.index + (last.reads ?? 1) - 1) > 0) xs.push(column.x);
  }
  return xs;
}

/** How many of `ends` (ascending chunk indexes) fall within chunks `first` to `last`; O(log n). */
export function messageEndsIn(ends: readonly number[], first: number, last: number): number {
  return firstPast(ends, last, identity) - firstPast(ends, first, identity, true);
}

function identity(value: number): number {
  return value;
}

/** Rule holds overlapping [t0, t1]; holds closer than a pixel merge, as pauses do. */
function holdBands(holds: readonly RuleHold[], t0: number, t1: number, toX: (t: number) => number): HoldBand[] {
  const bands: { -readonly [K in keyof HoldBand]: HoldBand[K] }[] = [];
  let rules = new Set<string>();
  const label = (band: { count: number; ms: number }, names: Set<string>): string =>
    `${band.count === 1 ? 'held' : `${formatCount(band.count)} holds`} ${formatDuration(band.ms)} by rule ${[...names].join(', ')}`;
  // Holds do not overlap much and come in time order: the one before the view may reach into it.
  for (let j = Math.max(0, firstPast(holds, t0, (h) => h.start) - 1); j < holds.length; j++) {
    const hold = holds[j]!;
    if (hold.start > t1) break;
    if (hold.end < t0) continue;
    const x0 = toX(hold.start);
    const x1 = toX(hold.end);
    const band = bands[bands.length - 1];
    if (band && x0 - band.x1 < 1) {
      band.x1 = Math.max(band.x1, x1);
      band.count++;
      band.ms += hold.end - hold.start;
      rules.add(hold.rule);
      band.label = label(band, rules);
    } else {
      rules = new Set([hold.rule]);
      const next = { x0, x1, count: 1, ms: hold.end - hold.start, label: '' };
      next.label = label(next, rules);
      bands.push(next);
    }
  }
  return bands;
}

/** Pauses overlapping [t0, t1]; pauses closer than a pixel merge, so a storm of them stays cheap. */
function pauseBands(data: TimelineData, t0: number, t1: number, toX: (t: number) => number): PauseBand[] {
  const { pauses, now } = data;
  const bands: { -readonly [K in keyof PauseBand]: PauseBand[K] }[] = [];
  // Pauses of one body do not overlap, so only the one just before the view can reach into it.
  let j = Math.max(0, firstPauseAfter(pauses, t0) - 1);
  for (; j < pauses.length; j++) {
    const pause = pauses[j]!;
    if (pause.start > t1) break;
    const end = pause.end ?? now;
    if (end < t0) continue;
    const x0 = toX(pause.start);
    const x1 = toX(end);
    const ms = end - pause.start;
    const ongoing = pause.end === undefined;
    const band = bands[bands.length - 1];
    if (band && x0 - band.x1 < 1) {
      band.x1 = x1;
      band.count++;
      band.ms += ms;
      band.queuedBytes = Math.max(band.queuedBytes, pause.queuedBytes);
      band.ongoing = ongoing;
    } else {
      bands.push({ x0, x1, count: 1, first: j, ms, queuedBytes: pause.queuedBytes, ongoing, label: '' });
    }
  }
  // Labels once per band, not once per merged pause.
  for (const band of bands) {
    band.label =
      band.count === 1
        ? pauseText(pauses[band.first]!, now, ' · ')
        : `${formatCount(band.count)} pauses · ${formatDuration(band.ms)} · up to ${formatBytes(band.queuedBytes)} queued`;
  }
  return bands;
}

function markers(data: TimelineData, t0: number, t1: number, toX: (t: number) => number): Marker[] {
  const list: Marker[] = [];
  const inView = (t: number) => t >= t0 && t <= t1;
  const first = data.chunks[0];
  if (first && inView(first.readAt)) list.push({ kind: 'first-byte', x: toX(first.readAt), label: 'first byte' });
  if (data.endedAt !== undefined) {
    if (inView(data.endedAt)) list.push({ kind: 'end', x: toX(data.endedAt), label: 'end' });
  } else if (inView(data.now)) {
    list.push({ kind: 'live', x: toX(data.now), label: 'live' });
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Axis

/** Below a second, steps of 1, 2, 5 × 10ⁿ ms; above, the steps clocks use. */
const CLOCK_STEPS_MS = [
  1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
];

/** The smallest pleasant step at least `minStepMs` long. */
export function niceStep(minStepMs: number): number {
  if (!(minStepMs > 0)) return 1;
  if (minStepMs <= 1000) {
    const power = 10 ** Math.floor(Math.log10(minStepMs));
    for (const m of [1, 2, 5, 10]) if (m * power >= minStepMs * (1 - 1e-9)) return m * power;
  }
  for (const step of CLOCK_STEPS_MS) if (step >= minStepMs) return step;
  const hours = Math.ceil(minStepMs / 3_600_000);
  return niceStep(hours) * 3_600_000;
}

/** Axis ticks at least `minSpacingPx` apart, labelled in one unit chosen for the whole view. */
export function niceTicks(view: Viewport, minSpacingPx = DEFAULT_TICK_SPACING_PX): Tick[] {
  const span = view.endMs - view.startMs;
  if (!(span > 0) || !(view.widthPx > 0)) return [];
  const step = niceStep((span * minSpacingPx) / view.widthPx);
  const unit = timeUnitFor(Math.max(Math.abs(view.startMs), Math.abs(view.endMs)));
  const ticks: Tick[] = [];
  // Integer multiples of the step, so labels never show accumulated float error.
  const firstK = Math.ceil(view.startMs / step - 1e-9);
  const lastK = Math.floor(view.endMs / step + 1e-9);
  for (let k = firstK; k <= lastK; k++) {
    const ms = k * step;
    ticks.push({ x: ((ms - view.startMs) / span) * view.widthPx, ms, label: formatTime(ms, step, unit) });
  }
  return ticks;
}

// ---------------------------------------------------------------------------------------------
// Hover

export interface ChunkHit {
  /** Array index of the chunk nearest the pointer. */
  readonly index: number;
  readonly chunk: ChunkEvent;
  readonly x: number;
  /** All chunks drawn in that chunk's pixel column, itself included. */
  readonly columnCount: number;
  readonly columnBytes: number;
}

/** The chunk read nearest to `x`, if one is within `maxDistancePx`; O(log n). */
export function hitTestChunk(data: TimelineData, view: Viewport, x: number, maxDistancePx = 6): ChunkHit | undefined {
  const { chunks } = data;
  if (chunks.length === 0 || !(view.widthPx > 0)) return undefined;
  const msPerPx = (view.endMs - view.startMs) / view.widthPx;
  const t0 = data.startedAt + view.startMs;
  const t = t0 + x * msPerPx;
  const after = firstReadAtOrAfter(chunks, t);
  let best = -1;
  let bestDistance = Infinity;
  for (const i of [after - 1, after]) {
    const chunk = chunks[i];
    if (!chunk) continue;
    const distance = Math.abs(chunk.readAt - t) / msPerPx;
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  }
  const chunk = chunks[best];
  if (!chunk || bestDistance > maxDistancePx) return undefined;
  const chunkX = (chunk.readAt - t0) / msPerPx;
  // The same column the draw list put it in: [floor(x), floor(x) + 1) pixels.
  const columnStart = t0 + Math.floor(chunkX) * msPerPx;
  const first = Math.min(best, firstReadAtOrAfter(chunks, columnStart));
  const end = Math.max(best + 1, firstReadAtOrAfter(chunks, columnStart + msPerPx));
  const firstChunk = chunks[first]!;
  const lastChunk = chunks[end - 1]!;
  return {
    index: best,
    chunk,
    x: chunkX,
    columnCount: end - first,
    // Offsets are exact even where the host merged chunks, so a byte range is one subtraction.
    columnBytes: lastChunk.offset + lastChunk.size - firstChunk.offset,
  };
}

/** The pause under `x` (within `slopPx`, so a one-pixel band can be hovered), as an index. */
export function hitTestPause(data: TimelineData, view: Viewport, x: number, slopPx = 2): number | undefined {
  const { pauses } = data;
  if (pauses.length === 0 || !(view.widthPx > 0)) return undefined;
  const msPerPx = (view.endMs - view.startMs) / view.widthPx;
  const t = data.startedAt + view.startMs + x * msPerPx;
  const slop = slopPx * msPerPx;
  const j = firstPauseAfter(pauses, t + slop) - 1;
  const pause = pauses[j];
  if (!pause || (pause.end ?? data.now) + slop < t) return undefined;
  return j;
}

/** "chunk #12 · offset 4,096 · 1.2 KiB · read +1.234 s · waited 300 µs" */
export function chunkText(chunk: ChunkEvent, startedAt: number): string {
  return [
    `chunk #${formatCount(chunk.index)}`,
    `offset ${formatCount(chunk.offset)}`,
    formatBytes(chunk.size),
    `read +${formatTime(chunk.readAt - startedAt)}`,
    `waited ${formatDuration(chunk.flushedAt - chunk.readAt)}`,
  ].join(' · ');
}

/** "paused 1.2 s · 512 KiB queued"; `separator` is ", " where it is read as a sentence. */
export function pauseText(pause: PauseInterval, now: number, separator = ' · '): string {
  const ms = (pause.end ?? now) - pause.start;
  const text = `paused ${formatDuration(ms)}${separator}${formatBytes(pause.queuedBytes)} queued`;
  return pause.end === undefined ? `${text} (ongoing)` : text;
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface BodySummary {
  readonly chunks: number;
  readonly bytes: number;
  /** RPC frames (messages, trailer frames, end-of-stream) the body carried, when it carried any. */
  readonly messages?: number;
  readonly pauses: number;
  /** Total time reads were paused, open pauses counted up to `now`. */
  readonly pausedMs: number;
  /** Time stream rules held the body back on purpose, when any did. */
  readonly ruleHeldMs?: number;
}

export function summarize(
  body: Pick<BodyView, 'chunks' | 'pauses' | 'bytes'> & Partial<Pick<BodyView, 'rpcTotals' | 'ruleHolds'>>,
  now: number,
): BodySummary {
  let pausedMs = 0;
  for (const pause of body.pauses) pausedMs += Math.max(0, (pause.end ?? now) - pause.start);
  let ruleHeldMs = 0;
  for (const hold of body.ruleHolds ?? []) ruleHeldMs += hold.end - hold.start;
  const messages = body.rpcTotals?.frames ?? 0;
  // Real reads, not the events kept: neighbours may have been merged for the display.
  return {
    chunks: chunkCount(body.chunks),
    bytes: body.bytes,
    ...(messages > 0 ? { messages } : {}),
    pauses: body.pauses.length,
    pausedMs,
    ...(ruleHeldMs > 0 ? { ruleHeldMs } : {}),
  };
}

/** "412 chunks, 1.2 MiB, 3 backpressure pauses totalling 2.4 s"; an RPC body's messages after its size. */
export function summaryText(summary: BodySummary): string {
  const chunks = `${formatCount(summary.chunks)} ${summary.chunks === 1 ? 'chunk' : 'chunks'}`;
  const pauses =
    summary.pauses === 0
      ? 'no backpressure pauses'
      : `${formatCount(summary.pauses)} backpressure ${summary.pauses === 1 ? 'pause' : 'pauses'} totalling ${formatDuration(summary.pausedMs)}`;
  const messages = summary.messages
    ? `, ${formatCount(summary.messages)} ${summary.messages === 1 ? 'message' : 'messages'}`
    : '';
  const held = summary.ruleHeldMs ? `, held ${formatDuration(summary.ruleHeldMs)} by stream rules` : '';
  return `${chunks}, ${formatBytes(summary.bytes)}${messages}, ${pauses}${held}`;
}

/** Chunk bar height as a fraction of the lane: logarithmic, so a 20-byte SSE line next to a 64 KiB read still shows. */
export function sizeFraction(size: number, maxSize: number): number {
  if (!(maxSize > 0) || !(size > 0)) return 0;
  return Math.min(1, Math.log2(1 + size) / Math.log2(1 + maxSize));
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
