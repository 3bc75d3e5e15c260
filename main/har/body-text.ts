import { isUtf8 } from 'node:buffer';

/** One body as captured, with its Content-Encoding undone where the host could. */
export interface CapturedBody {
  /** The bytes captured, as forwarded (still content-encoded). */
  readonly raw: Buffer;
  /** `raw` decoded, when it had a Content-Encoding the host can undo. */
  readonly decoded?: Buffer;
  /** Why the Content-Encoding could not be undone (unknown coding, corrupt data). */
  readonly decodeError?: string;
  /** Why capture stopped before the body ended, when it did. */
  readonly limited?: string;
}

/** How a body goes into HAR: the bytes to write and whether as base64 (not UTF-8) or as text. */
export interface BodyPayload {
  readonly bytes: Buffer;
  readonly base64: boolean;
}

/**
 * The decoded bytes as text when they are UTF-8, otherwise as base64. A body cut short (a cap,
 * still arriving) may end inside a character: those last bytes are left out of the text.
 */
export function bodyPayload(body: CapturedBody, partial: boolean): BodyPayload {
  const bytes = body.decoded ?? body.raw;
  if (isUtf8(bytes)) return { bytes, base64: false };
  const whole = partial ? completeCharacters(bytes) : undefined;
  return whole === undefined ? { bytes, base64: true } : { bytes: bytes.subarray(0, whole), base64: false };
}

/** The payload as one string, for an entry built in memory. */
export function payloadText(payload: BodyPayload): string {
  return payload.base64 ? payload.bytes.toString('base64') : payload.bytes.toString('utf8');
}

/** Bytes per piece when streaming: a multiple of 3, so base64 pieces join without padding. */
const PIECE = 3 * 21_846;

/**
 * Writes the payload as the inside of a JSON string, piece by piece, so a body of any size
 * never becomes one string (a 60 MB body would otherwise be held three times over).
 */
export async function writePayload(payload: BodyPayload, write: (text: string) => Promise<void>): Promise<void> {
  const { bytes } = payload;
  const decoder = new TextDecoder('utf-8');
  for (let at = 0; at < bytes.length; at += PIECE) {
    const piece = bytes.subarray(at, at + PIECE);
    // Base64 has nothing JSON must escape; text does (quotes, control characters).
    await write(
      payload.base64 ? piece.toString('base64') : JSON.stringify(decoder.decode(piece, { stream: true })).slice(1, -1),
    );
  }
}

/** The length of `bytes` without an incomplete character at its end, when the rest is UTF-8. */
function completeCharacters(bytes: Buffer): number | undefined {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: the lead is further back
    const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    const end = bytes.length - back;
    return needs > back && isUtf8(bytes.subarray(0, end)) ? end : undefined;
  }
  return undefined;
}
