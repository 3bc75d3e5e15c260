import { Duplex, Readable } from 'node:stream';
import { now } from '../clock.js';
import { webSocketFrame, webSocketHeaderSize, webSocketPayloadLength } from '../capture/websocket-frames.js';

/** Pieces a mock holds for a reader that does not take them before it stops pushing. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * Pushes recorded pieces when their time comes (ms from when the player was made), on a schedule
 * kept from one origin so waits do not add up. A push refused (the reader is slow: the pump paused
 * it) stops the clock until the stream asks for more, so the recorded gaps are kept after it reads
 * again, as an upstream held back by TCP would keep them.
 */
class PiecePlayer {
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private origin = now();
  /** When a full buffer stopped the pushes; -1 while they go on. */
  private blockedAt = -1;
  private stopped = false;

  constructor(
    private readonly pieces: readonly Buffer[],
    private readonly times: readonly number[],
    private readonly push: (piece: Buffer) => boolean,
    private readonly onDone: () => void,
  ) {}

  /** The stream wants more (its `_read`). */
  read(): void {
    if (this.blockedAt >= 0) {
      this.origin += now() - this.blockedAt;
      this.blockedAt = -1;
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    if (this.next >= this.pieces.length) {
      this.stopped = true;
      this.onDone();
      return;
    }
    const wait = this.origin + (this.times[this.next] ?? 0) - now();
    if (wait <= 0) this.pushDue();
    else this.timer = setTimeout(this.onTimer, wait);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pushDue();
  };

  /** Pushes every piece whose time has come (timers fire late, never early), then waits for the next. */
  private pushDue(): void {
    const at = now();
    while (this.next < this.pieces.length && this.origin + (this.times[this.next] ?? 0) <= at + 0.5) {
      if (this.stopped) return;
      if (!this.push(this.pieces[this.next++]!)) {
        this.blockedAt = at;
        return;
      }
    }
    this.schedule();
  }
}

/** A recorded HTTP body played as a stream: each piece at its time, then the end. */
export class MockBody extends Readable {
  private readonly player: PiecePlayer;

  constructor(pieces: readonly Buffer[], times: readonly number[]) {
    super({ highWaterMark: HIGH_WATER_BYTES });
    this.player = new PiecePlayer(
      pieces,
      times,
      (piece) => this.push(piece),
      () => this.push(null),
    );
  }

  override _read(): void {
    this.player.read();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.player.stop();
    callback(err);
  }
}

/**
 * The server side of a recorded WebSocket, for the client to talk to: the server's frames at their
 * times; what the client sends is read and let go. A recording that ends with the server's close
 * frame ends there; otherwise the connection stays open (as it did) until the client closes it,
 * and a client's close frame is answered with one, as RFC 6455 section 5.5.1 asks of a server.
 */
export class MockWebSocketPeer extends Duplex {
  private readonly player: PiecePlayer;
  private closeSent: boolean;
  /** The client's bytes not yet read as whole frame headers. */
  private pending = Buffer.alloc(0);
  /** Payload bytes of the client's current frame still to skip. */
  private skipping = 0;

  constructor(pieces: readonly Buffer[], times: readonly number[], closesItself: boolean) {
    super({ readableHighWaterMark: HIGH_WATER_BYTES, allowHalfOpen: true });
    this.closeSent = false;
    this.player = new PiecePlayer(
      pieces,
      times,
      (piece) => {
        if (piece.length >= 1 && (piece[0]! & 0x0f) === 0x8) this.closeSent = true;
        return this.push(piece);
      },
      () => {
        if (closesItself) this.push(null);
      },
    );
  }

  override _read(): void {
    this.player.read();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.readClientFrames(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The client is done sending: a server whose recording is over has nothing left to say.
    this.player.stop();
    this.push(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.player.stop();
    callback(err);
  }

  /** Walks the client's frames (headers only; payloads are skipped) to hear its close. */
  private readClientFrames(chunk: Buffer): void {
    let bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.skipping > 0) {
        const skipped = Math.min(this.skipping, bytes.length);
        this.skipping -= skipped;
        bytes = bytes.subarray(skipped);
        if (this.skipping > 0) break;
      }
      const headerSize = bytes.length >= 2 ? webSocketHeaderSize(bytes) : Infinity;
      if (bytes.length < headerSize) break;
      const opcode = bytes[0]! & 0x0f;
      this.skipping = webSocketPayloadLength(bytes);
      bytes = bytes.subarray(headerSize);
      if (opcode === 0x8) this.answerClose();
    }
    this.pending = Buffer.from(bytes);
  }

  private answerClose(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.player.stop();
    // 1000: a normal closure, the answer a server gives a client that said goodbye.
    this.push(webSocketFrame(0x8, Buffer.from([0x03, 0xe8]), false));
    this.push(null);
  }
}
