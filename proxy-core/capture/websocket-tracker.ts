import type { Direction, ProxyEvent, WebSocketMessageEvent } from '../../app/proxy-events.js';
import { acceptedDeflate, MessageInflater } from './websocket-inflate.js';
import { OPCODE_CLOSE, OPCODE_TEXT, WebSocketFrameParser, type WebSocketFrameMessage } from './websocket-frames.js';

/** Payload bytes kept per message for display; the rest is counted and marked truncated. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

interface Side {
  readonly parser: WebSocketFrameParser;
  readonly inflater: MessageInflater | undefined;
  /** Bytes fed so far, for where a failure happened. */
  offset: number;
  /** Read time of the chunk being parsed: the time of any message it completes. */
  at: number;
  /** A note that decompression stopped was sent. */
  noted: boolean;
  /** Messages told so far. */
  messages: number;
}

/**
 * A WebSocket's messages, from the bytes each direction forwarded after the 101. Started by the
 * capture once the upgrade was answered; it sees copies of what was already written, so a slow
 * or failed parse costs display only, never the stream.
 */
export class WebSocketTracker {
  private readonly sides: Record<Direction, Side>;

  constructor(
    private readonly id: number,
    /** The 101's `Sec-WebSocket-Extensions`: whether (and how) messages are compressed. */
    extensions: string | undefined,
    private readonly emit: (event: ProxyEvent) => void,
    private readonly limited: (direction: Direction, atOffset: number) => void,
    private readonly maxMessageBytes = MAX_MESSAGE_BYTES,
  ) {
    const deflate = acceptedDeflate(extensions);
    const side = (direction: Direction, keepsContext: boolean): Side => {
      const state: Side = {
        parser: new WebSocketFrameParser(
          { maxMessageBytes, masked: direction === 'request', compression: deflate !== undefined },
          (message) => this.onMessage(direction, message),
          () => this.limited(direction, state.offset),
        ),
        inflater: deflate ? new MessageInflater(keepsContext) : undefined,
        offset: 0,
        at: 0,
        noted: false,
        messages: 0,
      };
      return state;
    };
    this.sides = {
      request: side('request', deflate !== undefined && !deflate.clientNoContextTakeover),
      response: side('response', deflate !== undefined && !deflate.serverNoContextTakeover),
    };
  }

  /** The next bytes one direction forwarded, read at `at`. */
  onBytes(direction: Direction, chunk: Buffer, at: number): void {
    const side = this.sides[direction];
    if (side.parser.failed !== undefined) return;
    side.at = at;
    side.parser.push(chunk);
    side.offset += chunk.length;
  }

  private onMessage(direction: Direction, message: WebSocketFrameMessage): void {
    const side = this.sides[direction];
    let { payload, size, truncated } = message;
    let compressed = message.compressed;
    if (compressed && side.inflater) {
      const inflated = truncated ? undefined : side.inflater.inflate(payload);
      if (truncated) side.inflater.skipped('a compressed message over the display cap');
      if (inflated) {
        compressed = false;
        size = inflated.length;
        truncated = inflated.length > this.maxMessageBytes;
        payload = truncated ? inflated.subarray(0, this.maxMessageBytes) : inflated;
      } else if (side.inflater.failed && !side.noted) {
        side.noted = true;
        this.limited(direction, side.offset);
      }
    }
    const index = side.messages++;
    this.emit(messageEvent(this.id, direction, index, side.at, message.opcode, payload, size, truncated, compressed));
  }
}

const utf8 = new TextDecoder('utf-8');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function messageEvent(
  id: number,
  direction: Direction,
  index: number,
  t: number,
  opcode: number,
  payload: Buffer,
  size: number,
  truncated: boolean,
  compressed: boolean,
): WebSocketMessageEvent {
  const base = {
    type: 'websocket-message' as const,
    id,
    direction,
    index,
    t,
    opcode,
    size,
    ...(truncated ? { truncated: true } : {}),
  };
  if (compressed) return { ...base, data: payload.toString('base64'), binary: true, compressed: true };
  if (opcode === OPCODE_CLOSE) {
    // A close payload is an optional 2-byte code, then a UTF-8 reason.
    const closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
    return {
      ...base,
      data: utf8.decode(payload.subarray(2)),
      binary: false,
      ...(closeCode === undefined ? {} : { closeCode }),
    };
  }
  // A text message cut by the cap may end inside a character: decode leniently.
  if (opcode === OPCODE_TEXT) return { ...base, data: utf8.decode(payload), binary: false };
  if (opcode === 2) return { ...base, data: payload.toString('base64'), binary: true };
  // Ping and pong payloads are arbitrary bytes, often text: shown as text when they are.
  const text = strictText(payload);
  return text === undefined
    ? { ...base, data: payload.toString('base64'), binary: true }
    : { ...base, data: text, binary: false };
}

function strictText(payload: Buffer): string | undefined {
  try {
    return strictUtf8.decode(payload);
  } catch {
    return undefined;
  }
}
