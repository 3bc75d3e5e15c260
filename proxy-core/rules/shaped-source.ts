import { EventEmitter } from 'node:events';
import { describeMs, drawMs, textSearch, type RuleActionType } from '../../app/stream-rules.js';
import { now } from '../clock.js';
import type { PumpSource } from '../forward/body-pump.js';
import { EventBounds, type EventFraming, type EventPiece } from './event-bounds.js';
import {
  choosesEvent,
  EventEditor,
  textOf,
  viewOf,
  wholeEvent,
  type ContentStep,
  type EditNote,
  type EventView,
} from './event-edits.js';
import type { MessageCodec } from './message-codec.js';
import type { EndingAction, ShapePlan } from './rule-set.js';

/** What a shaped stream asks of its exchange, and tells it. */
export interface ShapeControl {
  /** A rule acted: for the exchange's events (`heldMs`: how long it held the stream from now). */
  report(rule: string, action: RuleActionType, detail: string, heldMs?: number, event?: number): void;
  /**
   * An ending rule fired after everything before it was handed on: `end` (the source then ends
   * to its pump, so the response ends cleanly; the exchange lets the upstream go), `reset` or
   * `hang` (nothing more is sent; the exchange resets the client, or leaves it waiting).
   */
  ended(action: EndingAction): void;
  /**
   * A breakpoint holds the stream before event number `event` (`bytes`; `text`, when given, is
   * what the user sees and edits: an RPC message's JSON, a WebSocket message's text): resolves
   * with what the user decided, or `gone` when the exchange ended meanwhile.
   */
  hold(rule: string, event: number, bytes: Buffer, text?: string): Promise<BreakpointDecision>;
}

export type BreakpointDecision =
  | { readonly outcome: 'released' | 'dropped' | 'released-all' | 'gone' }
  | { readonly outcome: 'edited'; readonly bytes: Buffer };

/** Content rules that make sense on RPC messages without their schema; with it, and on text, all do. */
const BINARY_EDITS: ReadonlySet<RuleActionType> = new Set(['drop', 'duplicate', 'corrupt']);

/** Bandwidth is dealt in slices of a twentieth of a second's worth, so the stream stays smooth. */
const SLICES_PER_SECOND = 20;

/**
 * Content rules need whole events, so an event is gathered before it goes on; one longer than
 * this goes on as it came, unedited, rather than be held in memory.
 */
const MAX_EDITED_EVENT_BYTES = 1 << 20;

interface QueuedPiece extends EventPiece {
  /** The first piece of a read: per-chunk latency applies here. */
  readonly firstOfRead: boolean;
  /** A breakpoint stops the stream before this (whole) event. */
  readonly breakpoint?: { readonly rule: string; readonly event: number };
  /** What content rules did to this (whole) event: told as it goes, with its number. */
  readonly notes?: readonly EditNote[];
}

/**
 * A pump source between a body's real source and its pump that applies rules event by event:
 * delays before events or chunks, a bandwidth cap, stalls, and an ending after N events or bytes.
 * It never buffers more than one read: while anything is held the real source is paused, so
 * the sender meets backpressure as it would from a slow reader. Until `open` (the response head
 * is held back by a rule) it only queues that read.
 */
export class ShapedSource extends EventEmitter implements PumpSource {
  readableEnded = false;
  private readonly bounds: EventBounds;
  private readonly queue: QueuedPiece[] = [];
  private innerEnded = false;
  private pumpPaused = false;
  private opened: boolean;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the piece at the head of the queue may go; undefined until its delays are drawn. */
  private dueAt: number | undefined;
  private nextSliceAt = 0;
  private eventsSent = 0;
  private bytesSent = 0;
  private atEventStart = true;
  private stallsServed = 0;
  private readonly editor: EventEditor | undefined;
  /** The event being gathered for the editor, and its size. */
  private readonly partial: Buffer[] = [];
  private partialBytes = 0;
  /** The event being gathered grew past MAX_EDITED_EVENT_BYTES: the rest of it passes unedited. */
  private oversized = false;
  private eventsIn = 0;
  private readonly breakpointSearches: (RegExp | undefined)[];
  /** A breakpoint's decision is awaited. */
  private holding = false;
  /** The user let the rest of the stream go. */
  private releasedAll = false;
  private readonly codec: MessageCodec | undefined;

