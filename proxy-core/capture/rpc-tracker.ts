import zlib from 'node:zlib';
import type {
  Direction,
  ExchangeOutcome,
  ProxyEvent,
  RawHeaders,
  RequestHead,
  ResponseHead,
  RpcMessageEvent,
  RpcProtocol,
  RpcStatusEvent,
} from '../../app/proxy-events.js';
import { headerValue } from '../../app/proxy-events.js';
import {
  isJsonCodec,
  rpcCallOf,
  rpcCodeOfHttpStatus,
  rpcFramingOf,
  statusFromConnectJson,
  statusFromFields,
  rpcStatus,
} from '../../app/rpc-calls.js';
import { parseTrailerLines, RpcFramer, type RpcFrame } from './grpc-framer.js';

/** Payload bytes kept per message for display; the rest is counted and marked truncated. */
export const MAX_RPC_MESSAGE_BYTES = 1024 * 1024;
/**
 * Output past this for one message is not decompressed. It runs synchronously on the proxy's
 * thread (after the bytes were written, but before other streams' next reads), so it is kept to
 * gRPC's default message limit: a few milliseconds at most, and a gzip bomb costs no more.
 */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;

/** One direction's body, framed (gRPC, gRPC-Web, Connect streaming) or whole (Connect unary, errors). */
interface Side {
  readonly framer: RpcFramer | undefined;
  /** The message encoding its sender declared (`grpc-encoding`, `connect-content-encoding`, ...). */
  readonly encoding: string | undefined;
  readonly json: boolean;
  /** A whole body kept for one message or a JSON error: copies, at most the display cap. */
  readonly whole: Buffer[] | undefined;
  wholeBytes: number;
  wireBytes: number;
  firstChunk: number;
  lastChunk: number;
  lastFlushedAt: number;
  /** The whole body was reported (as a message or a status). */
  done: boolean;
}

type Report = (direction: Direction, atOffset: number, detail: string) => void;

/**
 * The messages of one gRPC, gRPC-Web or Connect call, from the bytes each direction forwarded,
 * and its status from wherever the protocol puts it. It sees copies of what was already written
 * (or views it copies from), so a slow or failed parse costs display only, never the stream.
 */
export class RpcTracker {
  private readonly sides: Partial<Record<Direction, Side>> = {};
  private responseStatus = 0;
  private status: RpcStatusEvent | undefined;

  private constructor(
    private readonly id: number,
    private readonly protocol: RpcProtocol,
    private readonly emit: (event: ProxyEvent) => void,
    private readonly report: Report,
    private readonly maxMessageBytes: number,
  ) {}

  /** A tracker when the request is an RPC call, with its request side started. */
  static forRequest(
    id: number,
    request: RequestHead,
    emit: (event: ProxyEvent) => void,
    report: Report,
    maxMessageBytes = MAX_RPC_MESSAGE_BYTES,
  ): RpcTracker | undefined {
    const call = rpcCallOf(request);
    if (!call) return undefined;
    const tracker = new RpcTracker(id, call.protocol, emit, report, maxMessageBytes);
    tracker.sides.request = tracker.side(request.headers, request.method !== 'GET');
    return tracker;
  }

  onResponseHead(response: ResponseHead, at: number): void {
    if (response.status < 200) return;
    this.emitUnaryRequest();
    this.responseStatus = response.status;
    const base = { id: this.id, t: at, protocol: this.protocol };
    // Trailers-Only: a call that fails (or ends) at once puts its status in the head.
    if (this.protocol === 'grpc' || this.protocol === 'grpc-web' || this.protocol === 'grpc-web-text') {
      this.status = statusFromFields(base, 'trailers-only', response.headers);
    }
    if (this.status) return;
    this.sides.response = this.side(response.headers, true);
  }

  /** HTTP trailers (HTTP/2, or chunked HTTP/1.1) ended the response. */
  onResponseTrailers(fields: RawHeaders, at: number): void {
    this.status ??= statusFromFields({ id: this.id, t: at, protocol: this.protocol }, 'trailers', fields);
  }

