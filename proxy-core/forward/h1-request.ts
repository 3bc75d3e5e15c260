import type { Duplex } from 'node:stream';
import type { RawHeaders } from '../../app/proxy-events.js';
import { keepAliveMs, type H1Connection, type H1Connections } from './h1-connections.js';
import { RawResponse, type RawResponseOwner } from './raw-response.js';

/** What goes on the request line and in the head, fields as a flat raw list (order and case kept). */
export interface H1RequestHead {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly string[];
}

/** What a request tells the exchange it belongs to, besides its response (RawResponseOwner). */
export interface H1RequestOwner extends RawResponseOwner {
  /** Every byte of the request went to the socket. */
  onRequestSent(): void;
  /** The connection failed (or closed unanswered: `ECONNRESET`, "socket hang up") before the exchange was done. */
  onUpstreamError(err: NodeJS.ErrnoException): void;
}

/** Written between a chunk's size line and its data, and after it. */
const CRLF = '\r\n';

/**
 * One HTTP/1.1 request on one upstream connection of ours: the head written as the exchange gives
 * it (no field added or reordered), the body through `write` (framed as its fields say: chunked, or
 * as is), the response read raw. When both are over the connection goes back to its pool, or is
 * closed when the response said so or anything went wrong. A sink for BodyPump.
 */
export class H1Request {
  readonly response: RawResponse;
  private readonly socket: Duplex;
  private readonly chunked: boolean;
  /** Writes handed to the socket whose callbacks have not come yet. */
  private pending = 0;
  private ended = false;
  private sent = false;
  private answered: { reusable: boolean; keepAliveHint: string | undefined } | undefined;
  /** The connection was parked or closed: nothing here concerns it any more. */
  private settled = false;
  /**
   * Who waits for the socket to drain (the request body's pump). Kept here, not on the socket,
   * which outlives this request: a listener left there would keep every exchange it carried.
   */
  private drainListeners: (() => void)[] = [];
  /** The head, until it goes with the body's first bytes (one write for both) or on its own. */
  private head: string | undefined;
  private headTimer: NodeJS.Immediate | undefined;

  constructor(
    private readonly connections: H1Connections,
    private readonly key: string,
    readonly connection: H1Connection,
    head: H1RequestHead,
    private readonly owner: H1RequestOwner,
  ) {
    const socket = connection.socket;
    this.socket = socket;
    this.chunked = isChunked(head.headers);
    this.response = RawResponse.attach(socket, head.method === 'HEAD', owner, this.onAnswered);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // A body that came with the head is written in the ticks after this (an IncomingMessage
    // emits then): the head waits for it, so both leave in one write, but no longer than that.
    this.head = requestHeadText(head);
    this.headTimer = setImmediate(this.flushHead);
  }

  /** Done with its connection (parked or closed): there is nothing left to cancel. */
  get over(): boolean {
    return this.settled;
  }

