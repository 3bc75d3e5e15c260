import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../../app/error-message.js';
import type { RawHeaders, ResponseHead } from '../../app/proxy-events.js';
import { ResponseParser, type ResponseParserSink } from './h1-response-parser.js';
import { attachRawReader, detachRawReader, type RawReader } from './raw-reads.js';

/** What a raw response tells the exchange it belongs to. */
export interface RawResponseOwner {
  /** The final head: forward it and start pumping `body`; its first pieces follow at once. */
  onRawHead(head: ResponseHead, body: RawResponse): void;
  /** The upstream's bytes are not an HTTP/1.x response, or it closed mid-body. */
  onRawFailed(message: string): void;
  /** An interim (1xx) head came before the final one. */
  onRawInformation?(head: ResponseHead): void;
}

/**
 * The response is over: whether its connection may carry another request, and for how long;
 * `rest` is what came after it in the same read (a view on it, valid only during the call): after
 * a `101`, the new protocol's first bytes.
 */
export type RawResponseDone = (reusable: boolean, keepAliveHint: string | undefined, rest: Buffer) => void;

/**
 * One upstream HTTP/1.1 response read straight off its socket: framing parsed on the side, body
 * bytes passed on as views on the read buffers (a pump source, `data` carrying the buffer lent),
 * with no parser copy, no IncomingMessage and no per-read allocation. A socket not made for raw
 * reads is read through its `data` events instead (each a buffer of its own, nothing lent).
 */
export class RawResponse extends EventEmitter implements RawReader, ResponseParserSink {
  readableEnded = false;
  trailers: RawHeaders = [];
  headSeen = false;
  /** Bytes read so far: none at all means the server closed without answering (a stale connection). */
  received = 0;
  private readonly parser: ResponseParser;
  private loan: Buffer | undefined;
  private done = false;
  /** Read through `data` events: the socket was not made for raw reads. */
  private viaEvents = false;
  /** The body goes on in its wire framing: `data` carries each read's span and the pieces in it. */
  private framed = false;
  /** The body's pieces of the read being parsed, when framed. */
  private framedPieces: Buffer[] = [];

  private constructor(
    private readonly socket: Duplex,
    headRequest: boolean,
    private readonly owner: RawResponseOwner,
    private readonly onDone: RawResponseDone,
  ) {
    super();
    this.parser = new ResponseParser(headRequest, this);
  }

  /** Reads the response to the request just sent on `socket`. */
  static attach(socket: Duplex, headRequest: boolean, owner: RawResponseOwner, onDone: RawResponseDone): RawResponse {
    const response = new RawResponse(socket, headRequest, owner, onDone);
    if (!attachRawReader(socket, response)) {
      response.viaEvents = true;
      socket.on('data', response.onData);
    }
    socket.on('end', response.onEnd);
    return response;
  }

  onBytes(piece: Buffer, buffer: Buffer | undefined): void {
    if (this.done) return;
    this.received += piece.length;
    this.loan = buffer;
    try {
      this.parser.feed(piece);
    } catch (err) {
      this.fail(err);
    } finally {
      this.loan = undefined;
    }
  }

  onHead(head: ResponseHead): void {
    this.headSeen = true;
    this.owner.onRawHead(head, this);
  }

  onInformation(head: ResponseHead): void {
    this.owner.onRawInformation?.(head);
  }

  /** The body comes chunked: `forwardFramed` can pass its framing on untouched. */
  get chunked(): boolean {
    return this.parser.chunked;
  }

  /**
   * From now on each `data` is the read's span of the chunked body as it came on the wire (chunk
   * sizes, extensions, trailers and all), with the body's own pieces within it as a third argument
   * (views on the same bytes): the client gets the upstream's chunks exactly, and nothing is framed
   * twice. Only for a chunked body, asked for when its head comes.
   */
  forwardFramed(): void {
    this.framed = true;
  }

  onBody(piece: Buffer): void {
    if (this.framed) this.framedPieces.push(piece);
    else this.emit('data', piece, this.loan);
  }

  onFramed(span: Buffer): void {
    if (!this.framed) return;
    const pieces = this.framedPieces;
    this.framedPieces = [];
    this.emit('data', span, this.loan, pieces);
  }

  onComplete(trailers: RawHeaders, rest: Buffer): void {
    this.trailers = trailers;
    this.detach();
    this.socket.resume();
    // Bytes past the end of the response were not asked for: the connection cannot be trusted again.
    this.onDone(this.parser.keepAlive && rest.length === 0, this.parser.keepAliveHint, rest);
    this.readableEnded = true;
    this.emit('end');
  }

  pause(): this {
    if (!this.done) this.socket.pause();
    return this;
  }

  resume(): this {
    if (!this.done) this.socket.resume();
    return this;
  }

  /** Stops reading for this response (it is over, or the exchange ended): the socket's bytes come as `data` again. */
  detach(): void {
    this.done = true;
    if (this.viaEvents) this.socket.off('data', this.onData);
    else detachRawReader(this.socket, this);
    this.socket.off('end', this.onEnd);
  }

  private readonly onData = (piece: Buffer): void => {
    this.onBytes(piece, undefined);
  };

  private readonly onEnd = (): void => {
    if (this.done) return;
    if (this.received === 0) {
      // Closed without a byte of answer: the request's own close handling says so (and may retry).
      this.detach();
      return;
    }
    try {
      this.parser.end();
    } catch (err) {
      this.fail(err);
    }
  };

  private fail(err: unknown): void {
    this.detach();
    this.owner.onRawFailed(errorMessage(err));
  }
}
