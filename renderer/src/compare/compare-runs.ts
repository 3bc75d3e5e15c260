/**
 * Two exchanges compared, for "it was fast yesterday" and before/after a fix: each measured from its
 * own request, their events aligned by position, and what differs said in words. Pure, no DOM, so
 * the words are tested without a page.
 *
 * Times here are "run time": ms since that run's request arrived (`opened.t`), so two runs recorded
 * hours apart lie on one axis.
 */
import type {
  ChunkEvent,
  ExchangeOutcome,
  RpcMessageEvent,
  SseEvent,
  WebSocketMessageEvent,
} from '../../../app/proxy-events.js';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import { directionArrow } from '../messages/message-common.js';
import type { ExchangeView } from '../model/exchange.js';
import { frameKind, rpcPreview } from '../rpc/rpc-format.js';
import { formatRate, previewData } from '../sse/sse-format.js';
import { gapBefore, streamStats } from '../sse/stats.js';
import { OUTCOME_WORDS } from '../store/exchange-row.js';
import { summarize } from '../timeline/timeline-model.js';
import { messageKind, messagePreview } from '../websocket/message-format.js';

/**
 * A timing is named as different only when the larger is at least this many times the smaller...
 * Runs of one stream jitter; a difference under half again is rarely what someone came to find.
 */
export const NOTICEABLE_RATIO = 1.5;
/** ...and at least this many ms apart: under it, a host's scheduling noise alone can explain it. */
export const NOTICEABLE_MS = 50;
/**
 * Lines per kind (changed events, stalls) named one by one; the rest are counted in one more line,
 * so a stream whose every event carries a fresh id does not bury the other differences.
 */
export const MAX_NAMED_PER_KIND = 10;
/** Texts up to this long are quoted whole when they differ; longer ones around where they differ. */
const WHOLE_TEXT_CHARS = 40;
/** Characters kept either side of where two long texts differ. */
const EXCERPT_CONTEXT = 16;
/** The differing stretch of a long text is cut to this many characters. */
const EXCERPT_MIDDLE = 40;

/** Where a run's events come from (not named EventSource: the page has one of those). */
export type RunSource = 'sse' | 'websocket' | 'rpc' | 'chunks';

export interface RunEvent {
  /** 0-based position in its run (shown from 1). */
  readonly index: number;
  /** Run time: ms since the request arrived. */
  readonly t: number;
  /** Payload bytes; an SSE event's data length in characters; a chunk's bytes. */
  readonly size: number;
  /** What sort of item, compared too: an SSE event's `event: name`, "↑ text", "↓ message"; '' for a chunk. */
  readonly tag: string;
  /** Compared in full: SSE data, a message's payload (base64 when `binary`); '' for a chunk. */
  readonly data: string;
  readonly binary: boolean;
  /** The store's item, for its preview. */
  readonly origin: SseEvent | WebSocketMessageEvent | RpcMessageEvent | ChunkEvent;
}

/** A stretch of run time. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface LongestGap extends Span {
  /** The event the gap ends at, 0-based. */
  readonly beforeIndex: number;
}

export interface RunSummary {
  readonly events: readonly RunEvent[];
  readonly count: number;
  readonly status: number | undefined;
  readonly outcome: ExchangeOutcome | undefined;
  /** The exchange had not closed: its numbers may still change. */
  readonly open: boolean;
  readonly responseHead: number | undefined;
  readonly firstEvent: number | undefined;
  /** To the later of the last event and the close; to what was seen so far while open. */
  readonly duration: number;
  /** Response body bytes for SSE and chunks; the kept messages' payload bytes for messages. */
  readonly bytes: number;
  /** Events per second over the span from the first event to the last. */
  readonly rate: number | undefined;
  readonly longestGap: LongestGap | undefined;
  /** The response's backpressure pauses; one still going ends at `duration`. */
  readonly pauses: readonly Span[];
  readonly pausedMs: number;
}

export type RowKind = 'same' | 'changed' | 'added' | 'missing';

export interface RowSide {
  readonly event: RunEvent;
  /** ms since the run's previous event; undefined for the first. */
  readonly gap: number | undefined;
}