  constructor(
    private readonly inner: PumpSource,
    private readonly plan: ShapePlan,
    framing: EventFraming,
    private readonly control: ShapeControl,
    options: {
      held?: boolean;
      /** An RPC stream's messages through their schema: `where`, `rewrite`, `inject` and edits use JSON. */
      codec?: MessageCodec;
    } = {},
  ) {
    super();
    this.bounds = new EventBounds(framing);
    this.opened = !options.held;
    this.codec = options.codec;
    this.breakpointSearches = plan.breakpoints.map(({ action }) =>
      action.where === undefined ? undefined : textSearch(action.where),
    );
    if (plan.contents.length > 0) {
      const report = (rule: string, action: RuleActionType, detail: string): void =>
        control.report(rule, action, detail);
      // Binary messages can be left out, sent twice or torn, not written into as text.
      const usable: ContentStep[] = [];
      for (const step of plan.contents) {
        const fits =
          framing === 'sse' ||
          framing === 'lines' ||
          framing === 'websocket' ||
          (framing === 'frames' && (this.codec !== undefined || BINARY_EDITS.has(step.action.type)));
        if (fits) usable.push(step);
        else
          report(
            step.rule,
            step.action.type,
            framing === 'frames'
              ? `left the body as it was: ${step.action.type} on RPC messages needs their schema (--proto, or Schemas in the UI)`
              : `left the body as it was: ${step.action.type} needs SSE, NDJSON, WebSocket text or RPC messages`,
          );
      }
      if (usable.length > 0 && framing !== 'chunks') this.editor = new EventEditor(usable, framing, report, this.codec);
    }
    inner.on('data', this.onInnerData);
    inner.on('end', this.onInnerEnd);
    if (plan.bandwidth) {
      const { rule, bytesPerSecond } = plan.bandwidth;
      control.report(rule, 'bandwidth', `capped at ${bytesPerSecond.toLocaleString('en')} bytes/s`);
    }
    if (this.opened) queueMicrotask(() => this.next());
  }

  /** Bytes of the stream read before this source was made (a WebSocket's first frames, read with its 101). */
  feed(bytes: Buffer): void {
    if (bytes.length > 0) this.onInnerData(bytes);
  }

