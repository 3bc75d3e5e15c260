import { createWriteStream, type WriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaptureLimitReason } from '../../app/proxy-events.js';
import { DEFAULT_CAPTURE, type CaptureOptions } from '../options.js';
import { readBuffers } from '../read-buffers.js';
import { SpareBlocks } from './spare-blocks.js';

/** Memory and disk used by all body copies together. */
export class CaptureBudget {
  memoryBytes = 0;
  spillBytes = 0;
  /** Bytes of all spill files together still in memory on their way to disk. */
  spillBacklogBytes = 0;

  constructor(
    readonly options: CaptureOptions,
    readonly spillDir: string,
  ) {}
}

export interface CapturedRange {
  readonly bytes: Buffer;
  /** Bytes captured so far (readable now or soon). */
  readonly captured: number;
  /** Why capture stopped early, if it did. */
  readonly limited: CaptureLimitReason | undefined;
}

/** Largest block small chunks are gathered into, in memory and on their way to the spill file. */
const MAX_BLOCK = 64 * 1024;

/**
 * Bytes appended piece by piece, kept in a few growing blocks rather than one Buffer per piece:
 * an LLM stream arrives in chunks of tens of bytes, and a Buffer each would cost several times
 * the bytes themselves in object overhead. Blocks double from the first piece's size up to
 * MAX_BLOCK, so a tiny body costs one small block and slack stays under half of what is kept.
 */
class BlockList {
  readonly blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private fill = 0;
  bytes = 0;

  /** With `spareBlocks`, every block is MAX_BLOCK long and taken from (and given back to) them. */
  constructor(private readonly spareBlocks?: SpareBlocks) {}

  append(part: Buffer): void {
    let offset = 0;
    while (offset < part.length) {
      let block = this.blocks[this.blocks.length - 1];
      if (block === undefined || this.fill === block.length) {
        const want = Math.max(part.length - offset, Math.min(MAX_BLOCK, this.bytes));
        // Small blocks come from Node's shared pool (one allocation per 8 KiB, not per body); large
        // ones get their own memory so that freeing a body frees it.
        block = this.spareBlocks
          ? this.spareBlocks.take()
          : want < Buffer.poolSize >>> 1
            ? Buffer.allocUnsafe(want)
            : Buffer.allocUnsafeSlow(want);
        this.blocks.push(block);
        this.fill = 0;
      }
      const copied = part.copy(block, this.fill, offset);
      this.fill += copied;
      offset += copied;
    }
    this.bytes += part.length;
  }

  /** The kept bytes as slices, without the unused tail of the last block. */
  *pieces(): Generator<Buffer> {
    for (let i = 0; i < this.blocks.length; i++) {
      const block = this.blocks[i]!;
      yield i === this.blocks.length - 1 ? block.subarray(0, this.fill) : block;
    }
  }

  clear(): void {
    this.blocks.length = 0;
    this.fill = 0;
    this.bytes = 0;
  }
}

/**
 * Gathering blocks back from the disk, for the next spill to fill: as many as the default spill
 * backlog holds, so a steady spill allocates nothing; let go a second after a burst.
 */
const spareSpillBlocks = new SpareBlocks(MAX_BLOCK, DEFAULT_CAPTURE.maxSpillBacklogBytes / MAX_BLOCK, 1000);

/**
 * Parts of a whole block or more go to the spill file as they are, not gathered. An HTTP/2 DATA
 * frame (16 KiB) is gathered: written as it is, it would cost a file write of its own and hold
 * the session's whole read buffer it is a slice of until the disk had it.
 */
const LARGE_PART = MAX_BLOCK;

/** How long gathered spill bytes may wait for more before they are written anyway. */
const SPILL_FLUSH_MS = 50;

/**
 * The part of a body past its memory share, on its way to and in a file. Bytes are gathered into
 * blocks first (written when a block is full or after SPILL_FLUSH_MS), so a flood of tiny chunks
 * costs a few large writes, not one each. Until the disk has them they stay in memory, so the
 * file's bytes, the blocks being written and the one being gathered are always readable in order.
 */