/** One position of the aligned events. */
export interface CompareRow {
  readonly index: number;
  /** `added`: only B has it; `missing`: only A has it. */
  readonly kind: RowKind;
  readonly a: RowSide | undefined;
  readonly b: RowSide | undefined;
  /** The gap before it differs noticeably between the runs. */
  readonly stall: boolean;
}

export interface RunComparison {
  readonly source: RunSource;
  /** What one item is called: "event", "message", "chunk". */
  readonly noun: string;
  readonly a: RunSummary;
  readonly b: RunSummary;
  readonly rows: readonly CompareRow[];
  /** One line per difference, most telling first; empty when the runs match. */
  readonly differences: readonly string[];
  /** Run time both timelines are drawn to. */
  readonly spanMs: number;
}

const NOUNS: Record<RunSource, string> = { sse: 'event', websocket: 'message', rpc: 'message', chunks: 'chunk' };

/** Compares run `b` against run `a`. O(events); call it once per revision of either. */
export function compareRuns(a: ExchangeView, b: ExchangeView): RunComparison {
  const source = sourceOf(a, b);
  const runA = summarizeRun(a, runEvents(a, source), source);
  const runB = summarizeRun(b, runEvents(b, source), source);
  const rows = alignRows(runA.events, runB.events);
  const noun = NOUNS[source];
  return {
    source,
    noun,
    a: runA,
    b: runB,
    rows,
    differences: describeDifferences(runA, runB, rows, noun),
    spanMs: Math.max(1, spanOf(runA), spanOf(runB)),
  };
}

/** Preferred first: the finer the framing, the more a row means. */
const SOURCE_ORDER: readonly RunSource[] = ['sse', 'websocket', 'rpc', 'chunks'];

/**
 * The first source either run has items of, so swapping A and B compares the same things: an SSE
 * run compared with one that answered JSON shows every event added or missing, not chunk sizes.
 */
function sourceOf(a: ExchangeView, b: ExchangeView): RunSource {
  return SOURCE_ORDER.find((source) => hasItems(a, source) || hasItems(b, source)) ?? 'chunks';
}

function hasItems(x: ExchangeView, source: RunSource): boolean {
  switch (source) {
    case 'sse':
      return x.sse.length > 0;
    case 'websocket':
      return x.messages.length > 0;
    case 'rpc':
      return x.rpcMessages.length > 0;
    case 'chunks':
      return x.responseBody.chunks.length > 0;
  }
}

export function runEvents(x: ExchangeView, source: RunSource): RunEvent[] {
  const start = x.opened.t;
  switch (source) {
    case 'sse':
      return x.sse.map((e, index) => ({
        index,
        t: e.t - start,
        size: e.data.length,
        tag: e.event === undefined ? '' : `event: ${e.event}`,
        data: e.data,
        binary: false,
        origin: e,
      }));
    case 'websocket':
      return x.messages.map((m, index) => ({
        index,
        t: m.t - start,
        size: m.size,
        tag: `${directionArrow(m.direction)} ${messageKind(m)}`,
        data: m.data,
        binary: m.binary,
        origin: m,
      }));
    case 'rpc':
      return x.rpcMessages.map((m, index) => ({
        index,
        t: m.t - start,
        size: m.size,
        tag: `${directionArrow(m.direction)} ${frameKind(m)}`,
        data: m.data,
        binary: m.binary,
        origin: m,
      }));
    case 'chunks':
      return x.responseBody.chunks.map((c, index) => ({
        index,
        t: c.readAt - start,
        size: c.size,
        tag: '',
        data: '',
        binary: false,
        origin: c,
      }));
  }
}