  get reused(): boolean {
    return this.connection.reused;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  on(_event: 'drain', listener: () => void): this {
    if (this.settled) return this;
    if (this.drainListeners.length === 0) this.socket.on('drain', this.onDrain);
    this.drainListeners.push(listener);
    return this;
  }

  removeListener(_event: 'drain', listener: () => void): this {
    this.drainListeners = this.drainListeners.filter((l) => l !== listener);
    if (this.drainListeners.length === 0) this.socket.off('drain', this.onDrain);
    return this;
  }

  private readonly onDrain = (): void => {
    for (const listener of this.drainListeners) listener();
  };

  write(chunk: Buffer, callback: (err?: Error | null) => void): boolean {
    if (this.settled || this.ended) {
      process.nextTick(callback, new Error('the upstream request is over'));
      return true;
    }
    this.pending++;
    const done = (err?: Error | null): void => {
      callback(err);
      this.onWritten(err);
    };
    if (this.chunked && chunk.length === 0) {
      // An empty chunk would end a chunked body: there is nothing to send.
      process.nextTick(done);
      return true;
    }
    const socket = this.socket;
    socket.cork();
    this.flushHead();
    let ok: boolean;
    if (this.chunked) {
      socket.write(`${chunk.length.toString(16)}${CRLF}`, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF, 'latin1', done);
    } else ok = socket.write(chunk, done);
    socket.uncork();
    return ok;
  }

  /** The body is complete; `trailers` go after a chunked one (an unchunked body has no place for them). */
  end(trailers: RawHeaders = []): void {
    if (this.ended || this.settled) return;
    this.ended = true;
    const last = this.chunked ? lastChunk(trailers) : '';
    if (this.head !== undefined) {
      // One write for a bodiless request's head (and a chunked one's last chunk).
      const text = this.head + last;
      this.head = undefined;
      clearImmediate(this.headTimer);
      this.pending++;
      this.socket.write(text, 'latin1', this.onWritten);
    } else if (last) {
      this.pending++;
      this.socket.write(last, 'latin1', this.onWritten);
    } else if (this.pending === 0) process.nextTick(this.onWritten);
  }

  /**
   * Gives the connection up: closed, whatever state the request is in. With `err`, the exchange
   * is told as if the connection had failed so (a timeout of ours).
   */
  destroy(err?: NodeJS.ErrnoException): void {
    if (this.settled) return;
    this.settle(false);
    if (err) this.owner.onUpstreamError(err);
  }

  /** The exchange is over: a connection not yet back in its pool cannot be trusted with another request. */
  release(): void {
    if (!this.settled) this.settle(false);
  }

  /** Writes the head if it has not gone yet (the body is slow to come, or is coming now). */
  private readonly flushHead = (): void => {
    const head = this.head;
    if (head === undefined || this.settled) return;
    this.head = undefined;
    clearImmediate(this.headTimer);
    this.pending++;
    this.socket.write(head, 'latin1', this.onWritten);
  };

  private readonly onWritten = (err?: Error | null): void => {
    if (this.pending > 0) this.pending--;
    if (err || this.sent || !this.ended || this.pending > 0) return;
    this.sent = true;
    if (this.settled) return;
    this.owner.onRequestSent();
    this.settleWhenDone();
  };

  private readonly onAnswered = (reusable: boolean, keepAliveHint: string | undefined): void => {
    this.answered = { reusable, keepAliveHint };
    this.settleWhenDone();
  };

  private settleWhenDone(): void {
    if (this.sent && this.answered) this.settle(this.answered.reusable, this.answered.keepAliveHint);
  }

  private settle(reusable: boolean, keepAliveHint?: string): void {
    this.settled = true;
    clearImmediate(this.headTimer);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.socket.off('drain', this.onDrain);
    this.drainListeners = [];
    if (!reusable) {
      this.response.detach();
      this.socket.destroy();
      return;
    }
    this.connection.served++;
    this.connections.park(this.key, this.connection, keepAliveMs(keepAliveHint));
  }

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    if (this.settled) return;
    this.settle(false);
    // After a whole response, a failed upload (a server that answered early and closed: EPIPE,
    // a reset) is no news to the exchange, which has all it needs.
    if (!this.answered) this.owner.onUpstreamError(err);
  };

  /** Closed by the server (or the network) with no error: unanswered, or the response cut. */
  private readonly onClose = (): void => {
    if (this.settled) return;
    this.settle(false);
    if (this.answered) return;
    this.owner.onUpstreamError(
      this.response.received === 0
        ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
        : Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' }),
    );
  };
}

/** The zero-size chunk that ends a chunked body, with its trailer section. */
function lastChunk(trailers: RawHeaders): string {
  let text = `0${CRLF}`;
  for (const [name, value] of trailers) text += `${name}: ${value}${CRLF}`;
  return text + CRLF;
}

/** An HTTP/1.1 request head as it goes on the wire, fields as given. */
export function requestHeadText(head: H1RequestHead): string {
  let text = `${head.method} ${head.path} HTTP/1.1${CRLF}`;
  const fields = head.headers;
  for (let i = 0; i + 1 < fields.length; i += 2) text += `${fields[i]}: ${fields[i + 1]}${CRLF}`;
  return text + CRLF;
}

/** Whether the fields frame the body chunked (the last transfer coding), RFC 9112 §6.3. */
function isChunked(fields: readonly string[]): boolean {
  let last = '';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toLowerCase() !== 'transfer-encoding') continue;
    const codings = fields[i + 1]!.split(',');
    last = codings[codings.length - 1]!.trim().toLowerCase();
  }
  return last === 'chunked';
}
