import zlib from 'node:zlib';
import { headerValue, type RawHeaders } from '../../app/proxy-events.js';

export type Decodable = 'gzip' | 'deflate' | 'br';

/** The Content-Encoding of a body when it is one the host can undo; undefined for identity or none. */
export function contentEncodingOf(headers: RawHeaders | undefined): string | undefined {
  const encoding = headerValue(headers, 'content-encoding')?.trim().toLowerCase();
  return encoding && encoding !== 'identity' ? encoding : undefined;
}

export function isDecodable(encoding: string): encoding is Decodable {
  return encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate' || encoding === 'br';
}

export interface DecodeResult {
  readonly bytes: Buffer;
  /** Why decoding stopped before the end; the bytes before that point are in `bytes`. */
  readonly error?: string;
}

/**
 * Decodes a captured body for display. The capture may end mid-stream (still open, or truncated
 * by a cap), so the decoder flushes what it has instead of failing on a missing trailer, and a
 * corrupt stream yields what decoded before the damage plus the error.
 */
export function decodeBody(encoded: Buffer, encoding: Decodable | 'x-gzip'): Promise<DecodeResult> {
  if (encoding === 'deflate') {
    // "deflate" is meant to be zlib-wrapped, but servers often send raw deflate; the first byte tells.
    const zlibWrapped = encoded.length > 0 && (encoded[0]! & 0x0f) === 8;
    return run(zlibWrapped ? zlib.createInflate(SYNC) : zlib.createInflateRaw(SYNC), encoded);
  }
  if (encoding === 'br') {
    return run(zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }), encoded);
  }
  return run(zlib.createGunzip(SYNC), encoded);
}

const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

function run(decoder: zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress, input: Buffer) {
  return new Promise<DecodeResult>((resolve) => {
    const parts: Buffer[] = [];
    decoder.on('data', (part: Buffer) => parts.push(part));
    decoder.once('end', () => resolve({ bytes: Buffer.concat(parts) }));
    decoder.once('error', (err) => resolve({ bytes: Buffer.concat(parts), error: err.message }));
    decoder.end(input);
  });
}

/**
 * A body as it was before its Content-Encoding (`encoding`, from `contentEncodingOf`): decoded
 * bytes and any error on the way, or only an error for an encoding the host cannot undo. Display
 * (`body.read` with `decoded`) and HAR export both read bodies through this.
 */
export async function undoEncoding(raw: Buffer, encoding: string): Promise<DecodeResult | { readonly error: string }> {
  if (!isDecodable(encoding)) return { error: `cannot decode Content-Encoding ${encoding}` };
  return decodeBody(raw, encoding);
}
