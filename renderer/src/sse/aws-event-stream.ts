import { bytesFromBase64 } from '../base64.js';
import type { StreamEventRow } from './stream-events.js';

/**
 * AWS's binary event stream (`application/vnd.amazon.eventstream`), which Bedrock's
 * `InvokeModelWithResponseStream` and `ConverseStream` answer with, split into rows for the
 * events view. Each message is a prelude (total length, headers length, the prelude's CRC32), typed
 * headers, a payload and the message's CRC32. A row's `event` is the message's `:event-type` (or
 * `:exception-type`); its data is the payload as text, and for Bedrock's `chunk` events
 * (`{"bytes": "<base64>"}`) the model's own event inside it, so Claude on Bedrock reads as
 * Claude does directly. A message whose CRC does not match is reported as a row of its own
 * (`event` `invalid message`) and not trusted; a prelude that does not match ends the reading, since
 * no length after it can be believed.
 */
export class EventStreamSplitter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Chunk that delivered the first byte of the unfinished message. */
  private firstChunk = -1;
  private nextIndex = 0;
  private messages = 0;
  private stopped = false;
  private lastT = 0;
  private lastChunk = -1;

  /** Rows emitted so far. */
  get count(): number {
    return this.nextIndex;
  }

  /** Feeds the bytes of one chunk; returns the rows of the messages it completed. */
  pushBytes(bytes: Uint8Array, t: number, chunkIndex: number): StreamEventRow[] {
    const rows: StreamEventRow[] = [];
    this.lastT = t;
    this.lastChunk = chunkIndex;
    if (this.stopped || bytes.length === 0) return rows;
    if (this.pendingBytes === 0) this.firstChunk = chunkIndex;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    while (!this.stopped && this.pendingBytes >= PRELUDE_BYTES) {
      const prelude = this.peek(PRELUDE_BYTES);
      const view = new DataView(prelude.buffer, prelude.byteOffset, PRELUDE_BYTES);
      const total = view.getUint32(0);
      const headersLength = view.getUint32(4);
      const number = this.messages + 1;
      if (crc32(prelude.subarray(0, 8)) !== view.getUint32(8)) {
        this.stop(rows, `message ${number}: its prelude's CRC does not match, so no length after it can be trusted`, t);
        break;
      }
      if (total < PRELUDE_BYTES + 4 || headersLength > total - PRELUDE_BYTES - 4 || total > MAX_MESSAGE_BYTES) {
        this.stop(rows, `message ${number}: a length of ${total} bytes (headers ${headersLength}) is not a message`, t);
        break;
      }
      if (this.pendingBytes < total) break;
      const message = this.take(total);
      this.messages++;
      rows.push(this.rowOf(message, headersLength, number, t, chunkIndex));
      this.firstChunk = this.pendingBytes > 0 ? chunkIndex : -1;
    }
    return rows;
  }

  /** The body ended: a message cut short is reported. */
  end(): StreamEventRow[] {
    const rows: StreamEventRow[] = [];
    if (!this.stopped && this.pendingBytes > 0) {
      this.stop(rows, `message ${this.messages + 1}: the stream ended ${this.pendingBytes} bytes into it`, this.lastT);
    }
    return rows;
  }

  private rowOf(message: Uint8Array, headersLength: number, number: number, t: number, chunk: number): StreamEventRow {
    const view = new DataView(message.buffer, message.byteOffset, message.length);
    const chunkRange = [this.firstChunk < 0 ? chunk : this.firstChunk, chunk] as const;
    const index = this.nextIndex++;
    const stated = view.getUint32(message.length - 4);
    const actual = crc32(message.subarray(0, message.length - 4));
    if (stated !== actual) {
      return {
        index,
        event: INVALID,
        data: `message ${number}: its CRC (${hex(stated)}) does not match its bytes (${hex(actual)}): not decoded`,
        t,
        chunkRange,
      };
    }
    const headers = readHeaders(message.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headersLength));
    const payload = message.subarray(PRELUDE_BYTES + headersLength, message.length - 4);
    const event = headers[':event-type'] ?? headers[':exception-type'] ?? headers[':message-type'];
    return { index, ...(event !== undefined && { event }), data: payloadText(payload), t, chunkRange };
  }

  private stop(rows: StreamEventRow[], why: string, t: number): void {
    this.stopped = true;
    this.pending = [];
    this.pendingBytes = 0;
    const chunk = this.lastChunk;
    rows.push({ index: this.nextIndex++, event: INVALID, data: why, t, chunkRange: [chunk, chunk] });
  }

  /** The first `n` pending bytes, joined (without taking them). */
  private peek(n: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.joined().subarray(0, n);
  }

  private take(n: number): Uint8Array {
    const all = this.pending.length === 1 ? this.pending[0]! : this.joined();
    this.pending = all.length > n ? [all.subarray(n)] : [];
    this.pendingBytes -= n;
    return all.subarray(0, n);
  }

  private joined(): Uint8Array {
    const out = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const piece of this.pending) {
      out.set(piece, at);
      at += piece.length;
    }
    this.pending = [out];
    return out;
  }
}

const PRELUDE_BYTES = 12;
/** AWS caps a message at 16 MiB of payload; anything far past it is a misread length. */
const MAX_MESSAGE_BYTES = 24 << 20;
const INVALID = 'invalid message';
const utf8 = new TextDecoder('utf-8');

/** Header values by name; string values as text, the rest as their JSON-ish text. */
function readHeaders(bytes: Uint8Array): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headers: Record<string, string> = {};
  let at = 0;
  try {
    while (at < bytes.length) {
      const nameLength = view.getUint8(at);
      const name = utf8.decode(bytes.subarray(at + 1, at + 1 + nameLength));
      at += 1 + nameLength;
      const type = view.getUint8(at++);
      let value: string;
      switch (type) {
        case 0:
        case 1:
          value = String(type === 0);
          break;
        case 2:
          value = String(view.getInt8(at));
          at += 1;
          break;
        case 3:
          value = String(view.getInt16(at));
          at += 2;
          break;
        case 4:
          value = String(view.getInt32(at));
          at += 4;
          break;
        case 5:
        case 8:
          value = String(view.getBigInt64(at));
          at += 8;
          break;
        case 6:
        case 7: {
          const length = view.getUint16(at);
          const raw = bytes.subarray(at + 2, at + 2 + length);
          value = type === 7 ? utf8.decode(raw) : `${length} bytes`;
          at += 2 + length;
          break;
        }
        case 9:
          value = hexBytes(bytes.subarray(at, at + 16));
          at += 16;
          break;
        default:
          return headers;
      }
      headers[name] = value;
    }
  } catch {
    // A header that runs past the end: the ones read so far stand.
  }
  return headers;
}

/** The payload as text; a Bedrock `chunk` (`{"bytes": base64}`) as the model event it carries. */
function payloadText(payload: Uint8Array): string {
  const text = utf8.decode(payload);
  if (!text.startsWith('{"bytes"') && !text.startsWith('{ "bytes"')) return text;
  try {
    const outer = JSON.parse(text) as { bytes?: unknown };
    if (typeof outer.bytes !== 'string') return text;
    return utf8.decode(bytesFromBase64(outer.bytes));
  } catch {
    return text;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib computes it), which the event stream's checksums are. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