  /** The next bytes of one direction, as forwarded: chunk `index` of its body, at `offset`. */
  onChunk(direction: Direction, bytes: Buffer, index: number, offset: number, flushedAt: number): void {
    const side = this.sides[direction];
    if (!side || side.done) return;
    side.lastChunk = index;
    side.lastFlushedAt = flushedAt;
    if (side.whole) {
      if (side.wireBytes === 0) side.firstChunk = index;
      side.wireBytes += bytes.length;
      const keep = Math.min(bytes.length, this.maxMessageBytes - side.wholeBytes);
      if (keep > 0) {
        // A copy: `bytes` may lie in a read buffer about to be reused.
        side.whole.push(Buffer.from(bytes.subarray(0, keep)));
        side.wholeBytes += keep;
      }
      return;
    }
    const framer = side.framer!;
    if (framer.stopped !== undefined) return;
    for (const frame of framer.feed(bytes, index, flushedAt)) this.onFrame(direction, side, frame);
    if (framer.stopped !== undefined) this.report(direction, offset, framer.stopped);
  }

  /** The exchange is over: reports what was left unfinished and the call's status. */
  end(outcome: ExchangeOutcome, at: number): void {
    this.emitUnaryRequest();
    for (const direction of ['request', 'response'] as const) {
      const side = this.sides[direction];
      const problem = side?.framer?.end();
      if (problem) this.report(direction, -1, problem.note);
    }
    const response = this.sides.response;
    if (response?.whole && !response.done) {
      response.done = true;
      if (this.responseStatus === 200) this.emitWhole('response', response);
      else if (this.protocol === 'connect' || this.protocol === 'connect-unary') {
        this.status = statusFromConnectJson(
          { id: this.id, t: at, protocol: this.protocol },
          'unary-error',
          wholeText(response),
          this.responseStatus,
        );
      }
    }
    if (!this.status && outcome === 'completed' && this.responseStatus > 0) this.status = this.statusOfHttp(at);
    if (this.status) this.emit(this.status);
  }

  private side(headers: RawHeaders, hasBody: boolean): Side | undefined {
    const contentType = headerValue(headers, 'content-type');
    const framing = rpcFramingOf(contentType);
    const failedStatus = this.responseStatus !== 0 && this.responseStatus !== 200;
    const frames = framing !== undefined && !failedStatus;
    if (!frames && !hasBody) return undefined;
    // gRPC-Web and failed responses that carry no frames have nothing for a message view.
    if (!frames && this.protocol !== 'connect-unary' && !(this.protocol === 'connect' && failedStatus)) {
      return undefined;
    }
    // A whole body (Connect unary, or a failed Connect stream's error) is compressed as HTTP bodies are.
    const encodingField = !frames
      ? 'content-encoding'
      : this.protocol === 'connect'
        ? 'connect-content-encoding'
        : 'grpc-encoding';
    return {
      framer: frames ? new RpcFramer(framing, { maxMessageBytes: this.maxMessageBytes }) : undefined,
      encoding: headerValue(headers, encodingField)?.trim().toLowerCase(),
      json: isJsonCodec(contentType),
      whole: frames ? undefined : [],
      wholeBytes: 0,
      wireBytes: 0,
      firstChunk: 0,
      lastChunk: 0,
      lastFlushedAt: 0,
      done: false,
    };
  }

  private onFrame(direction: Direction, side: Side, frame: RpcFrame): void {
    const text = frame.kind !== 'message' || side.json;
    const event = messageEvent(
      this.id,
      direction,
      frame.index,
      frame.kind,
      frame.completedAt,
      text,
      [frame.firstChunk, frame.lastChunk],
      {
        payload: frame.bytes,
        wireBytes: frame.wireBytes,
        truncated: frame.truncated,
        compressed: frame.compressed,
        encoding: side.encoding,
        maxBytes: this.maxMessageBytes,
      },
    );
    if (frame.kind !== 'message') this.statusFromFrame(frame, event);
    this.emit(event);
  }

  /**
   * A gRPC-Web trailer frame or a Connect end-of-stream gives the call its status. The framer reads
   * an uncompressed payload; a compressed one (connect-node compresses any of 1 KiB or more, a long
   * error message say) is read as the event shows it, decompressed.
   */
  private statusFromFrame(frame: RpcFrame, event: RpcMessageEvent): void {
    const base = { id: this.id, t: frame.completedAt, protocol: this.protocol };
    const decompressed = frame.compressed && !event.binary ? event.data : undefined;
    if (frame.kind === 'trailers') {
      const trailers = frame.trailers ?? (decompressed === undefined ? undefined : parseTrailerLines(decompressed));
      if (trailers) this.status ??= statusFromFields(base, 'trailer-frame', trailers);
    } else {
      const json = frame.json ?? decompressed;
      if (json !== undefined) this.status ??= statusFromConnectJson(base, 'end-stream', json);
    }
  }