function summarizeRun(x: ExchangeView, events: RunEvent[], source: RunSource): RunSummary {
  const start = x.opened.t;
  const responseHead = x.response === undefined ? undefined : x.response.t - start;
  const stats = streamStats(events, { requestStart: 0, responseStart: responseHead });
  const lastEvent = events[events.length - 1]?.t;
  const closedAt = x.closed === undefined ? undefined : x.closed.t - start;
  const duration = Math.max(closedAt ?? 0, lastEvent ?? 0, responseHead ?? 0);
  const paused = summarize(x.responseBody, start + duration);
  const pauses = x.responseBody.pauses.map((p) => ({
    start: p.start - start,
    end: p.end === undefined ? duration : p.end - start,
  }));
  const bytes =
    source === 'sse' || source === 'chunks' ? x.responseBody.bytes : events.reduce((sum, e) => sum + e.size, 0);
  return {
    events,
    count: events.length,
    status: x.response?.response.status,
    outcome: x.closed?.outcome,
    open: x.closed === undefined,
    responseHead,
    firstEvent: stats.firstFromRequest,
    duration,
    bytes,
    rate: stats.overallRate,
    longestGap: longestGap(events),
    pauses,
    pausedMs: paused.pausedMs,
  };
}

function longestGap(events: readonly RunEvent[]): LongestGap | undefined {
  let best: LongestGap | undefined;
  for (let i = 1; i < events.length; i++) {
    const gap = gapBefore(events, i)!;
    if (best === undefined || gap > best.end - best.start) {
      best = { start: events[i - 1]!.t, end: events[i]!.t, beforeIndex: i };
    }
  }
  return best;
}

function spanOf(run: RunSummary): number {
  const lastPause = run.pauses[run.pauses.length - 1];
  return Math.max(run.duration, lastPause?.end ?? 0);
}

function alignRows(a: readonly RunEvent[], b: readonly RunEvent[]): CompareRow[] {
  const rows: CompareRow[] = [];
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const ea = a[index];
    const eb = b[index];
    const sideA = ea && { event: ea, gap: gapBefore(a, index) };
    const sideB = eb && { event: eb, gap: gapBefore(b, index) };
    const kind: RowKind = !eb ? 'missing' : !ea ? 'added' : differs(ea, eb) ? 'changed' : 'same';
    const stall = sideA?.gap !== undefined && sideB?.gap !== undefined && noticeable(sideA.gap, sideB.gap);
    rows.push({ index, kind, a: sideA, b: sideB, stall });
  }
  return rows;
}

/** Sizes are compared too: a capped message's `data` holds only its first part, and a chunk has no text. */
function differs(a: RunEvent, b: RunEvent): boolean {
  return a.tag !== b.tag || a.size !== b.size || a.data !== b.data;
}

/** Whether two durations differ enough to name (see `NOTICEABLE_RATIO` and `NOTICEABLE_MS`). */
export function noticeable(a: number, b: number): boolean {
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  return high - low >= NOTICEABLE_MS && high >= low * NOTICEABLE_RATIO;
}

// ---------------------------------------------------------------------------------------------
// Words

function describeDifferences(a: RunSummary, b: RunSummary, rows: readonly CompareRow[], noun: string): string[] {
  const lines: string[] = [];
  if (a.status !== undefined && b.status !== undefined && a.status !== b.status) {
    lines.push(`status ${a.status} → ${b.status}`);
  } else if ((a.status === undefined) !== (b.status === undefined)) {
    lines.push(`no response head in ${a.status === undefined ? 'A' : 'B'}`);
  }
  if (a.outcome !== undefined && b.outcome !== undefined && a.outcome !== b.outcome) {
    lines.push(`ended ${OUTCOME_WORDS[a.outcome]} → ${OUTCOME_WORDS[b.outcome]}`);
  }
  lines.push(...countLine(a.count, b.count, noun));
  lines.push(...changedLines(rows, noun));
  lines.push(...tailLine(a.count, b.count, noun));
  lines.push(...timingLine('time to response head', a.responseHead, b.responseHead));
  lines.push(...timingLine(`time to first ${noun}`, a.firstEvent, b.firstEvent));
  lines.push(...stallLines(rows, noun));
  lines.push(...pauseLines(a, b));
  // While a run is open its duration is only how far it has got.
  if (!a.open && !b.open) lines.push(...timingLine('duration', a.duration, b.duration));
  lines.push(...rateLine(a.rate, b.rate, noun));
  return lines;
}