class SpillFile {
  private readonly stream: WriteStream;
  /** Bytes the file holds for sure. */
  written = 0;
  /** Bytes written, being written, or gathered. */
  queued = 0;
  /** Blocks handed to the stream and not confirmed yet, oldest first. */
  private readonly inFlight: Buffer[] = [];
  private inFlightBytes = 0;
  /**
   * Of the bytes in flight, those that were the body's memory share (`takeHead`): the budget
   * counts them as memory, not as spill backlog, until the file has them.
   */
  private headInFlight = 0;
  private readonly gathering = new BlockList(spareSpillBlocks);
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private ended = false;

  constructor(
    readonly path: string,
    private readonly budget: CaptureBudget,
    onError: () => void,
  ) {
    this.stream = createWriteStream(path, { mode: 0o600 });
    this.stream.on('error', () => {
      // Its write callbacks will not run: give back its share of the shared backlog now, or
      // every later body would find spilling full.
      if (!this.closed) this.giveBackInFlight();
      this.closed = true;
      onError();
    });
  }

  /** Bytes not yet in the file, apart from the memory share handed over by `takeHead`. */
  private get backlog(): number {
    return this.inFlightBytes - this.headInFlight + this.gathering.bytes;
  }

  /**
   * The body's bytes so far, held in memory, become the file's first bytes. Their memory share
   * goes back to the budget as the file takes them: a large body that outlives its exchange (it
   * stays in its file) must not hold its share for the rest of the session, or after a few dozen
   * downloads every body, however small, would go to disk.
   */
  takeHead(pieces: Iterable<Buffer>): void {
    for (const piece of pieces) {
      this.queued += piece.length;
      this.headInFlight += piece.length;
      this.writeOut(piece, 'head');
    }
  }

  append(part: Buffer): void {
    if (this.ended) return;
    this.queued += part.length;
    this.budget.spillBacklogBytes += part.length;
    if (part.length >= LARGE_PART) {
      // Gathering turns many small writes into few; a large part gains nothing from it but a copy
      // and its garbage, so it goes out as it is, after what was gathered before it. A part of a
      // lent read buffer is held until the file has it, so it is not read into meanwhile.
      this.flush();
      const lent = readBuffers.held(part);
      if (lent) readBuffers.hold(part);
      this.writeOut(part, lent ? 'lent' : 'own');
      return;
    }
    this.gathering.append(part);
    if (this.gathering.bytes >= MAX_BLOCK) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), SPILL_FLUSH_MS).unref();
  }

  /** What is in memory past the file's first `written` bytes, in order; taken before any await. */
  pending(): Buffer[] {
    return [...this.inFlight, ...this.gathering.pieces()];
  }

  async readFile(from: number, to: number): Promise<Buffer> {
    const handle = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(to - from);
      const { bytesRead } = await handle.read(buf, 0, buf.length, from);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /**
   * No more bytes will come: writes what is gathered and closes the file, so a finished body
   * holds no file descriptor. Thousands of spilled bodies must not exhaust the process's limit,
   * which the proxy needs for its sockets. Reads open the file on their own.
   */
  end(): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    this.flush();
    this.stream.end();
  }

  destroy(): void {
    if (!this.closed) this.giveBackInFlight();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.gathering.clear();
    this.inFlight.length = 0;
    this.stream.destroy();
    unlink(this.path).catch(() => undefined);
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.gathering.bytes === 0) return;
    for (const piece of this.gathering.pieces()) this.writeOut(piece, 'gathered');
    this.gathering.clear();
  }

  /** Write callbacks will not run (the file failed or is going): what they would give back goes now. */
  private giveBackInFlight(): void {
    this.budget.spillBacklogBytes -= this.backlog;
    this.budget.memoryBytes -= this.headInFlight;
    this.headInFlight = 0;
  }

  /**
   * Hands `block` to the file, keeping it readable from memory until the file has it; then a
   * gathered block is given back to the spares, a lent read buffer released, and a head's
   * memory share given back.
   */
  private writeOut(block: Buffer, kind: 'own' | 'gathered' | 'lent' | 'head'): void {
    this.inFlight.push(block);
    this.inFlightBytes += block.length;
    this.stream.write(block, (err) => {
      if (kind === 'lent') readBuffers.release(block);
      if (err || this.closed) return;
      // Writes complete in order: the oldest block in flight is the one now in the file.
      this.inFlight.shift();
      this.inFlightBytes -= block.length;
      if (kind === 'head') {
        this.headInFlight -= block.length;
        this.budget.memoryBytes -= block.length;
      } else {
        this.budget.spillBacklogBytes -= block.length;
      }
      this.written += block.length;
      if (kind === 'gathered') spareSpillBlocks.giveBack(block);
    });
  }
}

