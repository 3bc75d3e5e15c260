/**
 * An incremental RFC 6455 frame parser for the observe path. It is fed one direction's bytes as
 * they were forwarded, in whatever pieces the reads delivered, and reports whole messages:
 * fragments joined, control frames (which may come between fragments) reported on their own.
 *
 * Memory is bounded whatever the peer sends: a frame header is at most 14 bytes, and a message
 * keeps at most `maxMessageBytes` of its payload (the rest is only counted). It never throws and
 * never touches the bytes it is given (unmasking copies); on anything that is not a valid frame
 * stream it reports once and ignores the rest, since frame boundaries can no longer be trusted.
 */
import { randomBytes } from 'node:crypto';

export const OPCODE_CONTINUATION = 0;
export const OPCODE_TEXT = 1;
export const OPCODE_BINARY = 2;
export const OPCODE_CLOSE = 8;
export const OPCODE_PING = 9;
export const OPCODE_PONG = 10;

export interface WebSocketFrameMessage {
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  readonly opcode: number;
  /** The payload, unmasked, cut at `maxMessageBytes`. */
  readonly payload: Buffer;
  /** Payload bytes in all, of every fragment. */
  readonly size: number;
  /** `payload` holds only the first `maxMessageBytes` of `size`. */
  readonly truncated: boolean;
  /** RSV1 was set on the first frame: the payload is permessage-deflate compressed (RFC 7692). */
  readonly compressed: boolean;
}

export interface FrameParserOptions {
  /** Payload bytes kept per message; beyond them a message is counted, not copied. */
  readonly maxMessageBytes: number;
  /**
   * Client frames must be masked and server frames must not be (RFC 6455 §5.1); checking it is
   * what tells a frame stream from garbage early. Undefined accepts either.
   */
  readonly masked?: boolean | undefined;
  /** A permessage-deflate extension was negotiated, so RSV1 on a data message is legal. */
  readonly compression?: boolean | undefined;
}

const MAX_CONTROL_PAYLOAD = 125;
/** Lengths past 2^53 cannot be counted in a JS number; no real peer sends them. */
const MAX_SAFE_LENGTH = BigInt(Number.MAX_SAFE_INTEGER);

interface FrameHeader {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly length: number;
  readonly mask: Buffer | undefined;
}

/** A message being gathered: a data message across fragments, or one control frame. */
class Gathering {
  readonly parts: Buffer[] = [];
  kept = 0;
  size = 0;

  constructor(
    readonly opcode: number,
    readonly compressed: boolean,
    private readonly max: number,
  ) {}

  /** Takes `length` payload bytes from `chunk` at `start`, unmasking with `mask` from `maskOffset`. */
  add(chunk: Buffer, start: number, length: number, mask: Buffer | undefined, maskOffset: number): void {
    this.size += length;
    const room = Math.min(length, this.max - this.kept);
    if (room <= 0) return;
    // Always a copy: the chunk may be a forwarded buffer, and a view would pin all of it.
    const copy = Buffer.from(chunk.subarray(start, start + room));
    if (mask) for (let i = 0; i < copy.length; i++) copy[i]! ^= mask[(maskOffset + i) & 3]!;
    this.parts.push(copy);
    this.kept += room;
  }

  message(): WebSocketFrameMessage {
    return {
      opcode: this.opcode,
      payload: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept),
      size: this.size,
      truncated: this.kept < this.size,
      compressed: this.compressed,
    };
  }
}

export class WebSocketFrameParser {
  /** Header bytes of the frame being read (at most 14). */
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  private frame: FrameHeader | undefined;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** Payload bytes of the current frame already read, for the mask's position. */
  private payloadRead = 0;
  private dataMessage: Gathering | undefined;
  private control: Gathering | undefined;
  private failure: string | undefined;

  constructor(
    private readonly options: FrameParserOptions,
    private readonly onMessage: (message: WebSocketFrameMessage) => void,
    private readonly onFailure: (reason: string) => void,
  ) {}

