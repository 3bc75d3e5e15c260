import { maxHeaderSize } from 'node:http';
import { contentLengthValue, distinctValues } from '../../app/http-headers.js';
import type { RawHeaders, ResponseHead } from '../../app/proxy-events.js';

/** What the parser tells its owner, synchronously, as bytes are fed. */
export interface ResponseParserSink {
  /** The final (non-1xx) response head; the body, if any, follows. */
  onHead(head: ResponseHead): void;
  /** An interim head (100 Continue, 103 Early Hints; not 101, which is final): the final one follows. */
  onInformation?(head: ResponseHead): void;
  /**
   * Body bytes with the framing taken off: views on the buffer that was fed, valid only during
   * the call (the buffer is read into again).
   */
  onBody(piece: Buffer): void;
  /**
   * A chunked body's bytes as they came on the wire, framing and trailers included: once for each
   * fed read that holds any of them, after that read's `onBody` calls and before `onComplete`; a
   * view, valid only during the call. Forwarding these instead of the pieces re-frames nothing.
   */
  onFramed?(span: Buffer): void;
  /** The message is complete; `rest` is what came after it in the same read. */
  onComplete(trailers: RawHeaders, rest: Buffer): void;
}

export class ResponseParseError extends Error {
  readonly code = 'invalid-response';
}

type Framing = 'none' | 'length' | 'chunked' | 'close';

const CRLF = 0x0a;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A chunk-size line: size, optional extensions; longer than this is not a chunk size. */
const MAX_CHUNK_LINE = 4096;
const HEX_DIGITS = /^[0-9A-Fa-f]{1,15}$/;

/**
 * HTTP/1.1 response framing (RFC 9112 §6.3), parsed incrementally over raw reads: the head (and
 * any 1xx heads before it, told apart), then the body as views on the
 * reads themselves, so forwarding it costs no copy. Chunked bodies lose only their framing here;
 * the bytes of each chunk are passed on as they arrive, however the reads split them.
 */
export class ResponseParser {
  private state: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'done' = 'head';
  /** Bytes of an unfinished line (head, chunk size, trailers) carried to the next read. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private framing: Framing = 'none';
  /** Body or current chunk bytes still to come. */
  private remaining = 0;
  private headLines: string[] = [];
  private trailerLines: string[] = [];
  private trailers: RawHeaders = [];
  keepAlive = false;
  /** The upstream's `Keep-Alive` field, so the connection pool can honour its timeout. */
  keepAliveHint: string | undefined;

  constructor(
    /** HEAD responses have no body whatever their fields say. */
    private readonly headRequest: boolean,
    private readonly sink: ResponseParserSink,
  ) {}

  get complete(): boolean {
    return this.state === 'done';
  }

  /** A body that ends when the connection does. */
  get endsAtClose(): boolean {
    return this.framing === 'close' && this.state === 'body';
  }

  /** A chunked body is being read: its framing is on the wire between here and its end. */
  private get inChunkedBody(): boolean {
    return this.framing === 'chunked' && this.state !== 'head' && this.state !== 'done';
  }

  /** Feeds one read; throws ResponseParseError on bytes that are not an HTTP/1.x response. */
  feed(data: Buffer): void {
    let at = 0;
    // Where this read's share of a chunked body begins: at once, or after the head it completes.
    let framedFrom = this.inChunkedBody ? 0 : -1;
    let sound = 0;
    try {
      reading: while (at < data.length && this.state !== 'done') {
        sound = at;
        switch (this.state) {
          case 'head':
          case 'trailers':
          case 'chunk-size':
          case 'chunk-end': {
            const nl = data.indexOf(CRLF, at);
            if (nl < 0) {
              this.keepPartialLine(data.subarray(at));
              at = data.length;
              break reading;
            }
            const line = this.takeLine(data.subarray(at, nl));
            at = nl + 1;
            this.onLine(line);
            if (framedFrom < 0 && this.inChunkedBody) framedFrom = at;
            break;
          }
          case 'body':
          case 'chunk-data': {
            const take = this.framing === 'close' ? data.length - at : Math.min(this.remaining, data.length - at);
            const piece = data.subarray(at, at + take);
            at += take;
            this.remaining -= take;
            if (piece.length > 0) this.sink.onBody(piece);
            if (this.framing !== 'close' && this.remaining === 0) {
              if (this.state === 'chunk-data') this.state = 'chunk-end';
              else this.finish([]);
            }
            break;
          }
        }
      }
    } catch (err) {
      // What came before the bytes that broke the framing is the body's: it goes on, then the error.
      if (framedFrom >= 0 && sound > framedFrom) this.sink.onFramed?.(data.subarray(framedFrom, sound));
      throw err;
    }
    if (framedFrom >= 0 && at > framedFrom) this.sink.onFramed?.(data.subarray(framedFrom, at));
    if (this.state === 'done') this.sink.onComplete(this.trailers, data.subarray(at));
  }

  /** The body comes in chunked framing (the upstream's own, which `onFramed` passes on as it is). */
  get chunked(): boolean {
    return this.framing === 'chunked';
  }