/** The part of `piece` (which begins at body offset `pos`) inside [start, stop), if any. */
function rangeOf(piece: Buffer, pos: number, start: number, stop: number): Buffer | undefined {
  const from = Math.max(start - pos, 0);
  const to = Math.min(stop - pos, piece.length);
  return to > from ? piece.subarray(from, to) : undefined;
}

/**
 * A bounded copy of one body: in memory while it fits its share, then all of it in a spill file
 * (the bytes held so far written first), and past the caps nothing but a flag. Appends never
 * block and never throw: when the disk cannot keep up, the copy gives way and says so, and the
 * forwarded stream is none the wiser. A body is readable in full at any moment, whatever has
 * reached the disk yet.
 */
export class BodyCapture {
  /** Made on the first byte: many bodies (most requests) have none. */
  private memory: BlockList | undefined;
  private spill: SpillFile | undefined;
  private captured = 0;
  private limitedBy: CaptureLimitReason | undefined;
  private disposed = false;
  private finished = false;
  /** The body was announced larger than its memory share: it goes to its file from the first byte. */
  private spillFirst = false;

  constructor(
    private readonly budget: CaptureBudget,
    private readonly fileName: string,
    private readonly onLimited: (reason: CaptureLimitReason, atOffset: number) => void,
  ) {}

  get limited(): CaptureLimitReason | undefined {
    return this.limitedBy;
  }

  get capturedBytes(): number {
    return this.captured;
  }

  /**
   * The whole body, copied now into a buffer of its own, when all of it is in memory and at most
   * `max` bytes; 'elsewhere' when it is larger or partly in its spill file (`read` gets it then).
   */
  copyHeld(max: number): CapturedRange | 'elsewhere' {
    if (this.spill !== undefined || this.captured > max) return 'elsewhere';
    return { bytes: this.copyFromMemory(0, this.captured), captured: this.captured, limited: this.limitedBy };
  }

  /**
   * The body's length as its head declares it (Content-Length). One that will not fit its memory
   * share is written to its file from the first byte, rather than held, copied again and let go
   * at its first MiB: a hundred HTTP/2 downloads starting together would otherwise fill the shared
   * memory budget, and leave it as garbage, only to move it to disk a moment later.
   */
  expectLength(bytes: number | undefined): void {
    if (bytes !== undefined && this.captured === 0 && bytes > this.budget.options.memoryBytesPerBody) {
      this.spillFirst = true;
    }
  }

