/**
 * The imperative half of the chunk timeline: owns the canvas, the viewport and the input
 * handlers, and redraws at most once per animation frame however often the data changes. React
 * (ChunkTimeline.tsx) only hands it the latest props and renders what it reports back: the hover
 * text, whether the user has taken over the viewport, and the text summary.
 */
import type { ChunkEvent } from '../../../app/proxy-events.js';
import { formatBytes, formatCount, formatTime } from '../format.js';
import type { BodyView } from '../model/exchange.js';
import { hostNow } from '../store/host-clock.js';
import { paintTimeline, readPalette } from './paint-timeline.js';
import {
  FIT,
  buildDrawList,
  chunkText,
  clampViewport,
  dataExtent,
  hitTestChunk,
  hitTestPause,
  messageEndsIn,
  panBy,
  pauseText,
  resolveViewport,
  stateAfterUserMove,
  summarize,
  summaryText,
  zoomAt,
  type BodySummary,
  type Extent,
  type TimelineData,
  type ViewState,
  type Viewport,
} from './timeline-model.js';

export interface TimelineSource {
  readonly body: BodyView;
  readonly startedAt: number;
  readonly endedAt: number | undefined;
  /**
   * The host's clock. A number is taken as "now at this render" and advanced with the page's clock
   * until the next one; a function is asked on every frame; by default the store's host clock.
   */
  readonly now: number | (() => number) | undefined;
}

export interface HoverInfo {
  /** Pointer position within the plot, in CSS pixels. */
  readonly x: number;
  readonly y: number;
  readonly text: string;
  /** Near the right edge: show the tooltip to the left of the pointer. */
  readonly flip: boolean;
}

export interface SummaryInfo {
  readonly summary: BodySummary;
  readonly text: string;
  /** "paused 1.2 s, 512 KiB queued", for the first `MAX_LISTED_PAUSES` pauses. */
  readonly pauses: readonly string[];
  /** Pauses not listed. */
  readonly morePauses: number;
}

export interface TimelineCallbacks {
  onHover(hover: HoverInfo | undefined): void;
  onModeChange(manual: boolean): void;
  onSummary(summary: SummaryInfo): void;
}

/** Past this many, pauses are counted rather than listed: the list is for reading, not a log. */
export const MAX_LISTED_PAUSES = 1000;
/** A live timeline moves with the clock even when nothing arrives (a silent stream is news too). */
const LIVE_TICK_MS = 100;
/** Live summaries change at most this often, so a screen reader is not talked over. */
const SUMMARY_INTERVAL_MS = 1000;
const ZOOM_STEP = 1.5;
const WHEEL_ZOOM_PER_PX = 0.002;
const TOOLTIP_FLIP_PX = 260;

export class TimelineController {
  private readonly plot: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D | null;
  private readonly callbacks: TimelineCallbacks;
  private readonly resizeObserver: ResizeObserver;

  private source: TimelineSource | undefined;
  private state: ViewState = FIT;
  private width = 0;
  private height = 0;
  private frame = 0;
  private disposed = false;
  private liveTimer: ReturnType<typeof setInterval> | undefined;
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSummaryAt = -Infinity;
  private lastSummary: SummaryInfo | undefined;
  /** When the last numeric `now` arrived, on the page's clock. */
  private nowReceivedAt = 0;
  private readonly sizeCache = { chunks: undefined as readonly ChunkEvent[] | undefined, scanned: 0, max: 0 };
  private drawn: { readonly data: TimelineData; readonly view: Viewport } | undefined;
  private drag: { readonly pointerId: number; lastX: number } | undefined;
  private pointer: { x: number; y: number } | undefined;
  private lastHover: HoverInfo | undefined;

