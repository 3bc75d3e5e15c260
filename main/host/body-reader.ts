import type { BodyRange } from '../../app/contract.js';
import type { Direction } from '../../app/proxy-events.js';
import type { CapturedBody } from '../har/body-text.js';
import type { CaptureArchive } from './capture-archive.js';
import { contentEncodingOf, undoEncoding } from './body-decoder.js';
import type { BodyReadRequest } from './request-checks.js';

/** What the reader needs of the capture: a body's bytes as captured, and its headers. */
export type BodySource = Pick<CaptureArchive, 'readBody' | 'headersOf'>;

/**
 * Reads captured bodies (in memory, spilled, stored or imported: the archive knows where) and
 * undoes their Content-Encoding: for `body.read`, for the HAR export and for the body search.
 */
export class BodyReader {
  constructor(private readonly source: BodySource) {}

  /**
   * `body.read`: bytes as forwarded, or with `decoded` the Content-Encoding undone (gzip, deflate,
   * br), in which case the whole capture is decoded and `start`/`end` slice the decoded bytes.
   */
  async read({ id, direction, start, end, decoded }: BodyReadRequest): Promise<BodyRange | null> {
    const encoding = decoded ? contentEncodingOf(await this.source.headersOf(id, direction)) : undefined;
    // Decoding needs the body from its first byte; a plain read only the range asked for.
    const range = await this.source.readBody(id, direction, encoding ? undefined : start, encoding ? undefined : end);
    if (!range) return null;
    const from = start ?? 0;
    const answer: Omit<BodyRange, 'base64'> = {
      id,
      direction,
      start: from,
      captured: range.captured,
      ...(range.limited ? { limited: range.limited } : {}),
    };
    if (!encoding) return { ...answer, base64: range.bytes.toString('base64') };
    const result = await undoEncoding(range.bytes, encoding);
    const bytes = 'bytes' in result ? result.bytes : Buffer.alloc(0);
    return {
      ...answer,
      base64: bytes.subarray(from, end ?? bytes.length).toString('base64'),
      decoded: { encoding, decodedSize: bytes.length, ...(result.error ? { error: result.error } : {}) },
    };
  }

  /**
   * A captured body with its Content-Encoding undone where possible: whole for export, or its
   * first `upTo` bytes as captured (decoded as far as they go).
   */
  async captured(id: number, direction: Direction, upTo?: number): Promise<CapturedBody | undefined> {
    const range = await this.source.readBody(id, direction, undefined, upTo);
    if (!range) return undefined;
    const raw = range.bytes;
    const limited = range.limited ? { limited: range.limited } : {};
    const encoding = contentEncodingOf(await this.source.headersOf(id, direction));
    if (!encoding || raw.length === 0) return { raw, ...limited };
    const result = await undoEncoding(raw, encoding);
    if (!('bytes' in result) || (result.error && result.bytes.length === 0)) {
      return { raw, decodeError: result.error, ...limited };
    }
    return { raw, decoded: result.bytes, ...(result.error ? { decodeError: result.error } : {}), ...limited };
  }
}