  append(chunk: Buffer): void {
    if (this.limitedBy !== undefined || this.disposed || this.finished) return;
    const { options } = this.budget;
    const room = options.maxBytesPerBody - this.captured;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length > 0) {
      const inMemory = this.memory?.bytes ?? 0;
      const fitsInMemory =
        !this.spillFirst &&
        this.spill === undefined &&
        inMemory + part.length <= options.memoryBytesPerBody &&
        this.budget.memoryBytes + part.length <= options.totalMemoryBytes;
      if (fitsInMemory) {
        // Copied: the forwarded buffer may be a slice of a larger allocation we must not retain.
        (this.memory ??= new BlockList()).append(part);
        this.budget.memoryBytes += part.length;
        this.captured += part.length;
      } else if (!this.appendToSpill(part)) {
        return;
      }
    }
    if (part.length < chunk.length) this.limit('body-cap');
  }

  /** Bytes [start, end) of the body as captured so far. */
  async read(start = 0, end = Number.MAX_SAFE_INTEGER): Promise<CapturedRange> {
    // Everything is taken as it is now, before the file read yields: blocks confirmed meanwhile
    // are still in `pending`, and the file's first `written` bytes do not change.
    const stop = Math.min(end, this.captured);
    const captured = this.captured;
    const limited = this.limitedBy;
    // All in memory (a small body, the usual case): one copy into a buffer of its own, which a
    // caller can move to another thread as it is.
    if (this.spill === undefined) return { bytes: this.copyFromMemory(start, stop), captured, limited };
    // Spilled: the file holds the body from its first byte, then come the blocks on their way.
    const spill = this.spill;
    const written = spill.written;
    // Copied now, the wanted range only: a gathered block may go back to the spares, to be
    // filled again, during the file read.
    const pending: Buffer[] = [];
    let pendingPos = written;
    for (const piece of spill.pending()) {
      const slice = rangeOf(piece, pendingPos, start, stop);
      if (slice) pending.push(Buffer.from(slice));
      pendingPos += piece.length;
    }
    const fileEnd = Math.min(stop, written);
    const fromFile = fileEnd > start ? await spill.readFile(start, fileEnd) : undefined;
    // Always a buffer of its own: a caller may keep it, or move it to another thread.
    if (fromFile && pending.length === 0) return { bytes: fromFile, captured, limited };
    return { bytes: Buffer.concat(fromFile ? [fromFile, ...pending] : pending), captured, limited };
  }

  private copyFromMemory(start: number, stop: number): Buffer {
    const bytes = Buffer.allocUnsafeSlow(Math.max(0, stop - start));
    let pos = 0;
    let at = 0;
    for (const piece of this.memory?.pieces() ?? []) {
      const slice = rangeOf(piece, pos, start, stop);
      if (slice) at += slice.copy(bytes, at);
      pos += piece.length;
    }
    return bytes;
  }

  /** The body is complete: its spill file, if any, is written out and closed. Reads still work. */
  finish(): void {
    this.finished = true;
    this.spill?.end();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.budget.memoryBytes -= this.memory?.bytes ?? 0;
    this.budget.spillBytes -= this.spill?.queued ?? 0;
    this.memory = undefined;
    this.spill?.destroy();
  }

  private appendToSpill(part: Buffer): boolean {
    const { options } = this.budget;
    const head = this.spill === undefined ? (this.memory?.bytes ?? 0) : 0;
    if (this.budget.spillBytes + head + part.length > options.totalSpillBytes) {
      this.limit('total-cap');
      return false;
    }
    // Shared by all bodies: a hundred streams spilling at once must not each hold this much.
    if (this.budget.spillBacklogBytes + part.length > options.maxSpillBacklogBytes) {
      this.limit('spill-failed');
      return false;
    }
    if (this.spill === undefined) {
      this.spill = new SpillFile(join(this.budget.spillDir, this.fileName), this.budget, () =>
        this.limit('spill-failed'),
      );
      if (this.memory) {
        this.spill.takeHead(this.memory.pieces());
        this.budget.spillBytes += head;
        this.memory = undefined;
      }
    }
    this.spill.append(part);
    this.budget.spillBytes += part.length;
    this.captured += part.length;
    return true;
  }

  private limit(reason: CaptureLimitReason): void {
    if (this.limitedBy !== undefined) return;
    this.limitedBy = reason;
    this.onLimited(reason, this.captured);
  }
}
