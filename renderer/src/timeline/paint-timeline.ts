/**
 * Paints a draw list on a 2D canvas. All the deciding is done in `timeline-model.ts`; this only
 * turns its marks into pixels, with one path per kind of mark so a full timeline costs a handful
 * of fills and strokes however many chunks it shows.
 */
import { formatDuration } from '../format.js';
import { sizeFraction, type DrawList, type Marker } from './timeline-model.js';

/** Colours and font, from CSS custom properties so themes decide them (see timeline.css). */
export interface Palette {
  readonly chunk: string;
  readonly wait: string;
  readonly pause: string;
  readonly pauseText: string;
  /** Holds a stream rule made on purpose: not backpressure, so not its colour. */
  readonly hold: string;
  readonly holdText: string;
  readonly gap: string;
  readonly axis: string;
  readonly text: string;
  readonly marker: string;
  readonly live: string;
  /** RPC message boundaries: light, drawn behind the chunks. */
  readonly message: string;
  readonly font: string;
}

const FALLBACK: Omit<Palette, 'font'> = {
  chunk: '#2563eb',
  wait: '#d97706',
  pause: 'rgba(220, 38, 38, 0.16)',
  pauseText: '#b91c1c',
  hold: 'rgba(180, 83, 9, 0.14)',
  holdText: '#b45309',
  gap: '#667085',
  axis: '#98a2b3',
  text: '#344054',
  marker: '#15803d',
  live: '#7c3aed',
  message: 'rgba(124, 58, 237, 0.6)',
};

/** Read on every frame: cheap, and a theme switch (class or media query) shows on the next one. */
export function readPalette(element: Element): Palette {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    chunk: read('--tl-chunk', FALLBACK.chunk),
    wait: read('--tl-wait', FALLBACK.wait),
    pause: read('--tl-pause', FALLBACK.pause),
    pauseText: read('--tl-pause-text', FALLBACK.pauseText),
    hold: read('--tl-hold', FALLBACK.hold),
    holdText: read('--tl-hold-text', FALLBACK.holdText),
    gap: read('--tl-gap', FALLBACK.gap),
    axis: read('--tl-axis', FALLBACK.axis),
    text: read('--tl-text', FALLBACK.text),
    marker: read('--tl-marker', FALLBACK.marker),
    live: read('--tl-live', FALLBACK.live),
    message: read('--tl-message', FALLBACK.message),
    font: `${style.fontSize || '11px'} ${style.fontFamily || 'sans-serif'}`,
  };
}

/** Vertical layout, in CSS pixels from the top; the axis sits at the bottom. */
export interface Layout {
  /** Baseline of marker labels. */
  readonly labelY: number;
  /** Top of the chunk lane: the tallest chunk reaches it. */
  readonly laneTop: number;
  /** Bottom of the chunk bars. */
  readonly baseline: number;
  /** Where read → flush waits are drawn, under the bars. */
  readonly waitY: number;
  readonly axisY: number;
  readonly height: number;
}

export function layoutFor(height: number): Layout {
  const axisY = height - 18;
  return { labelY: 11, laneTop: 28, baseline: axisY - 10, waitY: axisY - 5, axisY, height };
}

const BAR_WIDTH = 2;
const MIN_BAR_HEIGHT = 2;

export function paintTimeline(
  ctx: CanvasRenderingContext2D,
  list: DrawList,
  palette: Palette,
  width: number,
  height: number,
  maxChunkSize: number,
): void {
  const layout = layoutFor(height);
  ctx.clearRect(0, 0, width, height);
  ctx.font = palette.font;
  ctx.textBaseline = 'alphabetic';
  paintPauses(ctx, list, palette, layout, width);
  paintHolds(ctx, list, palette, layout, width);
  paintGaps(ctx, list, palette, layout, width);
  paintMessageEnds(ctx, list, palette, layout);
  paintWaits(ctx, list, palette, layout);
  paintChunks(ctx, list, palette, layout, maxChunkSize);
  paintMarkers(ctx, list.markers, palette, layout, width);
  paintAxis(ctx, list, palette, layout, width);
}

function paintPauses(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout, width: number): void {
  if (list.pauses.length === 0) return;
  fillBands(ctx, list.pauses, p.pause, l);
  ctx.fillStyle = p.pauseText;
  ctx.textAlign = 'left';
  for (const band of list.pauses) {
    const left = Math.max(0, band.x0);
    const room = Math.min(width, band.x1) - left - 8;
    // The full label where there is room, shorter ones where there is less.
    const duration = formatDuration(band.ms);
    const short = band.count === 1 ? `paused ${duration}` : `${band.count} pauses · ${duration}`;
    const text = fitting(ctx, room, band.label, short, duration);
    if (text) ctx.fillText(text, left + 4, l.laneTop - 2);
  }
}

/** Shades each band from the labels down to the axis; one shorter than a pixel still gets one. */
function fillBands(
  ctx: CanvasRenderingContext2D,
  bands: readonly { readonly x0: number; readonly x1: number }[],
  style: string,
  l: Layout,
): void {
  ctx.fillStyle = style;
  for (const band of bands) {
    ctx.fillRect(band.x0, l.labelY + 4, Math.max(1, band.x1 - band.x0), l.axisY - l.labelY - 4);
  }
}

