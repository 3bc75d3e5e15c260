import {
  headerValue,
  type CaptureLimitReason,
  type Direction,
  type ExchangeOutcome,
  type ProxyEvent,
  type RawHeaders,
  type RequestHead,
  type ResponseHead,
} from '../../app/proxy-events.js';
import { errorMessage } from '../../app/error-message.js';
import { contentLengthValue } from '../../app/http-headers.js';
import { now } from '../clock.js';
import type { EventHub } from '../event-hub.js';
import { readBuffers } from '../read-buffers.js';
import { BodyCapture, type CaptureBudget, type CapturedRange } from './body-capture.js';
import { DeferredObservations, type ChunkObserver } from './deferred-observations.js';
import { RpcTracker } from './rpc-tracker.js';
import { SseTracker } from './sse-tracker.js';
import { WebSocketTracker } from './websocket-tracker.js';

/** One chunk of a body, told to the observe path once its write was handed to the other side. */
export interface FlushedChunk {
  readonly direction: Direction;
  /** The bytes as written; they may lie in a lent read buffer, so whatever keeps them copies them. */
  readonly bytes: Buffer;
  /** Position of the chunk among its body's chunks, from 0. */
  readonly index: number;
  /** Where in the body its bytes begin. */
  readonly offset: number;
  readonly readAt: number;
  readonly flushedAt: number;
}

/**
 * The observe path. Told about each chunk after it was handed to the other side, it announces
 * the chunk, keeps a bounded copy and parses event streams, once the forwarding of that turn of
 * the event loop is done (DeferredObservations). It holds no reference to sockets and nothing it
 * does can delay a write.
 */
export class Recorder {
  private readonly captures = new Map<number, ExchangeCapture>();
  private readonly deferred = new DeferredObservations();
  private enabled = true;

  constructor(
    private readonly hub: EventHub,
    private readonly budget: CaptureBudget,
  ) {
    hub.flushBeforeEmit(() => this.deferred.drain());
  }

  /** Body copies, SSE and WebSocket parsing stop for new exchanges while disabled; events still flow. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  open(id: number, options: { copyBodies?: boolean } = {}): ExchangeCapture {
    const capture = new ExchangeCapture(
      id,
      this.hub,
      this.budget,
      this.deferred,
      this.enabled && (options.copyBodies ?? true),
      this.enabled,
    );
    this.captures.set(id, capture);
    return capture;
  }

  async readBody(id: number, direction: Direction, start?: number, end?: number): Promise<CapturedRange | undefined> {
    this.deferred.drain();
    return this.captures.get(id)?.body(direction)?.read(start, end);
  }

  /** A body copied now when it is all in memory (`BodyCapture.copyHeld`); undefined when it is not kept. */
  readHeld(id: number, direction: Direction, max: number): CapturedRange | 'elsewhere' | undefined {
    this.deferred.drain();
    return this.captures.get(id)?.body(direction)?.copyHeld(max);
  }

  /** Forgets one exchange's capture (its host stopped showing it) and frees its memory and spill files. */
  forget(id: number): void {
    this.deferred.drain();
    this.captures.get(id)?.dispose();
    this.captures.delete(id);
  }

  /** Forgets every capture and frees its memory and spill files. */
  clear(): void {
    this.deferred.drain();
    for (const capture of this.captures.values()) capture.dispose();
    this.captures.clear();
  }
}

export class ExchangeCapture implements ChunkObserver {
  private readonly request: BodyCapture | undefined;
  private readonly response: BodyCapture | undefined;
  private sse: SseTracker | undefined;
  private websocket: WebSocketTracker | undefined;
  private rpc: RpcTracker | undefined;

  constructor(
    readonly id: number,
    private readonly hub: EventHub,
    budget: CaptureBudget,
    private readonly deferred: DeferredObservations,
    private readonly copyBodies: boolean,
    /** Parse streams (WebSocket frames) even where bodies are not copied, as for a bridge. */
    private readonly parseStreams = copyBodies,
  ) {
    if (copyBodies) {
      this.request = new BodyCapture(budget, `${id}-request.bin`, (r, at) => this.limited('request', r, at));
      this.response = new BodyCapture(budget, `${id}-response.bin`, (r, at) => this.limited('response', r, at));
    }
  }

  body(direction: Direction): BodyCapture | undefined {
    return direction === 'request' ? this.request : this.response;
  }

  /** Starts parsing the response as an event stream. */
  trackEventStream(contentEncoding: string | undefined): void {
    this.deferred.drain();
    if (!this.copyBodies) return;
    this.sse = new SseTracker(this.id, contentEncoding, this.emit, (reason) => this.limited('response', reason, -1));
  }