  /** A Connect unary request is one message, whole once the response begins (or the call ends). */
  private emitUnaryRequest(): void {
    const request = this.sides.request;
    if (!request?.whole || request.done) return;
    request.done = true;
    this.emitWhole('request', request);
  }

  private emitWhole(direction: Direction, side: Side): void {
    const payload = Buffer.concat(side.whole!, side.wholeBytes);
    const compressed = side.encoding !== undefined && side.encoding !== 'identity';
    this.emit(
      messageEvent(this.id, direction, 0, 'message', side.lastFlushedAt, side.json, [side.firstChunk, side.lastChunk], {
        payload,
        wireBytes: side.wireBytes,
        truncated: side.wholeBytes < side.wireBytes,
        compressed,
        encoding: side.encoding,
        maxBytes: this.maxMessageBytes,
      }),
    );
  }

  /**
   * A call whose response carried no status reads as its HTTP status says (gRPC's mapping). A 200
   * is OK only for Connect unary, whose success has no status to carry; a Connect stream that ended
   * without its end-of-stream message is an error to Connect clients too.
   */
  private statusOfHttp(at: number): RpcStatusEvent {
    const ok = this.responseStatus === 200 && this.protocol === 'connect-unary';
    const code = ok ? 0 : rpcCodeOfHttpStatus(this.responseStatus);
    const message = ok ? undefined : `HTTP ${this.responseStatus}, and no status from the server`;
    return rpcStatus({ id: this.id, t: at, protocol: this.protocol }, 'http-status', code, message, undefined, []);
  }
}

interface Payload {
  readonly payload: Buffer;
  readonly wireBytes: number;
  readonly truncated: boolean;
  readonly compressed: boolean;
  readonly encoding: string | undefined;
  readonly maxBytes: number;
}

function messageEvent(
  id: number,
  direction: Direction,
  index: number,
  kind: RpcMessageEvent['kind'],
  t: number,
  text: boolean,
  chunkRange: readonly [number, number],
  { payload, wireBytes, truncated, compressed, encoding, maxBytes }: Payload,
): RpcMessageEvent {
  let bytes = payload;
  let size = wireBytes;
  let cut = truncated;
  let undecoded: string | undefined;
  if (compressed) {
    const result = decompress(payload, truncated, encoding);
    if (typeof result === 'string') undecoded = result;
    else {
      size = result.length;
      cut = result.length > maxBytes;
      bytes = cut ? result.subarray(0, maxBytes) : result;
    }
  }
  const binary = undecoded !== undefined || !text;
  return {
    type: 'rpc-message',
    id,
    direction,
    index,
    kind,
    t,
    wireBytes,
    size,
    compressed,
    data: binary ? bytes.toString('base64') : bytes.toString('utf8'),
    binary,
    ...(cut ? { truncated: true } : {}),
    ...(undecoded === undefined ? {} : { undecoded }),
    chunkRange,
  };
}

/** A whole body as text, decompressed when its Content-Encoding says so; empty when that fails. */
function wholeText(side: Side): string {
  const body = Buffer.concat(side.whole!, side.wholeBytes);
  if (side.encoding === undefined || side.encoding === 'identity') return body.toString('utf8');
  const result = decompress(body, side.wholeBytes < side.wireBytes, side.encoding);
  return typeof result === 'string' ? '' : result.toString('utf8');
}

/** The payload decompressed, or why it is shown as it came. */
function decompress(payload: Buffer, truncated: boolean, encoding: string | undefined): Buffer | string {
  if (truncated) return 'compressed, and longer than the display cap';
  const options = { maxOutputLength: MAX_INFLATED_BYTES };
  try {
    switch (encoding) {
      case 'gzip':
        return zlib.gunzipSync(payload, options);
      case 'deflate':
        return zlib.inflateSync(payload, options);
      case 'br':
        return zlib.brotliDecompressSync(payload, options);
      case undefined:
      case 'identity':
        return 'the compressed flag is set, but the sender named no encoding';
      default:
        return `compressed with ${encoding}, which Sluice does not decode`;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return `decompresses past ${MAX_INFLATED_BYTES} bytes`;
    return `${encoding} decompression failed: ${(err as Error).message}`;
  }
}
