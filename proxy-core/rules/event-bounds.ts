/**
 * How a body is cut into the events rules count: SSE events, lines, length-prefixed messages
 * (gRPC, gRPC-Web, Connect streaming), or the chunks as read.
 */
export type EventFraming = 'sse' | 'lines' | 'frames' | 'chunks';

/** A run of bytes of one event; `ends` when its last byte ends the event. */
export interface EventPiece {
  readonly bytes: Buffer;
  readonly ends: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/** The framing of a body by its Content-Type; a compressed body is only ever chunks. */
export function framingOf(contentType: string | undefined, contentEncoding: string | undefined): EventFraming {
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') return 'chunks';
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return 'sse';
  if (['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/json-seq'].includes(type)) {
    return 'lines';
  }
  // gRPC and gRPC-Web (binary) and Connect's streaming: a flag byte and a 4-byte length per message.
  // gRPC-Web's text form is base64 and is left as chunks.
  if (/^application\/(grpc(\+[a-z]+)?|grpc-web(\+[a-z]+)?|connect\+[a-z]+)$/.test(type)) return 'frames';
  return 'chunks';
}

/** A length-prefixed message's header: one flag byte and a big-endian 32-bit length. */
const FRAME_HEADER = 5;

/**
 * Finds event ends in a body that arrives in arbitrary pieces, without copying: each chunk comes
 * back as views cut where events end. SSE events end at an empty line (the end of line is CRLF,
 * LF or CR, RFC 8895's grammar as the WHATWG spec reads it); lines end at LF.
 */
export class EventBounds {
  /** The last byte seen ended a line: one more line end makes an empty line. */
  private atLineStart = true;
  /** The last byte was CR: an LF right after it belongs to the same line end. */
  private afterCr = false;
  private lineIsComment = false;
  /** The event so far has a field line: an empty line now dispatches it (comments alone do not). */
  private eventHasField = false;
  /** Frames: header bytes of the frame being read, and the body bytes it still needs. */
  private readonly header = Buffer.alloc(FRAME_HEADER);
  private headerFill = 0;
  private bodyLeft = 0;

  constructor(readonly framing: EventFraming) {}

  split(chunk: Buffer): EventPiece[] {
    if (this.framing === 'chunks') return [{ bytes: chunk, ends: true }];
    if (this.framing === 'frames') return this.splitFrames(chunk);
    const pieces: EventPiece[] = [];
    let from = 0;
    const cut = (to: number): void => {
      pieces.push({ bytes: chunk.subarray(from, to), ends: true });
      from = to;
    };
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.framing === 'lines') {
        if (byte === LF) cut(i + 1);
        continue;
      }
      if (byte === LF && this.afterCr) {
        // The LF of a CRLF whose CR already counted; an event that ended at that CR takes it along.
        this.afterCr = false;
        const last = pieces[pieces.length - 1];
        if (from === i && last?.ends) {
          pieces.pop();
          from = i - last.bytes.length;
          cut(i + 1);
        }
        continue;
      }
      this.afterCr = byte === CR;
      if (byte === LF || byte === CR) {
        if (this.atLineStart) {
          if (this.eventHasField) cut(i + 1);
          this.eventHasField = false;
        } else if (!this.lineIsComment) {
          this.eventHasField = true;
        }
        this.atLineStart = true;
      } else if (this.atLineStart) {
        this.lineIsComment = byte === 0x3a; // ':'
        this.atLineStart = false;
      }
    }
    if (from < chunk.length) pieces.push({ bytes: chunk.subarray(from), ends: false });
    return pieces;
  }

  /** Cuts at the end of each length-prefixed message, however the header and body are split. */
  private splitFrames(chunk: Buffer): EventPiece[] {
    const pieces: EventPiece[] = [];
    let from = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft === 0 && this.headerFill < FRAME_HEADER) {
        const take = Math.min(FRAME_HEADER - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill < FRAME_HEADER) break;
        this.bodyLeft = this.header.readUInt32BE(1);
        if (this.bodyLeft > 0) continue;
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        at += take;
        this.bodyLeft -= take;
        if (this.bodyLeft > 0) break;
      }
      // A whole message (its header and body) ends here.
      pieces.push({ bytes: chunk.subarray(from, at), ends: true });
      from = at;
      this.headerFill = 0;
    }
    if (from < chunk.length) pieces.push({ bytes: chunk.subarray(from), ends: false });
    return pieces;
  }
}
