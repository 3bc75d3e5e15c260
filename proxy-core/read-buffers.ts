import { SpareBlocks } from './spare-blocks.js';

/** Spare read buffers kept for reuse, all sizes together. */
const MAX_SPARE_BYTES = 8 * 1024 * 1024;
/**
 * Spares of a size no read took for this long are let go: reads grow and shrink with the traffic,
 * and a burst's buffers of a size no longer read would otherwise be held for the rest of the run.
 */
const SPARE_TRIM_MS = 1000;

/**
 * Read buffers lent to the forward path. A buffer a write still holds (the sink could not take
 * it at once) is not read into again until every write that holds it has been flushed; then it
 * goes back to the spares. Reusing buffers, instead of allocating one per read as Node does,
 * means a long transfer leaves no garbage for the collector to find tens of MiB later.
 */
class ReadBuffers {
  /** Keyed by memory, not by Buffer object, so any view on a lent buffer can be recognised. */
  private readonly holds = new WeakMap<ArrayBufferLike, number>();
  private readonly spares = new Map<number, SpareBlocks>();

  take(size: number): Buffer {
    return this.spares.get(size)?.take() ?? Buffer.allocUnsafeSlow(size);
  }

  /** Bytes of spare buffers held now, all sizes together. */
  get spareBytes(): number {
    let bytes = 0;
    for (const [size, pool] of this.spares) bytes += size * pool.count;
    return bytes;
  }

  /** A buffer its socket no longer reads into: kept for reuse unless a write still holds it. */
  giveBack(buffer: Buffer): void {
    if (this.held(buffer)) {
      this.holds.set(buffer.buffer, -(this.holds.get(buffer.buffer) ?? 0));
      return;
    }
    this.keep(buffer);
  }

  hold(buffer: Buffer): void {
    const count = this.holds.get(buffer.buffer) ?? 0;
    this.holds.set(buffer.buffer, count < 0 ? count - 1 : count + 1);
  }

  release(buffer: Buffer): void {
    const count = this.holds.get(buffer.buffer) ?? 0;
    if (count > 1) this.holds.set(buffer.buffer, count - 1);
    else if (count < -1) this.holds.set(buffer.buffer, count + 1);
    else {
      this.holds.delete(buffer.buffer);
      // A negative count marks a buffer given back while held: its last release frees it.
      if (count === -1) this.keep(buffer);
    }
  }

  /**
   * Whether `bytes` lie in a read buffer something still holds (a count is never kept at zero):
   * a socket must not read into it, and whoever keeps the bytes keeps a copy, not them.
   */
  held(bytes: Buffer): boolean {
    return this.holds.has(bytes.buffer);
  }

  private keep(buffer: Buffer): void {
    // The last release may name a piece of the buffer (the spill file writes the part of a read
    // it keeps): the whole buffer is what goes back, or it would be filed under the piece's
    // length, where no read asks for it, and fill the spares with memory no read can use.
    const whole = buffer.length === buffer.buffer.byteLength ? buffer : Buffer.from(buffer.buffer);
    if (this.spareBytes + whole.length > MAX_SPARE_BYTES) return;
    let pool = this.spares.get(whole.length);
    if (!pool) this.spares.set(whole.length, (pool = new SpareBlocks(whole.length, Infinity, SPARE_TRIM_MS)));
    pool.giveBack(whole);
  }
}

export const readBuffers = new ReadBuffers();