  /**
   * Starts parsing both directions as WebSocket frames; called when the 101 was forwarded, with
   * its `Sec-WebSocket-Extensions`. Bytes the upgrade carried along arrive through `onWebSocketBytes`.
   */
  trackWebSocket(extensions: string | undefined): void {
    this.deferred.drain();
    if (!this.parseStreams) return;
    this.websocket = new WebSocketTracker(this.id, extensions, this.emit, (direction, at) =>
      this.limited(direction, 'websocket-frames', at),
    );
  }

  /** The request head was forwarded: a gRPC, gRPC-Web or Connect call gets its messages framed. */
  onRequestHead(request: RequestHead): void {
    this.deferred.drain();
    if (!this.copyBodies) return;
    this.request?.expectLength(declaredLength(request.headers));
    this.rpcSafely(() => {
      this.rpc = RpcTracker.forRequest(this.id, request, this.emit, (direction, atOffset, detail) =>
        this.limited(direction, 'rpc-frames', atOffset, detail),
      );
    });
  }

  onResponseHead(response: ResponseHead, at: number): void {
    this.deferred.drain();
    this.response?.expectLength(declaredLength(response.headers));
    if (this.rpc) this.rpcSafely(() => this.rpc?.onResponseHead(response, at));
  }

  /** Trailers that ended the response (HTTP/2, or a chunked HTTP/1.1 body). */
  onResponseTrailers(fields: RawHeaders, at: number): void {
    this.deferred.drain();
    if (this.rpc) this.rpcSafely(() => this.rpc?.onResponseTrailers(fields, at));
  }

  /** Bytes forwarded outside the pumps (those that came with the upgrade itself), for the frame parser. */
  onWebSocketBytes(direction: Direction, bytes: Buffer, at: number): void {
    this.deferred.drain();
    this.websocket?.onBytes(direction, bytes, at);
  }

  /**
   * Bytes in a lent read buffer are looked at now, before the pump gives the buffer back for
   * reuse (a bulk read: deferring it would make the next read take a fresh buffer); all others once
   * this turn's forwarding is done, in order.
   */
  onFlushed(chunk: FlushedChunk): void {
    if (readBuffers.held(chunk.bytes)) {
      this.deferred.drain();
      this.observe(chunk);
    } else {
      this.deferred.defer(this, chunk);
    }
  }

  observe({ direction, bytes, index, offset, readAt, flushedAt }: FlushedChunk): void {
    // Checked before the event is built, not inside `emit`: this runs for every chunk forwarded.
    if (this.hub.active) {
      this.hub.emit({ type: 'chunk', id: this.id, direction, offset, size: bytes.length, readAt, flushedAt, index });
    }
    this.body(direction)?.append(bytes);
    if (direction === 'response') this.sse?.onChunk(bytes, index, readAt);
    this.websocket?.onBytes(direction, bytes, readAt);
    if (this.rpc) this.rpcSafely(() => this.rpc?.onChunk(direction, bytes, index, offset, flushedAt));
  }

  /** The exchange is over; parsing ends, copies stay readable until cleared. */
  finish(outcome: ExchangeOutcome): void {
    this.deferred.drain();
    this.sse?.end();
    if (this.rpc) this.rpcSafely(() => this.rpc?.end(outcome, now()));
    this.rpc = undefined;
    this.request?.finish();
    this.response?.finish();
    this.websocket = undefined;
  }

  dispose(): void {
    this.deferred.drain();
    this.sse?.end();
    this.websocket = undefined;
    this.rpc = undefined;
    this.request?.dispose();
    this.response?.dispose();
  }

  /**
   * Runs the RPC tracker, called from the forwarding code's own calls (heads, write callbacks):
   * a fault in it must cost the call's messages, never the stream, so it stops tracking with a note.
   */
  private rpcSafely(step: () => void): void {
    try {
      step();
    } catch (err) {
      this.rpc = undefined;
      this.limited('response', 'rpc-frames', -1, `Sluice stopped reading this call's messages: ${errorMessage(err)}`);
    }
  }

  private limited(direction: Direction, reason: CaptureLimitReason, atOffset: number, detail?: string): void {
    const event = { type: 'capture-limited' as const, id: this.id, direction, t: now(), reason, atOffset };
    this.emit(detail === undefined ? event : { ...event, detail });
  }

  /** Announces an event to whoever listens; the trackers are handed it as their way out. */
  private readonly emit = (event: ProxyEvent): void => {
    if (this.hub.active) this.hub.emit(event);
  };
}

/** A head's Content-Length, when it has one that is a number of bytes. */
function declaredLength(headers: RawHeaders): number | undefined {
  const field = headerValue(headers, 'content-length');
  return field === undefined ? undefined : contentLengthValue(field);
}
