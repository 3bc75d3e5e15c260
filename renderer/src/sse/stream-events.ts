import { isEventStream } from '../../../app/http-headers.js';
import type { ChunkEvent } from '../../../app/proxy-events.js';

/** Still offered here beside streamKind, which decides with it; its one definition is in app/. */
export { isEventStream };

/**
 * One event of a streamed response, whatever framed it: a Server-Sent Event from the store
 * (`SseEvent` fits this shape as it is, so SSE streams are shown without copying) or one line of a
 * newline-delimited JSON body split here.
 */
export interface StreamEventRow {
  /** 0-based position in the stream. */
  readonly index: number;
  readonly eventId?: string | undefined;
  readonly event?: string | undefined;
  readonly data: string;
  /** Read time of the chunk that completed the event (proxy clock, ms). */
  readonly t: number;
  /** Indexes of the first and last response chunks the event's bytes arrived in. */
  readonly chunkRange?: readonly [first: number, last: number] | undefined;
}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonl',
  'application/jsonlines',
  'application/x-jsonlines',
  'application/json-seq',
  'application/stream+json',
]);

/** The media type of a Content-Type value: lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** Newline-delimited JSON under any of the names it goes by (Ollama uses `application/x-ndjson`). */
export function isNdjson(contentType: string | undefined): boolean {
  return NDJSON_TYPES.has(mediaType(contentType));
}

/** AWS's binary event stream (Bedrock's streaming answers). */
export function isAwsEventStream(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'application/vnd.amazon.eventstream';
}

/** Which event view a response body gets, from its Content-Type. */
export function streamKind(contentType: string | undefined): 'sse' | 'ndjson' | 'eventstream' | undefined {
  if (isEventStream(contentType)) return 'sse';
  if (isNdjson(contentType)) return 'ndjson';
  if (isAwsEventStream(contentType)) return 'eventstream';
  return undefined;
}

/** What cuts a body read in pieces into event rows: NDJSON lines, AWS event-stream messages. */
export interface BodyRowSplitter {
  /** Feeds one chunk's bytes (read at `t`, chunk `chunkIndex`); returns the rows it completed. */
  pushBytes(bytes: Uint8Array, t: number, chunkIndex: number): StreamEventRow[];
  /** The body ended: what is left makes its last rows. */
  end(): StreamEventRow[];
}

/** RFC 7464 (`application/json-seq`) starts each record with an ASCII record separator. */
const RECORD_SEPARATOR = '\u001e';

/**
 * Splits a growing NDJSON body into rows, one per non-blank line, as its text arrives.
 *
 * Feed it the body in order, one piece per network chunk so each row can say which chunks it
 * arrived in; a line is emitted when its newline arrives, stamped with that chunk's time. The
 * unfinished tail is kept as a list of pieces and joined once, so a long line spread over many
 * chunks costs its length, not its length times the number of chunks.
 */
export class NdjsonSplitter implements BodyRowSplitter {
  private pending: string[] = [];
  /** Chunk that delivered the first character of the unfinished line. */
  private pendingFirstChunk = -1;
  private lastT = 0;
  private lastChunk = -1;
  private nextIndex = 0;
  /** For `pushBytes`: keeps a UTF-8 sequence cut by a chunk boundary until its end arrives. */
  private decoder: TextDecoder | undefined;

  /** Rows emitted so far. */
  get count(): number {
    return this.nextIndex;
  }

  /** Feeds the decoded text of one chunk; returns the lines it completed. */
  push(text: string, t: number, chunkIndex: number): StreamEventRow[] {
    this.lastT = t;
    this.lastChunk = chunkIndex;
    const rows: StreamEventRow[] = [];
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const piece = text.slice(start, newline);
      const firstChunk = this.pending.length > 0 ? this.pendingFirstChunk : chunkIndex;
      this.pending.push(piece);
      this.emitPending(firstChunk, chunkIndex, t, rows);
      start = newline + 1;
    }
    if (start < text.length) {
      if (this.pending.length === 0) this.pendingFirstChunk = chunkIndex;
      this.pending.push(text.slice(start));
    }
    return rows;
  }

  /** Feeds the raw bytes of one chunk (UTF-8); a character split across chunks is decoded whole. */
  pushBytes(bytes: Uint8Array, t: number, chunkIndex: number): StreamEventRow[] {
    this.decoder ??= new TextDecoder('utf-8');
    return this.push(this.decoder.decode(bytes, { stream: true }), t, chunkIndex);
  }

  /** The body ended: a last line without a newline is complete now. */
  end(): StreamEventRow[] {
    const rows: StreamEventRow[] = [];
    const tail = this.decoder?.decode() ?? '';
    if (tail.length > 0) {
      if (this.pending.length === 0) this.pendingFirstChunk = this.lastChunk;
      this.pending.push(tail);
    }
    if (this.pending.length > 0) this.emitPending(this.pendingFirstChunk, this.lastChunk, this.lastT, rows);
    return rows;
  }

  private emitPending(firstChunk: number, lastChunk: number, t: number, into: StreamEventRow[]): void {
    let line = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith(RECORD_SEPARATOR)) line = line.slice(1);
    // Blank lines are keep-alives or formatting, not events.
    if (line.trim() === '') return;
    into.push({ index: this.nextIndex++, data: line, t, chunkRange: [firstChunk, lastChunk] });
  }
}

/**
 * Feeds the part of a body in `bytes` (which starts at body offset `bytesStart`) to `splitter`,
 * cut along the chunk boundaries in `chunks` so rows know their chunks. For bodies read in pieces
 * as they grow: pass each new piece once, in order. Offsets are the forwarded (still encoded) ones,
 * so this is only meaningful for bodies without a Content-Encoding; for decoded bodies feed
 * `push` yourself. Bytes past the last known chunk are fed as part of the last chunk.
 */
export function feedBodyBytes(
  splitter: BodyRowSplitter,
  bytes: Uint8Array,
  bytesStart: number,
  chunks: readonly ChunkEvent[],
): StreamEventRow[] {
  const rows: StreamEventRow[] = [];
  const bytesEnd = bytesStart + bytes.length;
  let i = chunkAtOffset(chunks, bytesStart);
  let position = bytesStart;
  while (position < bytesEnd && i < chunks.length) {
    const chunk = chunks[i]!;
    const isLast = i === chunks.length - 1;
    const pieceEnd = isLast ? bytesEnd : Math.min(bytesEnd, chunk.offset + chunk.size);
    if (pieceEnd > position) {
      const piece = bytes.subarray(position - bytesStart, pieceEnd - bytesStart);
      rows.push(...splitter.pushBytes(piece, chunk.readAt, chunk.index));
      position = pieceEnd;
    }
    i++;
  }
  return rows;
}

/** Index of the chunk holding body offset `offset` (binary search; chunks are in body order). */
export function chunkAtOffset(chunks: readonly ChunkEvent[], offset: number): number {
  let low = 0;
  let high = chunks.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (chunks[mid]!.offset <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}
