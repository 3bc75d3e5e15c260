import { createWriteStream, type WriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaptureLimitReason } from '../../app/proxy-events.js';
import type { CaptureOptions } from '../options.js';

/** Memory and disk used by all body copies together. */
export class CaptureBudget {
  memoryBytes = 0;
  spillBytes = 0;

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

/**
 * A bounded copy of one body: the first bytes in memory, the rest in a spill file, and past the
 * caps nothing but a flag. Appends never block and never throw: when the disk cannot keep up,
 * the copy gives way and says so, and the forwarded stream is none the wiser.
 */
export class BodyCapture {
  private readonly memory: Buffer[] = [];
  private memoryBytes = 0;
  private spill: WriteStream | undefined;
  private spillPath: string | undefined;
  private spillQueued = 0;
  private spillWritten = 0;
  private captured = 0;
  private limitedBy: CaptureLimitReason | undefined;
  private disposed = false;

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

  append(chunk: Buffer): void {
    if (this.limitedBy !== undefined || this.disposed) return;
    const { options } = this.budget;
    const room = options.maxBytesPerBody - this.captured;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length > 0) {
      const fitsInMemory =
        this.spill === undefined &&
        this.memoryBytes + part.length <= options.memoryBytesPerBody &&
        this.budget.memoryBytes + part.length <= options.totalMemoryBytes;
      if (fitsInMemory) {
        // Copy: the forwarded buffer may be a slice of a larger allocation we must not retain.
        this.memory.push(Buffer.from(part));
        this.memoryBytes += part.length;
        this.budget.memoryBytes += part.length;
        this.captured += part.length;
      } else if (!this.appendToSpill(part)) {
        return;
      }
    }
    if (part.length < chunk.length) this.limit('body-cap');
  }

  /** Bytes [start, end) of the body as captured, clipped to what has reached memory or disk. */
  async read(start = 0, end = Number.MAX_SAFE_INTEGER): Promise<CapturedRange> {
    const stop = Math.min(end, this.memoryBytes + this.spillWritten);
    const parts: Buffer[] = [];
    if (start < this.memoryBytes) {
      let pos = 0;
      for (const piece of this.memory) {
        const from = Math.max(start - pos, 0);
        const to = Math.min(stop - pos, piece.length);
        if (to > from) parts.push(piece.subarray(from, to));
        pos += piece.length;
        if (pos >= stop) break;
      }
    }
    const fileStart = Math.max(start, this.memoryBytes) - this.memoryBytes;
    const fileEnd = stop - this.memoryBytes;
    if (this.spillPath !== undefined && fileEnd > fileStart) {
      const handle = await open(this.spillPath, 'r');
      try {
        const buf = Buffer.alloc(fileEnd - fileStart);
        const { bytesRead } = await handle.read(buf, 0, buf.length, fileStart);
        parts.push(buf.subarray(0, bytesRead));
      } finally {
        await handle.close();
      }
    }
    return { bytes: Buffer.concat(parts), captured: this.captured, limited: this.limitedBy };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.budget.memoryBytes -= this.memoryBytes;
    this.budget.spillBytes -= this.spillQueued;
    this.memory.length = 0;
    this.memoryBytes = 0;
    const path = this.spillPath;
    if (this.spill !== undefined && path !== undefined) {
      this.spill.destroy();
      unlink(path).catch(() => undefined);
    }
  }

  private appendToSpill(part: Buffer): boolean {
    const { options } = this.budget;
    if (this.budget.spillBytes + part.length > options.totalSpillBytes) {
      this.limit('total-cap');
      return false;
    }
    const stream = this.spill ?? this.openSpill();
    if (stream.writableLength + part.length > options.maxSpillBacklogBytes) {
      this.limit('spill-failed');
      return false;
    }
    stream.write(part, (err) => {
      if (!err) this.spillWritten += part.length;
    });
    this.spillQueued += part.length;
    this.budget.spillBytes += part.length;
    this.captured += part.length;
    return true;
  }

  private openSpill(): WriteStream {
    this.spillPath = join(this.budget.spillDir, this.fileName);
    const stream = createWriteStream(this.spillPath, { mode: 0o600 });
    stream.on('error', () => this.limit('spill-failed'));
    this.spill = stream;
    return stream;
  }

  private limit(reason: CaptureLimitReason): void {
    if (this.limitedBy !== undefined) return;
    this.limitedBy = reason;
    this.onLimited(reason, this.captured);
  }
}
