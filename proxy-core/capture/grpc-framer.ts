import type { RpcFraming } from '../../app/rpc-calls.js';

/**
 * An incremental message framer for streaming RPC bodies (gRPC, gRPC-Web binary and text, Connect
 * streaming), for the observe path. It is fed one direction's bytes in whatever pieces the reads
 * delivered and returns each frame the moment its last byte arrives.
 *
 * It never throws and never keeps the bytes it is given: callers pass views on read buffers that
 * are reused, so every payload byte kept is a copy, and at most `maxMessageBytes` of a frame are
 * kept (the rest is only counted). A frame that makes no sense stops parsing for good, with a note:
 * once one length is wrong, no later boundary can be trusted.
 */

export interface RpcFrame {
  /** Frame number in this direction, from 0; trailer and end-stream frames count too. */
  readonly index: number;
  readonly kind: 'message' | 'trailers' | 'end-stream';
  readonly compressed: boolean;
  /** Payload length the prefix declared. */
  readonly wireBytes: number;
  /** A copy of the payload, cut at `maxMessageBytes`. */
  readonly bytes: Buffer;
  /** `bytes` holds only the first `maxMessageBytes` of `wireBytes`. */
  readonly truncated: boolean;
  /**
   * Chunk indexes the frame's bytes spanned, prefix included. For gRPC-Web text a byte counts as
   * arriving with the chunk that completed its 4-character base64 group.
   */
  readonly firstChunk: number;
  readonly lastChunk: number;
  /** `readAt` of the chunk that completed the frame. */
  readonly completedAt: number;
  /** gRPC-Web trailer frame: its `name: value` lines, names lower-cased. */
  readonly trailers?: readonly (readonly [string, string])[];
  /** Connect end-stream frame: its JSON payload as text. */
  readonly json?: string;
}

export interface RpcFrameProblem {
  /** Index of the frame that was cut short. */
  readonly index: number;
  readonly note: string;
}

export interface RpcFramerOptions {
  /** Payload bytes kept per frame; beyond them a frame is counted, not copied. */
  readonly maxMessageBytes: number;
}

export const PREFIX_BYTES = 5;
/**
 * No real RPC message comes near this (gRPC's default receive limit is 4 MiB); a larger length
 * means the bytes are not a frame stream, whatever `maxMessageBytes` is.
 */
const MAX_FRAME_LENGTH = 64 * 1024 * 1024;
export const FLAG_COMPRESSED = 0x01;
export const FLAG_CONNECT_END_STREAM = 0x02;
export const FLAG_GRPC_WEB_TRAILERS = 0x80;

/** Flag bits each framing defines; any other bit set means we lost the frame boundaries. */
const ALLOWED_FLAGS: Record<RpcFraming, number> = {
  grpc: FLAG_COMPRESSED,
  'grpc-web': FLAG_COMPRESSED | FLAG_GRPC_WEB_TRAILERS,
  'grpc-web-text': FLAG_COMPRESSED | FLAG_GRPC_WEB_TRAILERS,
  connect: FLAG_COMPRESSED | FLAG_CONNECT_END_STREAM,
};

/** The frame being read: its prefix is whole, its payload still arriving. */
interface OpenFrame {
  readonly flags: number;
  readonly length: number;
  readonly firstChunk: number;
  received: number;
  readonly kept: Buffer[];
  keptBytes: number;
}

export class RpcFramer {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixBytes = 0;
  private prefixFirstChunk = 0;
  private open: OpenFrame | undefined;
  private nextIndex = 0;
  private stopReason: string | undefined;
  private readonly base64: Base64Decoder | undefined;

  constructor(
    private readonly framing: RpcFraming,
    private readonly options: RpcFramerOptions,
  ) {
    this.base64 = framing === 'grpc-web-text' ? new Base64Decoder() : undefined;
  }

  /** Why parsing stopped, once it has; later feeds return nothing. */
  get stopped(): string | undefined {
    return this.stopReason;
  }

  /** Reads the next bytes of the body; returns the frames they complete, in order. */
  feed(bytes: Uint8Array, chunkIndex: number, readAt: number): RpcFrame[] {
    const frames: RpcFrame[] = [];
    if (this.stopReason !== undefined) return frames;
    let data = bytes;
    let base64Problem: string | undefined;
    if (this.base64) {
      // Bytes decoded before an invalid character are still framed; the stop comes after them.
      ({ decoded: data, problem: base64Problem } = this.base64.decode(bytes));
    }
    let at = 0;
    while (at < data.length && this.stopReason === undefined) {
      at = this.open ? this.readPayload(data, at) : this.readPrefix(data, at, chunkIndex);
      // A zero-length frame is whole as soon as its prefix is.
      if (this.open && this.open.received === this.open.length) frames.push(this.close(chunkIndex, readAt));
    }
    if (base64Problem !== undefined) this.stop(base64Problem);
    return frames;
  }

  /** The body ended: reports a frame (or base64 group) it cut short, if any. */
  end(): RpcFrameProblem | undefined {
    if (this.stopReason !== undefined) return undefined;
    const index = this.nextIndex;
    if (this.open) {
      const { received, length } = this.open;
      return { index, note: `message ${index} cut short: ${received} of its ${length} bytes arrived` };
    }
    if (this.prefixBytes > 0) {
      return {
        index,
        note: `message ${index} cut short: ${this.prefixBytes} of its ${PREFIX_BYTES} prefix bytes arrived`,
      };
    }
    const pending = this.base64?.pendingChars ?? 0;
    if (pending > 0) return { index, note: `the base64 body ended mid-group, ${pending} characters left over` };
    return undefined;
  }

