import { rpcFramingOf } from '../../app/rpc-calls.js';
import { PREFIX_BYTES } from '../capture/grpc-framer.js';
import { webSocketHeaderSize, webSocketPayloadLength } from '../capture/websocket-frames.js';

/**
 * How a body is cut into the events rules count: SSE events, lines, length-prefixed messages
 * (gRPC, gRPC-Web, Connect streaming), WebSocket frames, or the chunks as read.
 */
export type EventFraming = 'sse' | 'lines' | 'frames' | 'websocket' | 'chunks';

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
  const rpc = rpcFramingOf(type);
  if (rpc !== undefined && rpc !== 'grpc-web-text') return 'frames';
  return 'chunks';
}

/** A WebSocket frame header is 2 to 14 bytes (RFC 6455 section 5.2). */
const WEBSOCKET_HEADER_MOST = 14;

/**
 * Finds event ends in a body that arrives in arbitrary pieces, without copying: each chunk comes
 * back as views cut where events end. SSE events end at an empty line (the end of line is CRLF,
 * LF or CR, RFC 8895's grammar as the WHATWG spec reads it); lines end at LF; length-prefixed
 * messages and WebSocket frames end where their header says.
 */
export class EventBounds {
  /** The last byte seen ended a line: one more line end makes an empty line. */
  private atLineStart = true;
  /** The last byte was CR: an LF right after it belongs to the same line end. */
  private afterCr = false;
  private lineIsComment = false;
  /** The event so far has a field line: an empty line now dispatches it (comments alone do not). */
  private eventHasField = false;
  /** Prefixed messages: header bytes of the one being read, and the payload bytes it still needs. */
  private readonly header = Buffer.alloc(WEBSOCKET_HEADER_MOST);
  private headerFill = 0;
  private bodyLeft = 0;
  /** The message being read ends with the frame being read (a WebSocket message may take several). */
  private frameEndsEvent = true;
  /** A WebSocket message in fragments is under way: its frames, and control frames between them, are one event. */
  private inFragmentedMessage = false;

  constructor(readonly framing: EventFraming) {}

  split(chunk: Buffer): EventPiece[] {
    if (this.framing === 'chunks') return [{ bytes: chunk, ends: true }];
    if (this.framing === 'frames') return this.splitPrefixed(chunk, LENGTH_PREFIX);
    if (this.framing === 'websocket') return this.splitPrefixed(chunk, WEBSOCKET_FRAME);
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

  /**
   * Cuts at the end of each message whose header says how long it is (gRPC's length prefix, a
   * WebSocket frame's header), however header and payload are split across chunks.
   */
  private splitPrefixed(chunk: Buffer, format: PrefixFormat): EventPiece[] {
    const pieces: EventPiece[] = [];
    let from = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft === 0) {
        const take = Math.min(format.headerSize(this.header, this.headerFill) - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill < format.headerSize(this.header, this.headerFill)) continue;
        this.bodyLeft = format.payloadSize(this.header);
        this.frameEndsEvent = this.endsEvent(this.header);
        this.headerFill = 0;
        if (this.bodyLeft > 0) continue;
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        at += take;
        this.bodyLeft -= take;
        if (this.bodyLeft > 0) break;
      }
      // A whole frame (its header and payload) ends here, and with it a message unless it is a fragment.
      pieces.push({ bytes: chunk.subarray(from, at), ends: this.frameEndsEvent });
      from = at;
    }
    if (from < chunk.length) pieces.push({ bytes: chunk.subarray(from), ends: false });
    return pieces;
  }

  /**
   * Whether the frame whose header this is ends an event. A WebSocket message sent in fragments
   * (RFC 6455 section 5.4: FIN clear, then continuation frames up to one with FIN set) is one
   * event, and so are control frames sent between its fragments; other frames are each one.
   */
  private endsEvent(header: Buffer): boolean {
    if (this.framing !== 'websocket') return true;
    const fin = (header[0]! & 0x80) !== 0;
    const opcode = header[0]! & 0x0f;
    if (opcode >= 0x8) return !this.inFragmentedMessage;
    this.inFragmentedMessage = !fin;
    return fin;
  }
}

/** How a length-announcing header reads: its size as far as known from its first `fill` bytes, and the payload's. */
interface PrefixFormat {
  headerSize(header: Buffer, fill: number): number;
  payloadSize(header: Buffer): number;
}

/** gRPC, gRPC-Web and Connect: a flag byte and a big-endian 32-bit length. */
const LENGTH_PREFIX: PrefixFormat = {
  headerSize: () => PREFIX_BYTES,
  payloadSize: (header) => header.readUInt32BE(1),
};

/** RFC 6455 section 5.2: its size is known from its second byte on. */
const WEBSOCKET_FRAME: PrefixFormat = {
  headerSize: (header, fill) => (fill < 2 ? 2 : webSocketHeaderSize(header)),
  payloadSize: webSocketPayloadLength,
};