/** A rate has no ms to be apart by: the ratio alone decides. */
function rateLine(a: number | undefined, b: number | undefined, noun: string): string[] {
  if (a === undefined || b === undefined || Math.max(a, b) < Math.min(a, b) * NOTICEABLE_RATIO) return [];
  return [`rate ${formatRate(a)} → ${formatRate(b)} ${noun}s/s`];
}

function countLine(a: number, b: number, noun: string): string[] {
  if (a === b) return [];
  const extra = Math.abs(b - a);
  const items = extra === 1 ? noun : `${noun}s`;
  return [`B has ${formatCount(extra)} ${b > a ? 'more' : 'fewer'} ${items} (${formatCount(a)} → ${formatCount(b)})`];
}

/** Aligned by position, only B's tail can be added and only A's tail missing: one range says it. */
function tailLine(a: number, b: number, noun: string): string[] {
  if (a === b) return [];
  const first = formatCount(Math.min(a, b) + 1);
  const last = formatCount(Math.max(a, b));
  const which = first === last ? `${noun} ${first}` : `${noun}s ${first}–${last}`;
  return [`${which} ${b > a ? 'added in B' : 'missing in B'}`];
}

function changedLines(rows: readonly CompareRow[], noun: string): string[] {
  const lines: string[] = [];
  let more = 0;
  for (const row of rows) {
    if (row.kind !== 'changed') continue;
    if (lines.length < MAX_NAMED_PER_KIND) {
      lines.push(`${noun} ${formatCount(row.index + 1)} changed: ${describeChange(row.a!.event, row.b!.event)}`);
    } else {
      more++;
    }
  }
  if (more > 0) lines.push(`${formatCount(more)} more ${more === 1 ? noun : `${noun}s`} changed`);
  return lines;
}

/** What differs between two items at one position, briefly: the tag, else the text, else the size. */
export function describeChange(a: RunEvent, b: RunEvent): string {
  if (a.tag !== b.tag) return `${a.tag || '(no type)'} → ${b.tag || '(no type)'}`;
  if (a.binary || (a.data === b.data && a.size !== b.size)) {
    return a.size === b.size
      ? `same size (${formatBytes(a.size)}), other bytes`
      : `${formatBytes(a.size)} → ${formatBytes(b.size)}`;
  }
  const [before, after] = excerpts(a.data, b.data);
  return `${quote(before)} → ${quote(after)}`;
}

/**
 * Both texts, or for long ones the stretch where they differ with a little context either side, so
 * one changed token in a kilobyte of JSON reads at a glance.
 */
export function excerpts(a: string, b: string): [string, string] {
  if (a.length <= WHOLE_TEXT_CHARS && b.length <= WHOLE_TEXT_CHARS) return [a, b];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const from = Math.max(0, start - EXCERPT_CONTEXT);
  return [cut(a, from, start, endA), cut(b, from, start, endB)];
}

/** `text` from `from`, its differing stretch `start`–`end` cut to `EXCERPT_MIDDLE`, then context. */
function cut(text: string, from: number, start: number, end: number): string {
  const head = from > 0 ? '…' : '';
  const middle =
    end - start > EXCERPT_MIDDLE ? `${text.slice(start, start + EXCERPT_MIDDLE)}…` : text.slice(start, end);
  const to = Math.min(text.length, end + EXCERPT_CONTEXT);
  const tail = end - start > EXCERPT_MIDDLE ? '' : `${text.slice(end, to)}${to < text.length ? '…' : ''}`;
  return `${head}${text.slice(from, start)}${middle}${tail}`;
}

function quote(text: string): string {
  return `"${text.replace(/\r?\n/g, '⏎')}"`;
}

function timingLine(what: string, a: number | undefined, b: number | undefined): string[] {
  if (a === undefined || b === undefined || !noticeable(a, b)) return [];
  return [`${what} ${formatDuration(a)} → ${formatDuration(b)} (${signedDuration(b - a)})`];
}

function signedDuration(ms: number): string {
  return ms > 0 ? `+${formatDuration(ms)}` : formatDuration(ms);
}