  private readPrefix(data: Uint8Array, at: number, chunkIndex: number): number {
    if (this.prefixBytes === 0) this.prefixFirstChunk = chunkIndex;
    while (this.prefixBytes < PREFIX_BYTES && at < data.length) this.prefix[this.prefixBytes++] = data[at++]!;
    if (this.prefixBytes < PREFIX_BYTES) return at;
    this.prefixBytes = 0;
    const flags = this.prefix[0]!;
    const length = this.prefix.readUInt32BE(1);
    const unknownFlags = flags & ~ALLOWED_FLAGS[this.framing];
    if (unknownFlags !== 0) {
      this.stop(
        `message ${this.nextIndex} has flags ${hexByte(flags)}: bits ${hexByte(unknownFlags)} mean nothing in ${this.framing}`,
      );
    } else if (length > MAX_FRAME_LENGTH) {
      this.stop(
        `message ${this.nextIndex} declares ${length} bytes, past the ${MAX_FRAME_LENGTH}-byte limit of a sane frame`,
      );
    } else {
      this.open = { flags, length, firstChunk: this.prefixFirstChunk, received: 0, kept: [], keptBytes: 0 };
    }
    return at;
  }

  private readPayload(data: Uint8Array, at: number): number {
    const open = this.open!;
    const take = Math.min(open.length - open.received, data.length - at);
    const keep = Math.min(take, this.options.maxMessageBytes - open.keptBytes);
    if (keep > 0) {
      // Always a copy: `data` may be a view on a read buffer that is about to be reused.
      open.kept.push(Buffer.from(data.subarray(at, at + keep)));
      open.keptBytes += keep;
    }
    open.received += take;
    return at + take;
  }

  private close(chunkIndex: number, readAt: number): RpcFrame {
    const open = this.open!;
    this.open = undefined;
    const bytes = open.kept.length === 1 ? open.kept[0]! : Buffer.concat(open.kept, open.keptBytes);
    const compressed = (open.flags & FLAG_COMPRESSED) !== 0;
    const frame: RpcFrame = {
      index: this.nextIndex++,
      kind: this.kindOf(open.flags),
      compressed,
      wireBytes: open.length,
      bytes,
      truncated: open.keptBytes < open.length,
      firstChunk: open.firstChunk,
      lastChunk: chunkIndex,
      completedAt: readAt,
    };
    // A compressed trailer or end-stream payload is only readable once decompressed, not ours to do.
    if (compressed || frame.kind === 'message') return frame;
    if (frame.kind === 'trailers') return { ...frame, trailers: parseTrailerLines(bytes.toString('utf8')) };
    return { ...frame, json: bytes.toString('utf8') };
  }

  private kindOf(flags: number): RpcFrame['kind'] {
    if (this.framing === 'connect') return (flags & FLAG_CONNECT_END_STREAM) !== 0 ? 'end-stream' : 'message';
    return (flags & FLAG_GRPC_WEB_TRAILERS) !== 0 ? 'trailers' : 'message';
  }

  private stop(note: string): void {
    this.stopReason = note;
    this.open = undefined;
  }
}

/** HTTP/1-style `name: value` lines, as a gRPC-Web trailer frame carries them; names lower-cased. */
export function parseTrailerLines(text: string): [string, string][] {
  const trailers: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    trailers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return trailers;
}

function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='
/** Sextet value of each byte, -1 when it is not a base64 character. */
const SEXTET = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) table[BASE64_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Decodes base64 a piece at a time, carrying an unfinished group of up to 3 characters between
 * pieces. gRPC-Web text encodes each write on its own, so a group may end in padding mid-stream
 * and the next character starts a fresh group; Node's decoder would stop at the first `=`.
 */
class Base64Decoder {
  private readonly group = new Uint8Array(4);
  private groupChars = 0;
  /** `=` already seen in the current group (after two data characters, one more must follow). */
  private padded = false;
  private charsSeen = 0;

  get pendingChars(): number {
    return this.groupChars;
  }

  /** The bytes decoded (fresh memory), up to the first character that is not base64 if any. */
  decode(text: Uint8Array): { decoded: Buffer; problem?: string } {
    const out = Buffer.allocUnsafe(Math.ceil((this.groupChars + text.length) / 4) * 3);
    let written = 0;
    for (let i = 0; i < text.length; i++, this.charsSeen++) {
      const char = text[i]!;
      if (char === PAD) {
        if (this.groupChars < 2) return this.invalid(out, written, char, 'padding too early in a group');
        if (this.padded || this.groupChars === 3) {
          // `xx==` gives one byte, `xxx=` two.
          written = this.flush(out, written, this.groupChars === 3 && !this.padded ? 2 : 1);
        } else {
          this.padded = true;
          this.groupChars = 3;
        }
        continue;
      }
      const sextet = SEXTET[char]!;
      if (sextet < 0) return this.invalid(out, written, char, 'not a base64 character');
      if (this.padded) return this.invalid(out, written, char, 'a second `=` expected');
      this.group[this.groupChars++] = sextet;
      if (this.groupChars === 4) written = this.flush(out, written, 3);
    }
    return { decoded: out.subarray(0, written) };
  }

  private flush(out: Buffer, written: number, byteCount: number): number {
    const [a, b, c, d] = this.group;
    const bits = (a! << 18) | (b! << 12) | (c! << 6) | d!;
    out[written++] = bits >>> 16;
    if (byteCount > 1) out[written++] = (bits >>> 8) & 0xff;
    if (byteCount > 2) out[written++] = bits & 0xff;
    this.group.fill(0);
    this.groupChars = 0;
    this.padded = false;
    return written;
  }

  private invalid(out: Buffer, written: number, char: number, why: string): { decoded: Buffer; problem: string } {
    const problem = `invalid base64 at character ${this.charsSeen} of the body (${hexByte(char)}: ${why})`;
    return { decoded: out.subarray(0, written), problem };
  }
}