  /** The connection ended: completes a body delimited by it, else says what was cut. */
  end(): void {
    if (this.state === 'done') return;
    if (this.endsAtClose) {
      this.finish([]);
      this.sink.onComplete([], Buffer.alloc(0));
      return;
    }
    throw new ResponseParseError(
      this.state === 'head' ? 'the connection closed before a response head' : 'the connection closed mid-body',
    );
  }

  private finish(trailers: RawHeaders): void {
    this.trailers = trailers;
    this.state = 'done';
  }

  private keepPartialLine(part: Buffer): void {
    this.pendingBytes += part.length;
    const limit = this.state === 'head' || this.state === 'trailers' ? maxHeaderSize : MAX_CHUNK_LINE;
    if (this.pendingBytes > limit) {
      throw new ResponseParseError(
        this.state === 'chunk-size' || this.state === 'chunk-end'
          ? 'a chunk-size line is too long'
          : `the response head is larger than ${limit} bytes`,
      );
    }
    // Copied: the read buffer is reused once this call returns.
    this.pending.push(Buffer.from(part));
  }

  /** The line's text without its CR, including any part carried from earlier reads. */
  private takeLine(tail: Buffer): string {
    let bytes = tail;
    if (this.pending.length > 0) {
      bytes = Buffer.concat([...this.pending, tail]);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    return bytes.toString('latin1', 0, end);
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'head':
        if (line !== '') {
          this.headLines.push(line);
          if (this.headLines.length === 1 && !STATUS_LINE.test(line)) {
            throw new ResponseParseError(`not an HTTP/1.x status line: ${JSON.stringify(line.slice(0, 80))}`);
          }
          return;
        }
        if (this.headLines.length === 0) return; // Tolerated: blank lines before a status line.
        this.onHeadComplete();
        return;
      case 'chunk-size':
        this.onChunkSize(line);
        return;
      case 'chunk-end':
        if (line !== '') throw new ResponseParseError('a chunk is longer than its size said');
        this.state = 'chunk-size';
        return;
      case 'trailers':
        if (line !== '') {
          this.trailerLines.push(line);
          return;
        }
        this.finish(parseFields(this.trailerLines));
        return;
      default:
        return;
    }
  }

  private onHeadComplete(): void {
    const [statusLine = '', ...fieldLines] = this.headLines;
    this.headLines = [];
    const match = STATUS_LINE.exec(statusLine)!;
    const minor = match[1]!;
    const status = Number(match[2]);
    const headers = parseFields(fieldLines);
    const head: ResponseHead = { status, statusText: match[3] ?? '', httpVersion: `1.${minor}`, headers };
    if (status >= 100 && status < 200 && status !== 101) {
      this.sink.onInformation?.(head);
      return;
    }
    this.framing = framingOf(head, this.headRequest);
    this.keepAlive = keepsAlive(head) && this.framing !== 'close';
    this.keepAliveHint = fieldValue(headers, 'keep-alive');
    if (this.framing === 'length') this.remaining = contentLength(headers);
    this.sink.onHead(head);
    if (this.framing === 'none' || (this.framing === 'length' && this.remaining === 0)) this.finish([]);
    else this.state = this.framing === 'chunked' ? 'chunk-size' : 'body';
  }

  private onChunkSize(line: string): void {
    const semicolon = line.indexOf(';');
    const size = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
    if (!HEX_DIGITS.test(size)) throw new ResponseParseError(`not a chunk size: ${JSON.stringify(line.slice(0, 40))}`);
    this.remaining = parseInt(size, 16);
    this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
  }
}

function parseFields(lines: string[]): RawHeaders {
  const fields: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name)) {
      throw new ResponseParseError(
        line.startsWith(' ') || line.startsWith('\t')
          ? 'a header field is folded over lines (obsolete line folding)'
          : `not a header field: ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    fields.push([name, line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** A field's values joined (`name` lowercase); read once per head for each of a few fields, so no arrays. */
function fieldValue(headers: RawHeaders, name: string): string | undefined {
  let joined: string | undefined;
  for (const [n, v] of headers) {
    if (n.length === name.length && n.toLowerCase() === name) joined = joined === undefined ? v : `${joined}, ${v}`;
  }
  return joined;
}

function framingOf(head: ResponseHead, headRequest: boolean): Framing {
  if (headRequest || head.status === 204 || head.status === 304 || head.status === 101) return 'none';
  const te = fieldValue(head.headers, 'transfer-encoding');
  if (te !== undefined) {
    const codings = te.toLowerCase().split(',');
    return codings[codings.length - 1]!.trim() === 'chunked' ? 'chunked' : 'close';
  }
  return fieldValue(head.headers, 'content-length') === undefined ? 'close' : 'length';
}

function contentLength(headers: RawHeaders): number {
  const field = fieldValue(headers, 'content-length') ?? '';
  const length = contentLengthValue(field);
  if (length === undefined) {
    throw new ResponseParseError(`an invalid Content-Length: ${JSON.stringify(distinctValues(field))}`);
  }
  return length;
}

function keepsAlive(head: ResponseHead): boolean {
  const connection = (fieldValue(head.headers, 'connection') ?? '').toLowerCase();
  const tokens = connection.split(',').map((t) => t.trim());
  if (tokens.includes('close')) return false;
  return head.httpVersion === '1.1' || tokens.includes('keep-alive');
}
