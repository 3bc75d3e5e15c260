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
}

/**
 * One upstream HTTP/1.1 response read straight off its socket: framing parsed on the side, body
 * bytes passed on as views on the read buffers (a pump source, `data` carrying the buffer lent),
 * with no parser copy, no IncomingMessage and no per-read allocation. Node's client still sends
 * the request and owns the connection; when the response is complete it is handed a bodiless
 * response of the same keep-alive standing, so it pools or closes the socket as it always does.
 */
export class RawResponse extends EventEmitter implements RawReader, ResponseParserSink {
  readableEnded = false;
  trailers: RawHeaders = [];
  headSeen = false;
  private readonly parser: ResponseParser;
  private loan: Buffer | undefined;
  private done = false;

  private constructor(
    private readonly socket: Duplex,
    headRequest: boolean,
    private readonly owner: RawResponseOwner,
  ) {
    super();
    this.parser = new ResponseParser(headRequest, this);
  }

  /** Reads the response to the request just sent on `socket` raw, if the socket allows it. */
  static attach(socket: Duplex, headRequest: boolean, owner: RawResponseOwner): RawResponse | undefined {
    const response = new RawResponse(socket, headRequest, owner);
    if (!attachRawReader(socket, response)) return undefined;
    // Before Node's client hears of the end, so that a body the close delimits is complete first.
    socket.prependListener('end', response.onEnd);
    return response;
  }

  onBytes(piece: Buffer, buffer: Buffer): void {
    if (this.done) return;
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

  onBody(piece: Buffer): void {
    this.emit('data', piece, this.loan);
  }

  onComplete(trailers: RawHeaders, rest: Buffer): void {
    this.trailers = trailers;
    this.detach();
    // Bytes past the end of the response were not asked for: the connection cannot be trusted again.
    const keepAlive = this.parser.keepAlive && rest.length === 0;
    this.socket.resume();
    this.socket.emit('data', Buffer.from(bodilessResponse(keepAlive, this.parser.keepAliveHint), 'latin1'));
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

  /** Stops reading for this response (the exchange ended); the socket is Node's again. */
  detach(): void {
    this.done = true;
    detachRawReader(this.socket, this);
    this.socket.off('end', this.onEnd);
  }

  private readonly onEnd = (): void => {
    if (this.done) return;
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

function bodilessResponse(keepAlive: boolean, keepAliveHint: string | undefined): string {
  const fields = keepAlive
    ? keepAliveHint === undefined
      ? ''
      : `Keep-Alive: ${keepAliveHint}\r\n`
    : 'Connection: close\r\n';
  return `HTTP/1.1 204 No Content\r\n${fields}\r\n`;
}
