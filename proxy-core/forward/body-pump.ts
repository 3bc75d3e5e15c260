import type { Direction } from '../../app/proxy-events.js';
import type { FlushedChunk } from '../capture/recorder.js';
import { now } from '../clock.js';
import { readBuffers } from '../read-buffers.js';

/** What a pump tells its exchange. Called on the observe path, after bytes were handed off. */
export interface PumpObserver {
  /** Bytes were read from the source (used for idleness). */
  onRead(direction: Direction, at: number): void;
  /** A chunk's write was handed to the sink's socket. */
  onFlushed(chunk: FlushedChunk): void;
  onPaused(direction: Direction, at: number, queuedBytes: number): void;
  onResumed(direction: Direction, at: number, pausedAt: number, queuedBytes: number): void;
}

/**
 * Bytes queued for the sink before the source is paused: two full socket reads, so a read that
 * lands while the last is still going out does not pause, and a side that does not read is
 * paused after at most this plus one read.
 */
export const PAUSE_AFTER_QUEUED_BYTES = 128 * 1024;

/** Raw reads grow to 512 KiB on a busy socket; the queue allowed grows with them (two reads). */
function pauseAfter(readBytes: number): number {
  return Math.max(PAUSE_AFTER_QUEUED_BYTES, 2 * readBytes);
}

/**
 * Pieces of a lent read buffer at least this large, or filling at least half of it, are written
 * as they are, the buffer held until the write is flushed; smaller ones are copied, so a quiet
 * stream's one small event does not keep a whole read buffer from reuse while its reader is slow.
 * (A TLS socket's reads are one record, at most 16 KiB: a full one is lent, not copied.)
 */
const WRITE_LENT_FROM_BYTES = 32 * 1024;

function lends(piece: Buffer, lent: Buffer): boolean {
  return piece.length >= WRITE_LENT_FROM_BYTES || piece.length * 2 >= lent.length;
}

/**
 * A source's `data`: the bytes to forward; the read buffer they lie in, when lent (see
 * read-buffers.ts); and, when the bytes are a body in its wire framing (a chunked response passed
 * on as it came), the body's own pieces within them, which are what is counted and recorded.
 */
type DataListener = (chunk: Buffer, lent?: Buffer, pieces?: Buffer[]) => void;

/** Where a body comes from: a Node stream, or a raw response (raw-response.ts). */
export interface PumpSource {
  on(event: 'data' | 'end', listener: DataListener): unknown;
  off(event: 'data' | 'end', listener: DataListener): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly readableEnded: boolean;
}

/** The body's pieces within a span read as `read`, as views on `written` (the span itself or its copy). */
function piecesIn(read: Buffer, written: Buffer, pieces: Buffer[]): Buffer[] {
  if (written === read) return pieces;
  return pieces.map((piece) => {
    const at = piece.byteOffset - read.byteOffset;
    return written.subarray(at, at + piece.length);
  });
}

/** Anything with a backpressured write: a socket, a ServerResponse, an upstream request (h1-request.ts). */
export interface PumpSink {
  readonly writableLength: number;
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean;
  on(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/**
 * Forwards one body, chunk by chunk, as it arrives: each chunk is written at once (Node corks
 * writes within a tick, so a burst becomes one syscall, and a lone chunk is not held back).
 * When more than PAUSE_AFTER_QUEUED_BYTES wait for the sink, the source is paused so TCP flow
 * control slows the sender; `drain` resumes it. Nothing here waits for capture or the UI.
 */
export class BodyPump {
  bytes = 0;
  private chunks = 0;
  private pausedAt = -1;
  private maxQueued = 0;
  private totalPausedMs = 0;
  private stopped = false;

  constructor(
    private readonly source: PumpSource,
    private readonly sink: PumpSink,
    readonly direction: Direction,
    private readonly observer: PumpObserver,
    private readonly onSourceEnd: () => void,
  ) {
    source.on('data', this.onData);
    source.on('end', this.onEnd);
    sink.on('drain', this.onDrain);
    // A source that ended before we came (an HTTP/2 request whose empty body ended while its
    // upstream stream was being opened) has no 'end' left to tell us.
    if (source.readableEnded) process.nextTick(this.onEnd);
  }

  get paused(): boolean {
    return this.pausedAt >= 0;
  }

  /** Paused time so far, including a pause still under way. */
  pausedMs(at = now()): number {
    return this.totalPausedMs + (this.pausedAt >= 0 ? at - this.pausedAt : 0);
  }

  /** Detaches from both streams; a pause under way is ended for the books. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.sink.removeListener('drain', this.onDrain);
    if (this.pausedAt >= 0) this.totalPausedMs += now() - this.pausedAt;
    this.pausedAt = -1;
  }

  private readonly onData = (piece: Buffer, lent?: Buffer, pieces?: Buffer[]): void => {
    const readAt = now();
    this.observer.onRead(this.direction, readAt);
    const held = lent !== undefined && lends(piece, lent) ? lent : undefined;
    const chunk = lent !== undefined && held === undefined ? Buffer.from(piece) : piece;
    if (held) readBuffers.hold(held);
    const index = this.chunks;
    const offset = this.bytes;
    // A framed span is written whole; what is counted and recorded is the body's pieces within it.
    const framed = pieces === undefined ? undefined : piecesIn(piece, chunk, pieces);
    if (framed === undefined) {
      this.chunks += 1;
      this.bytes += chunk.length;
    } else {
      this.chunks += framed.length;
      for (const one of framed) this.bytes += one.length;
    }
    const ok = this.sink.write(chunk, (err?: Error | null) => {
      // The observer is told before a lent buffer goes back for reuse: it copies what it keeps.
      if (!err) {
        const flushedAt = now();
        const { direction } = this;
        if (framed === undefined)
          this.observer.onFlushed({ direction, bytes: chunk, index, offset, readAt, flushedAt });
        else this.tellFlushed(framed, index, offset, readAt, flushedAt);
      }
      if (held) readBuffers.release(held);
    });
    // `false` only means "past the sink's high-water mark" (16 KiB), which every 64 KiB read is at
    // line rate: pausing then would report a "pause" per chunk that no one is waiting on. Real
    // backpressure is bytes piling up for a side that does not read; the queue stays bounded.
    if (!ok && this.pausedAt < 0 && !this.stopped && this.sink.writableLength > pauseAfter(chunk.length)) {
      this.source.pause();
      this.pausedAt = readAt;
      this.maxQueued = this.sink.writableLength;
      this.observer.onPaused(this.direction, readAt, this.maxQueued);
    } else if (this.pausedAt >= 0) {
      this.maxQueued = Math.max(this.maxQueued, this.sink.writableLength);
    }
  };

  /** A framed span's pieces are recorded each as a chunk of the body, as if forwarded alone. */
  private tellFlushed(pieces: Buffer[], index: number, offset: number, readAt: number, flushedAt: number): void {
    const { direction } = this;
    for (const bytes of pieces) {
      this.observer.onFlushed({ direction, bytes, index, offset, readAt, flushedAt });
      index += 1;
      offset += bytes.length;
    }
  }

  private readonly onDrain = (): void => {
    if (this.pausedAt < 0 || this.stopped) return;
    const at = now();
    const pausedAt = this.pausedAt;
    this.totalPausedMs += at - pausedAt;
    this.pausedAt = -1;
    this.observer.onResumed(this.direction, at, pausedAt, this.maxQueued);
    this.source.resume();
  };

  private readonly onEnd = (): void => {
    if (!this.stopped) this.onSourceEnd();
  };
}