/** The biggest changes of gap are named, in stream order; the rest counted. */
function stallLines(rows: readonly CompareRow[], noun: string): string[] {
  const stalls = rows.filter((row) => row.stall);
  const change = (row: CompareRow) => Math.abs(row.b!.gap! - row.a!.gap!);
  const named = stalls.length <= MAX_NAMED_PER_KIND ? stalls : [...stalls].sort((x, y) => change(y) - change(x));
  const lines = named
    .slice(0, MAX_NAMED_PER_KIND)
    .sort((x, y) => x.index - y.index)
    .map(
      (row) =>
        `stall before ${noun} ${formatCount(row.index + 1)}: ${formatDuration(row.a!.gap!)} → ${formatDuration(row.b!.gap!)}`,
    );
  const more = stalls.length - lines.length;
  if (more > 0) lines.push(`${formatCount(more)} more ${more === 1 ? 'gap differs' : 'gaps differ'}`);
  return lines;
}

/** Named when one run was paused and the other not, or the time paused differs noticeably. */
function pauseLines(a: RunSummary, b: RunSummary): string[] {
  const someInOne = (a.pauses.length === 0) !== (b.pauses.length === 0);
  if (!someInOne && !noticeable(a.pausedMs, b.pausedMs)) return [];
  return [`backpressure pauses: ${pausesText(a)} → ${pausesText(b)}`];
}

function pausesText(run: RunSummary): string {
  return run.pauses.length === 0 ? 'none' : `${formatCount(run.pauses.length)} (${formatDuration(run.pausedMs)})`;
}

// ---------------------------------------------------------------------------------------------
// For the view

/** One line for a table cell, as the item's own view previews it. */
export function eventPreview(event: RunEvent): string {
  const origin = event.origin;
  switch (origin.type) {
    case 'sse-event':
      return previewData(origin.data);
    case 'websocket-message':
      return messagePreview(origin);
    case 'rpc-message':
      return rpcPreview(origin);
    case 'chunk':
      return formatBytes(origin.size);
  }
}

const ROW_KIND_WORDS: Record<RowKind, string> = {
  same: '',
  changed: 'changed',
  added: 'added in B',
  missing: 'missing in B',
};

/** What differs at a row, for its table cell: "changed", "added in B", "changed, gap differs". */
export function rowWords(row: CompareRow): string {
  const kind = ROW_KIND_WORDS[row.kind];
  if (!row.stall) return kind;
  return kind ? `${kind}, gap differs` : 'gap differs';
}

/** Events drawn in one column of a timeline: a flood is a few hundred marks, not 100,000 nodes. */
export interface LaneMark {
  /** Run time of the column's first event. */
  readonly t: number;
  /** 0-based index of its first event. */
  readonly first: number;
  readonly count: number;
  /** Some event in it is not the same in the other run (changed, added or missing). */
  readonly differs: boolean;
}

/**
 * The marks of one run's events across `columns` equal columns of `spanMs`: consecutive events in
 * one column become one mark. O(events).
 */
export function laneMarks(
  events: readonly RunEvent[],
  rows: readonly CompareRow[],
  spanMs: number,
  columns: number,
): LaneMark[] {
  const marks: LaneMark[] = [];
  let column = -1;
  for (const event of events) {
    const at = Math.min(columns - 1, Math.floor((Math.max(0, event.t) / spanMs) * columns));
    const differs = rows[event.index]?.kind !== 'same';
    const last = marks[marks.length - 1];
    if (last && at === column) {
      marks[marks.length - 1] = { ...last, count: last.count + 1, differs: last.differs || differs };
    } else {
      marks.push({ t: event.t, first: event.index, count: 1, differs });
      column = at;
    }
  }
  return marks;
}

/** "event 5 at +1.23 s", "events 5–12 from +1.23 s" (numbered from 1). */
export function markText(mark: LaneMark, noun: string): string {
  const at = formatDuration(mark.t);
  if (mark.count === 1) return `${noun} ${formatCount(mark.first + 1)} at +${at}`;
  return `${noun}s ${formatCount(mark.first + 1)}–${formatCount(mark.first + mark.count)} from +${at}`;
}