function paintHolds(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout, width: number): void {
  if (list.holds.length === 0) return;
  fillBands(ctx, list.holds, p.hold, l);
  // Dashed edges, so a hold reads as a different thing from a pause even where colours are hard to tell apart.
  ctx.strokeStyle = p.holdText;
  ctx.setLineDash([2, 3]);
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const band of list.holds) {
    const x = Math.round(band.x0) + 0.5;
    ctx.moveTo(x, l.labelY + 4);
    ctx.lineTo(x, l.axisY);
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = p.holdText;
  ctx.textAlign = 'left';
  for (const band of list.holds) {
    const left = Math.max(0, band.x0);
    const room = Math.min(width, band.x1) - left - 8;
    const duration = formatDuration(band.ms);
    const text = fitting(ctx, room, band.label, `rule ${duration}`, duration);
    if (text) ctx.fillText(text, left + 4, l.laneTop + 11);
  }
}

function paintGaps(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout, width: number): void {
  if (list.gaps.length === 0) return;
  const y = Math.round((l.laneTop + l.baseline) / 2) + 0.5;
  ctx.strokeStyle = p.gap;
  ctx.fillStyle = p.gap;
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  for (const gap of list.gaps) {
    ctx.moveTo(gap.x0 + 4, y);
    ctx.lineTo(gap.x1 - 4, y);
  }
  ctx.stroke();
  ctx.setLineDash([]);
  for (const gap of list.gaps) {
    const left = Math.max(0, gap.x0);
    const right = Math.min(width, gap.x1);
    const text = fitting(ctx, right - left - 12, gap.label);
    if (text) ctx.fillText(text, (left + right) / 2, y - 4);
  }
}

/**
 * A light hairline across the chunk lane just after each chunk column in which a message ended
 * (the boundary), one stroke for all of them.
 */
function paintMessageEnds(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout): void {
  if (list.messageEnds.length === 0) return;
  ctx.strokeStyle = p.message;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const x of list.messageEnds) {
    const at = Math.round(x) + BAR_WIDTH + 0.5;
    ctx.moveTo(at, l.laneTop - 8);
    ctx.lineTo(at, l.baseline);
  }
  ctx.stroke();
}

function paintWaits(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout): void {
  if (list.waits.length === 0) return;
  const y = l.waitY + 0.5;
  ctx.strokeStyle = p.wait;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const wait of list.waits) {
    ctx.moveTo(wait.x0, y);
    ctx.lineTo(wait.x1, y);
    // A short upright tick where the chunk was flushed.
    ctx.moveTo(wait.x1, y - 3);
    ctx.lineTo(wait.x1, y + 3);
  }
  ctx.stroke();
}

function paintChunks(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout, maxChunkSize: number): void {
  if (list.columns.length === 0) return;
  const laneHeight = l.baseline - l.laneTop;
  ctx.fillStyle = p.chunk;
  ctx.beginPath();
  for (const column of list.columns) {
    const h = Math.max(MIN_BAR_HEIGHT, sizeFraction(column.maxSize, maxChunkSize) * laneHeight);
    ctx.rect(column.x, l.baseline - h, BAR_WIDTH, h);
  }
  ctx.fill();
}

function paintMarkers(
  ctx: CanvasRenderingContext2D,
  markers: readonly Marker[],
  p: Palette,
  l: Layout,
  width: number,
): void {
  for (const marker of markers) {
    const colour = marker.kind === 'live' ? p.live : p.marker;
    const x = Math.round(Math.min(width - 1, Math.max(0, marker.x))) + 0.5;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1;
    ctx.setLineDash(marker.kind === 'live' ? [2, 2] : []);
    ctx.beginPath();
    ctx.moveTo(x, l.labelY + 3);
    ctx.lineTo(x, l.axisY);
    ctx.stroke();
    ctx.setLineDash([]);
    // First byte reads rightwards from its line, end and live leftwards, unless that leaves the canvas.
    const textWidth = ctx.measureText(marker.label).width;
    const rightwards = marker.kind === 'first-byte' ? x + 3 + textWidth <= width : x - 3 - textWidth < 0;
    ctx.fillStyle = colour;
    ctx.textAlign = rightwards ? 'left' : 'right';
    ctx.fillText(marker.label, rightwards ? x + 3 : x - 3, l.labelY);
  }
}

function paintAxis(ctx: CanvasRenderingContext2D, list: DrawList, p: Palette, l: Layout, width: number): void {
  const y = l.axisY + 0.5;
  ctx.strokeStyle = p.axis;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, y);
  ctx.lineTo(width, y);
  for (const tick of list.ticks) {
    const x = Math.round(tick.x) + 0.5;
    ctx.moveTo(x, y);
    ctx.lineTo(x, y + 4);
  }
  ctx.stroke();
  ctx.fillStyle = p.text;
  ctx.textAlign = 'left';
  let freeFrom = -Infinity;
  for (const tick of list.ticks) {
    const textWidth = ctx.measureText(tick.label).width;
    const left = Math.min(width - textWidth, Math.max(0, tick.x - textWidth / 2));
    if (left < freeFrom) continue;
    ctx.fillText(tick.label, left, l.height - 3);
    freeFrom = left + textWidth + 6;
  }
}

/** The first of `candidates` that fits in `room` pixels, if any. */
function fitting(ctx: CanvasRenderingContext2D, room: number, ...candidates: string[]): string | undefined {
  if (room <= 0) return undefined;
  return candidates.find((text) => ctx.measureText(text).width <= room);
}
