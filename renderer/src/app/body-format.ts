/** Pure helpers for showing a body: text or binary, pretty JSON, a hex dump, how much of it came. */
import { headerValue, type Direction } from '../../../app/proxy-events.js';
import type { ExchangeView } from '../model/exchange.js';

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    // A capture cut mid-character is still text: only the last 3 bytes may be an incomplete sequence.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if (bytes.length > 3) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, trimmedEnd(bytes)));
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** The end of `bytes` without a trailing incomplete UTF-8 sequence. */
function trimmedEnd(bytes: Uint8Array): number {
  for (let back = 1; back <= 3; back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) !== 0x80) return (byte & 0x80) === 0 ? bytes.length : bytes.length - back;
  }
  return bytes.length;
}

/** Pretty JSON when the text is one JSON value; undefined otherwise. */
export function prettyJson(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed || !'[{"'.includes(trimmed[0]!)) return undefined;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return undefined;
  }
}

/** Classic 16-bytes-per-line dump: offset, hex, printable ASCII. */
export function hexDump(bytes: Uint8Array, maxBytes: number): string {
  const end = Math.min(bytes.length, maxBytes);
  const lines: string[] = [];
  for (let offset = 0; offset < end; offset += 16) {
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      const at = offset + i;
      if (at < end) {
        const byte = bytes[at]!;
        hex += byte.toString(16).padStart(2, '0') + (i === 7 ? '  ' : ' ');
        ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
      } else {
        hex += i === 7 ? '    ' : '   ';
      }
    }
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex} ${ascii}`);
  }
  return lines.join('\n');
}

/** A body short of the length its head announced, both counted as forwarded (still content-encoded). */
export interface Shortfall {
  readonly forwarded: number;
  readonly announced: number;
}

/**
 * How much of a body announced by `Content-Length` was forwarded, when that is less than all of it:
 * still arriving, or cut off when the exchange ended. Undefined without a usable Content-Length,
 * for a body that came whole, and for responses that never carry one (to HEAD, 1xx, 204, 304).
 */
export function bodyShortfall(x: ExchangeView, direction: Direction): Shortfall | undefined {
  if (direction === 'response' && !responseMayHaveBody(x)) return undefined;
  // An exchange that completed had its bodies whole; an imported HAR's Content-Length may still
  // count the encoded bytes of a body the file holds decoded.
  if (x.closed?.outcome === 'completed') return undefined;
  const headers = direction === 'request' ? x.opened.request.headers : x.response?.response.headers;
  const announced = contentLength(headerValue(headers, 'content-length'));
  const forwarded = (direction === 'request' ? x.requestBody : x.responseBody).bytes;
  return announced !== undefined && forwarded < announced ? { forwarded, announced } : undefined;
}

function responseMayHaveBody(x: ExchangeView): boolean {
  const status = x.response?.response.status;
  if (status === undefined || x.opened.request.method === 'HEAD') return false;
  return status >= 200 && status !== 204 && status !== 304;
}

/** A Content-Length as a number; undefined for a missing, malformed or repeated one. */
function contentLength(value: string | undefined): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed || !/^\d+$/.test(trimmed)) return undefined;
  const length = Number(trimmed);
  return Number.isSafeInteger(length) ? length : undefined;
}