  /** The response head went out: bytes may follow. */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.next();
  }

  pause(): this {
    this.pumpPaused = true;
    this.inner.pause();
    return this;
  }

  resume(): this {
    this.pumpPaused = false;
    this.next();
    return this;
  }

  /** Stops everything (the exchange ended another way). */
  stop(): void {
    // Paused, not just left: what the source still has stays with the sender (backpressure).
    this.inner.pause();
    this.finished = true;
    this.clearTimer();
    this.queue.length = 0;
    this.inner.off('data', this.onInnerData);
    this.inner.off('end', this.onInnerEnd);
  }

  private readonly onInnerData = (chunk: Buffer, lent?: Buffer): void => {
    if (this.finished) return;
    // Held across time, so never a view on a read buffer that is about to be reused.
    const bytes = lent === undefined ? chunk : Buffer.from(chunk);
    const pieces = this.bounds.split(bytes);
    let first = true;
    const queue = (piece: EventPiece): void => {
      this.queue.push({ ...piece, firstOfRead: first });
      first = false;
    };
    for (const piece of pieces) {
      if (this.editor || this.plan.breakpoints.length > 0) this.gather(piece, queue);
      else queue(piece);
    }
    this.inner.pause();
    this.next();
  };

  /** Gathers whole events for the editor and the breakpoints, and queues what they make of them. */
  private gather(piece: EventPiece, queue: (piece: EventPiece) => void): void {
    if (this.oversized) {
      queue(piece);
      if (piece.ends) {
        this.oversized = false;
        this.eventsIn++;
      }
      return;
    }
    this.partial.push(piece.bytes);
    this.partialBytes += piece.bytes.length;
    if (!piece.ends) {
      if (this.partialBytes > MAX_EDITED_EVENT_BYTES) {
        // Too long to hold: what is gathered goes on as it came, and so will the rest of it.
        this.oversized = true;
        for (const bytes of this.partial.splice(0)) queue({ bytes, ends: false });
        this.partialBytes = 0;
      }
      return;
    }
    const whole = Buffer.concat(this.partial.splice(0));
    this.partialBytes = 0;
    const index = ++this.eventsIn;
    const stop = this.breakpointFor(whole, index);
    const events = this.editor ? this.editor.edit(whole, index) : [{ bytes: whole, notes: [] }];
    events.forEach(({ bytes, notes }, i) =>
      queue({
        bytes,
        ends: true,
        ...(notes.length > 0 ? { notes } : {}),
        ...(stop && i === 0 ? { breakpoint: { rule: stop, event: index } } : {}),
      }),
    );
  }

  /** The rule of the first breakpoint that chooses event `index` (as it came), if any. */
  private breakpointFor(event: Buffer, index: number): string | undefined {
    if (this.releasedAll) return undefined;
    const text = this.breakpointSearches.some((search) => search !== undefined)
      ? textOf(event, this.bounds.framing, this.codec)
      : '';
    const step = this.plan.breakpoints.findIndex(({ action }, i) =>
      choosesEvent(action, this.breakpointSearches[i], index, text),
    );
    return step < 0 ? undefined : this.plan.breakpoints[step]!.rule;
  }

  /** Stops at a breakpoint: nothing moves (and the source stays paused) until the user decides. */
  private awaitDecision(piece: QueuedPiece): void {
    const { rule, event } = piece.breakpoint!;
    this.holding = true;
    const view = viewOf(piece.bytes, this.bounds.framing, this.codec);
    void this.control.hold(rule, event, piece.bytes, view?.text).then((decision) => {
      this.holding = false;
      if (this.finished || decision.outcome === 'gone') return;
      const at = this.queue.indexOf(piece);
      if (at < 0) return;
      const { breakpoint: _done, ...rest } = piece;
      if (decision.outcome === 'dropped') this.queue.splice(at, 1);
      else if (decision.outcome === 'edited') {
        const bytes = this.editedEvent(rule, event, piece.bytes, decision.bytes, view);
        // Told as it goes, with its number as the other side gets it: the views mark it changed.
        const note: EditNote = { rule, action: 'breakpoint', detail: `sent event ${event} as edited` };
        this.queue[at] = bytes === piece.bytes ? rest : { ...rest, bytes, notes: [...(rest.notes ?? []), note] };
      } else this.queue[at] = rest;
      if (decision.outcome === 'released-all') {
        this.releasedAll = true;
        for (let i = 0; i < this.queue.length; i++) {
          const { breakpoint: _skip, ...plain } = this.queue[i]!;
          this.queue[i] = plain;
        }
      }
      this.next();
    });
  }

  /**
   * What the user's edit of a held event makes of it: an event that lost its ending gets it back
   * (it would run into the next); an edit of its view (an RPC message's JSON, a WebSocket
   * message's text) is made an event again, or when it cannot be the event goes as it came, and
   * the exchange says why.
   */
  private editedEvent(rule: string, event: number, held: Buffer, edited: Buffer, view: EventView | undefined): Buffer {
    if (!view) return wholeEvent(this.bounds.framing, edited);
    const wired = view.wire(edited);
    if (Buffer.isBuffer(wired)) return wired;
    this.control.report(rule, 'breakpoint', `sent event ${event} as it came: the edit does not encode (${wired})`);
    return held;
  }

  private readonly onInnerEnd = (): void => {
    // An event the body ended in the middle of goes on as it came.
    if (this.partial.length > 0) {
      for (const bytes of this.partial.splice(0)) this.queue.push({ bytes, ends: false, firstOfRead: false });
      this.partialBytes = 0;
    }
    this.innerEnded = true;
    this.next();
  };

  private next(): void {
    if (!this.opened || this.finished) return;
    if (this.endingDue()) {
      this.fireEnding();
      return;
    }
    while (!this.finished && !this.pumpPaused && this.timer === undefined && !this.holding) {
      const piece = this.queue[0];
      if (!piece) {
        if (this.innerEnded) {
          this.finished = true;
          this.readableEnded = true;
          this.emit('end');
        } else {
          this.inner.resume();
        }
        return;
      }
      if (piece.breakpoint && !this.releasedAll) {
        this.awaitDecision(piece);
        return;
      }
      const wait = this.waitFor(piece);
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.next();
        }, wait);
        return;
      }
      this.send(piece);
      if (this.endingDue()) {
        this.fireEnding();
        return;
      }
    }
  }

  /** Milliseconds until `piece` may go; its delays are drawn (and reported) once. */
  private waitFor(piece: QueuedPiece): number {
    const at = now();
    if (this.dueAt === undefined) {
      let due = at;
      const startsEvent = this.atEventStart;
      for (const latency of this.plan.latencies) {
        if (latency.per === 'event' ? !startsEvent : !piece.firstOfRead) continue;
        const ms = drawMs(latency.ms);
        this.control.report(
          latency.rule,
          'latency',
          `held ${latency.per} ${this.eventsSent + 1} for ${round(ms)} ms`,
          ms,
        );
        due += ms;
      }
      for (
        let stall = this.plan.stalls[this.stallsServed];
        startsEvent && stall !== undefined && stall.afterEvents <= this.eventsSent;
        stall = this.plan.stalls[this.stallsServed]
      ) {
        this.stallsServed++;
        const ms = drawMs(stall.ms);
        this.control.report(
          stall.rule,
          'stall',
          `stalled ${round(ms)} ms after ${this.eventsSent} events (${describeMs(stall.ms)})`,
          ms,
        );
        due += ms;
      }
      this.dueAt = Math.max(due, this.plan.bandwidth ? this.nextSliceAt : 0);
    }
    return Math.max(0, this.dueAt - at);
  }

  private send(piece: QueuedPiece): void {
    this.queue.shift();
    this.dueAt = undefined;
    let bytes = piece.bytes;
    let ends = piece.ends;
    let notes = piece.notes;
    const cut = (length: number): void => {
      // The rest waits at the head of the queue as a piece of the same event; what rules did to
      // the event is told when its end goes.
      this.queue.unshift({ bytes: bytes.subarray(length), ends, firstOfRead: false, ...(notes ? { notes } : {}) });
      bytes = bytes.subarray(0, length);
      ends = false;
      notes = undefined;
    };
    const ending = this.plan.ending?.action;
    if (ending?.afterBytes !== undefined && bytes.length > ending.afterBytes - this.bytesSent) {
      cut(ending.afterBytes - this.bytesSent);
    }
    const rate = this.plan.bandwidth?.bytesPerSecond;
    if (rate !== undefined) {
      const slice = Math.max(1, Math.floor(rate / SLICES_PER_SECOND));
      if (bytes.length > slice) cut(slice);
      this.nextSliceAt = Math.max(now(), this.nextSliceAt) + (bytes.length / rate) * 1000;
    }
    this.bytesSent += bytes.length;
    if (ends) this.eventsSent++;
    this.atEventStart = ends;
    if (bytes.length > 0) this.emit('data', bytes);
    for (const note of notes ?? [])
      this.control.report(note.rule, note.action, note.detail, undefined, this.eventsSent);
  }

  private endingDue(): boolean {
    const ending = this.plan.ending?.action;
    if (!ending) return false;
    if (ending.afterBytes !== undefined) return this.bytesSent >= ending.afterBytes;
    return this.atEventStart && this.eventsSent >= (ending.afterEvents ?? 0);
  }

  private fireEnding(): void {
    const { rule, action } = this.plan.ending!;
    const where = action.afterBytes !== undefined ? `after ${this.bytesSent} bytes` : `after ${this.eventsSent} events`;
    const what =
      action.type === 'end'
        ? 'ended the stream'
        : action.type === 'reset'
          ? `reset the stream (${action.code ?? 'CANCEL'})`
          : 'stopped sending';
    this.stop();
    this.control.report(rule, action.type, `${what} ${where}`);
    this.control.ended(action);
    if (action.type === 'end') {
      this.readableEnded = true;
      this.emit('end');
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