  /** Why parsing stopped, once it has. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** Parses the next bytes of the stream; messages they complete are reported before it returns. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.failure === undefined) {
      at = this.frame ? this.readPayload(chunk, at) : this.readHeader(chunk, at);
    }
  }

  private readHeader(chunk: Buffer, at: number): number {
    // Copy bytes until the header is whole; its size is known from its first two bytes.
    let needed = this.headerBytes < 2 ? 2 : webSocketHeaderSize(this.header);
    while (this.headerBytes < needed && at < chunk.length) {
      this.header[this.headerBytes++] = chunk[at++]!;
      if (this.headerBytes === 2) needed = webSocketHeaderSize(this.header);
    }
    if (this.headerBytes < needed) return at;
    const frame = this.decodeHeader();
    this.headerBytes = 0;
    if (!frame) return chunk.length;
    this.frame = frame;
    this.remaining = frame.length;
    this.payloadRead = 0;
    if (isControl(frame.opcode)) {
      this.control = new Gathering(frame.opcode, false, this.options.maxMessageBytes);
    } else if (frame.opcode !== OPCODE_CONTINUATION) {
      this.dataMessage = new Gathering(frame.opcode, frame.rsv1, this.options.maxMessageBytes);
    }
    if (frame.length === 0) this.endFrame();
    return at;
  }

  private readPayload(chunk: Buffer, at: number): number {
    const frame = this.frame!;
    const length = Math.min(this.remaining, chunk.length - at);
    const target = isControl(frame.opcode) ? this.control! : this.dataMessage!;
    target.add(chunk, at, length, frame.mask, this.payloadRead);
    this.payloadRead += length;
    this.remaining -= length;
    if (this.remaining === 0) this.endFrame();
    return at + length;
  }

  private endFrame(): void {
    const frame = this.frame!;
    this.frame = undefined;
    if (isControl(frame.opcode)) {
      const control = this.control!;
      this.control = undefined;
      this.onMessage(control.message());
    } else if (frame.fin) {
      const message = this.dataMessage!;
      this.dataMessage = undefined;
      this.onMessage(message.message());
    }
  }

  /** The frame in `header`, or undefined (and parsing stopped) when it breaks the protocol. */
  private decodeHeader(): FrameHeader | undefined {
    const h = this.header;
    const fin = (h[0]! & 0x80) !== 0;
    const rsv1 = (h[0]! & 0x40) !== 0;
    const opcode = h[0]! & 0x0f;
    const masked = (h[1]! & 0x80) !== 0;
    let length = h[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      length = h.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      const big = h.readBigUInt64BE(2);
      if (big > MAX_SAFE_LENGTH) return this.fail('a frame length beyond 2^53');
      length = Number(big);
      at = 10;
    }
    const mask = masked ? Buffer.from(h.subarray(at, at + 4)) : undefined;

    if ((h[0]! & 0x30) !== 0) return this.fail('reserved bits RSV2/RSV3 set');
    if (opcode > 2 && opcode < 8) return this.fail(`reserved opcode ${opcode}`);
    if (opcode > 10) return this.fail(`reserved opcode ${opcode}`);
    if (this.options.masked !== undefined && masked !== this.options.masked) {
      return this.fail(this.options.masked ? 'an unmasked client frame' : 'a masked server frame');
    }
    if (isControl(opcode)) {
      if (!fin) return this.fail('a fragmented control frame');
      if (length > MAX_CONTROL_PAYLOAD) return this.fail('a control frame over 125 bytes');
      if (rsv1) return this.fail('RSV1 on a control frame');
    } else if (opcode === OPCODE_CONTINUATION) {
      if (!this.dataMessage) return this.fail('a continuation frame with no message to continue');
      if (rsv1) return this.fail('RSV1 on a continuation frame');
    } else {
      if (this.dataMessage) return this.fail('a new message before the previous one ended');
      if (rsv1 && !this.options.compression) return this.fail('RSV1 set with no extension negotiated');
    }
    return { fin, rsv1, opcode, length, mask };
  }

  private fail(reason: string): undefined {
    this.failure = reason;
    this.dataMessage = undefined;
    this.control = undefined;
    this.frame = undefined;
    this.onFailure(reason);
    return undefined;
  }
}

function isControl(opcode: number): boolean {
  return opcode >= 8;
}

/** Header size from its first two bytes: 2, plus 2 or 8 for an extended length, plus 4 for a mask. */
export function webSocketHeaderSize(h: Buffer): number {
  const length = h[1]! & 0x7f;
  const extended = length === 126 ? 2 : length === 127 ? 8 : 0;
  return 2 + extended + ((h[1]! & 0x80) !== 0 ? 4 : 0);
}

/**
 * The payload length a whole frame header announces. A length past 2^53 is no real frame; the
 * parser above refuses one, and a plain count of it is merely wrong.
 */
export function webSocketPayloadLength(h: Buffer): number {
  const length = h[1]! & 0x7f;
  if (length === 126) return h.readUInt16BE(2);
  if (length === 127) return Number(h.readBigUInt64BE(2));
  return length;
}

/**
 * One final frame carrying `payload` with `opcode` (1 text, 2 binary, 8 close, ...): masked with a
 * fresh key when a client sends it (RFC 6455 section 5.3), plain from a server.
 */
export function webSocketFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const first = 0x80 | (opcode & 0x0f);
  let head: Buffer;
  if (length < 126) head = Buffer.from([first, length]);
  else if (length < 0x10000) head = Buffer.from([first, 126, length >> 8, length & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const key = randomBytes(4);
  return Buffer.concat([head, key, maskedWith(payload, key)]);
}

/** `payload` XORed with the 4-byte `key`: masking and unmasking are the same (RFC 6455 section 5.3). */
export function maskedWith(payload: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ key[i & 3]!;
  return out;
}