  constructor(plot: HTMLElement, canvas: HTMLCanvasElement, callbacks: TimelineCallbacks) {
    this.plot = plot;
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.callbacks = callbacks;
    this.resizeObserver = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]?.contentRect;
      if (!box) return;
      this.width = box.width;
      this.height = box.height;
      this.requestDraw();
    });
    this.resizeObserver.observe(canvas);
    // Wheel listeners React attaches are passive; zooming must stop the page from scrolling.
    plot.addEventListener('wheel', this.onWheel, { passive: false });
    plot.addEventListener('pointerdown', this.onPointerDown);
    plot.addEventListener('pointermove', this.onPointerMove);
    plot.addEventListener('pointerup', this.onPointerUp);
    plot.addEventListener('pointercancel', this.onPointerUp);
    plot.addEventListener('pointerleave', this.onPointerLeave);
    plot.addEventListener('keydown', this.onKeyDown);
  }

  dispose(): void {
    this.disposed = true;
    if (this.frame) cancelAnimationFrame(this.frame);
    clearInterval(this.liveTimer);
    clearTimeout(this.summaryTimer);
    this.resizeObserver.disconnect();
    const plot = this.plot;
    plot.removeEventListener('wheel', this.onWheel);
    plot.removeEventListener('pointerdown', this.onPointerDown);
    plot.removeEventListener('pointermove', this.onPointerMove);
    plot.removeEventListener('pointerup', this.onPointerUp);
    plot.removeEventListener('pointercancel', this.onPointerUp);
    plot.removeEventListener('pointerleave', this.onPointerLeave);
    plot.removeEventListener('keydown', this.onKeyDown);
  }

  /** New props: called on every revision, so it only schedules work. */
  setSource(source: TimelineSource): void {
    const previous = this.source;
    const newBody = previous?.body !== source.body;
    if (typeof source.now === 'number' && source.now !== previous?.now) this.nowReceivedAt = performance.now();
    this.source = source;
    if (newBody) {
      // Another exchange in the same place: start from its whole extent.
      this.setState(FIT);
      this.lastSummaryAt = -Infinity;
      this.hover(undefined);
    }
    const live = source.endedAt === undefined;
    if (live && this.liveTimer === undefined) this.liveTimer = setInterval(this.onLiveTick, LIVE_TICK_MS);
    if (!live && this.liveTimer !== undefined) {
      clearInterval(this.liveTimer);
      this.liveTimer = undefined;
    }
    this.scheduleSummary(newBody || !live);
    this.requestDraw();
  }

  fit(): void {
    this.setState(FIT);
  }

  zoom(factor: number, anchorPx = this.width / 2): void {
    this.userMove((view, extent) => zoomAt(view, factor, anchorPx, extent));
  }

  pan(dxPx: number): void {
    this.userMove((view, extent) => panBy(view, dxPx, extent));
  }

  // -------------------------------------------------------------------------------------------
  // Drawing

  requestDraw(): void {
    if (this.frame === 0 && !this.disposed) this.frame = requestAnimationFrame(this.draw);
  }

  private readonly draw = (): void => {
    this.frame = 0;
    const current = this.current();
    if (!current || !this.ctx || this.width <= 0 || this.height <= 0) return;
    const { data, view } = current;
    this.drawn = { data, view };
    const list = buildDrawList(data, view);

    const ratio = window.devicePixelRatio || 1;
    const pixelWidth = Math.max(1, Math.round(this.width * ratio));
    const pixelHeight = Math.max(1, Math.round(this.height * ratio));
    // Assigning width clears the canvas and its state even when unchanged, so only on change.
    if (this.canvas.width !== pixelWidth) this.canvas.width = pixelWidth;
    if (this.canvas.height !== pixelHeight) this.canvas.height = pixelHeight;
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const maxSize = this.maxChunkSize(data.chunks);
    paintTimeline(this.ctx, list, readPalette(this.canvas), this.width, this.height, maxSize);

    // What is under a still pointer changes as data arrives or the view follows the live edge.
    if (this.pointer && !this.drag) this.updateHover();
  };

  /** The data and viewport as of this moment. */
  private current(): { data: TimelineData; extent: Extent; view: Viewport } | undefined {
    const source = this.source;
    if (!source) return undefined;
    const data: TimelineData = {
      chunks: source.body.chunks,
      pauses: source.body.pauses,
      startedAt: source.startedAt,
      endedAt: source.endedAt,
      now: this.now(),
      messageEndChunks: source.body.messageEndChunks,
      holds: source.body.ruleHolds,
    };
    const extent = dataExtent(data);
    return { data, extent, view: resolveViewport(this.state, extent, this.width) };
  }

  private now(): number {
    const source = this.source;
    if (!source) return 0;
    if (source.endedAt !== undefined) return source.endedAt;
    if (typeof source.now === 'function') return source.now();
    if (typeof source.now === 'number') return source.now + (performance.now() - this.nowReceivedAt);
    return hostNow();
  }

  /** The largest chunk, for bar heights. Chunks only grow at the end (the store may merge into the last), so scan only the tail. */
  private maxChunkSize(chunks: readonly ChunkEvent[]): number {
    const cache = this.sizeCache;
    if (cache.chunks !== chunks || chunks.length < cache.scanned) {
      cache.chunks = chunks;
      cache.scanned = 0;
      cache.max = 0;
    }
    for (let i = Math.max(0, cache.scanned - 1); i < chunks.length; i++) {
      const size = chunks[i]!.size;
      if (size > cache.max) cache.max = size;
    }
    cache.scanned = chunks.length;
    return cache.max;
  }

  private readonly onLiveTick = (): void => {
    this.requestDraw();
    // An open pause keeps growing with nothing arriving; the summary should say so.
    const pauses = this.source?.body.pauses;
    const last = pauses?.[pauses.length - 1];
    if (last && last.end === undefined) this.scheduleSummary(false);
  };

  // -------------------------------------------------------------------------------------------
  // Summary

  private scheduleSummary(immediate: boolean): void {
    if (immediate) {
      this.emitSummary();
      return;
    }
    if (this.summaryTimer !== undefined) return;
    const wait = Math.max(0, this.lastSummaryAt + SUMMARY_INTERVAL_MS - performance.now());
    this.summaryTimer = setTimeout(() => this.emitSummary(), wait);
  }

  private emitSummary(): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    const source = this.source;
    if (!source || this.disposed) return;
    this.lastSummaryAt = performance.now();
    const next = describeBody(source.body, this.now());
    if (this.lastSummary && sameSummary(this.lastSummary, next)) return;
    this.lastSummary = next;
    this.callbacks.onSummary(next);
  }

  // -------------------------------------------------------------------------------------------
  // Viewport changes

  private setState(state: ViewState): void {
    const wasManual = this.state.mode === 'manual';
    this.state = state;
    const manual = state.mode === 'manual';
    if (manual !== wasManual) this.callbacks.onModeChange(manual);
    this.requestDraw();
  }

  private userMove(move: (view: Viewport, extent: Extent) => Viewport): void {
    const current = this.current();
    if (!current || this.width <= 0) return;
    const next = move(current.view, current.extent);
    this.setState(stateAfterUserMove(next, current.extent, current.data.endedAt === undefined));
  }

  private jumpTo(edge: 'start' | 'end'): void {
    this.userMove((view, extent) => {
      const span = view.endMs - view.startMs;
      const startMs = edge === 'start' ? extent.startMs : extent.endMs - span;
      return clampViewport({ startMs, endMs: startMs + span, widthPx: view.widthPx }, extent);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Input

  private pointerX(event: MouseEvent): { x: number; y: number } {
    const box = this.canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  private readonly onWheel = (event: WheelEvent): void => {
    event.preventDefault();
    const scale = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? this.width : 1;
    let dx = event.deltaX * scale;
    let dy = event.deltaY * scale;
    // Shift+wheel is the usual horizontal scroll on a mouse without a horizontal wheel.
    if (event.shiftKey && dx === 0) [dx, dy] = [dy, 0];
    if (Math.abs(dx) > Math.abs(dy)) this.pan(dx);
    else if (dy !== 0) this.zoom(Math.exp(-dy * WHEEL_ZOOM_PER_PX), this.pointerX(event).x);
  };

  private readonly onPointerDown = (event: PointerEvent): void => {
    if (event.button !== 0) return;
    this.plot.setPointerCapture(event.pointerId);
    this.drag = { pointerId: event.pointerId, lastX: event.clientX };
    this.plot.classList.add('tl-dragging');
    this.hover(undefined);
  };

  private readonly onPointerMove = (event: PointerEvent): void => {
    const drag = this.drag;
    if (drag && drag.pointerId === event.pointerId) {
      const dx = event.clientX - drag.lastX;
      drag.lastX = event.clientX;
      // Dragging moves the content with the pointer, so the view moves the other way.
      if (dx !== 0) this.pan(-dx);
      return;
    }
    this.pointer = this.pointerX(event);
    this.updateHover();
  };

  private readonly onPointerUp = (event: PointerEvent): void => {
    if (!this.drag || this.drag.pointerId !== event.pointerId) return;
    this.drag = undefined;
    this.plot.classList.remove('tl-dragging');
    if (this.plot.hasPointerCapture(event.pointerId)) this.plot.releasePointerCapture(event.pointerId);
  };

  private readonly onPointerLeave = (): void => {
    if (this.drag) return;
    this.pointer = undefined;
    this.hover(undefined);
  };

  private readonly onKeyDown = (event: KeyboardEvent): void => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const panStep = this.width * (event.shiftKey ? 0.5 : 0.1);
    switch (event.key) {
      case '+':
      case '=':
        this.zoom(ZOOM_STEP);
        break;
      case '-':
      case '_':
        this.zoom(1 / ZOOM_STEP);
        break;
      case 'ArrowLeft':
        this.pan(-panStep);
        break;
      case 'ArrowRight':
        this.pan(panStep);
        break;
      case 'Home':
        this.jumpTo('start');
        break;
      case 'End':
        this.jumpTo('end');
        break;
      case '0':
        this.fit();
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  // -------------------------------------------------------------------------------------------
  // Hover

  private updateHover(): void {
    const pointer = this.pointer;
    const drawn = this.drawn;
    if (!pointer || !drawn) return;
    const { data, view } = drawn;
    let text: string | undefined;
    const hit = hitTestChunk(data, view, pointer.x);
    if (hit) {
      text = chunkText(hit.chunk, data.startedAt);
      if (hit.columnCount > 1) {
        text += `\n${formatCount(hit.columnCount)} chunks in this pixel · ${formatBytes(hit.columnBytes)}`;
      }
      const ends = data.messageEndChunks;
      const ended = ends ? messageEndsIn(ends, hit.chunk.index, hit.chunk.index + (hit.chunk.reads ?? 1) - 1) : 0;
      if (ended > 0) text += `\n${formatCount(ended)} ${ended === 1 ? 'message ends' : 'messages end'} in this chunk`;
    } else {
      const index = hitTestPause(data, view, pointer.x);
      const pause = index === undefined ? undefined : data.pauses[index];
      if (pause) text = `${pauseText(pause, data.now, ' · ')} · from +${formatTime(pause.start - data.startedAt)}`;
    }
    this.hover(text === undefined ? undefined : { ...pointer, text, flip: pointer.x > this.width - TOOLTIP_FLIP_PX });
  }

  private hover(info: HoverInfo | undefined): void {
    const last = this.lastHover;
    if (info === last) return;
    if (info && last && info.text === last.text && info.x === last.x && info.y === last.y) return;
    this.lastHover = info;
    this.callbacks.onHover(info);
  }
}

/** The summary sentence, its numbers and the pauses in words, as of `now`. */
export function describeBody(body: BodyView, now: number): SummaryInfo {
  const summary = summarize(body, now);
  const listed = body.pauses.slice(0, MAX_LISTED_PAUSES).map((pause) => pauseText(pause, now, ', '));
  return { summary, text: summaryText(summary), pauses: listed, morePauses: body.pauses.length - listed.length };
}

function sameSummary(a: SummaryInfo, b: SummaryInfo): boolean {
  return (
    a.text === b.text &&
    a.summary.bytes === b.summary.bytes &&
    a.summary.messages === b.summary.messages &&
    Math.round(a.summary.pausedMs) === Math.round(b.summary.pausedMs) &&
    a.morePauses === b.morePauses &&
    a.pauses.length === b.pauses.length &&
    a.pauses.every((text, i) => text === b.pauses[i])
  );
}
