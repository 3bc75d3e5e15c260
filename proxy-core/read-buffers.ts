/** Spare read buffers kept for reuse, all sizes together. */
const MAX_SPARE_BYTES = 8 * 1024 * 1024;

/**
 * Read buffers lent to the forward path. A buffer a write still holds (the sink could not take
 * it at once) is not read into again until every write that holds it has been flushed; then it
 * goes back to the spares. Reusing buffers, instead of allocating one per read as Node does,
 * means a long transfer leaves no garbage for the collector to find tens of MiB later.
 */
class ReadBuffers {
  /** Keyed by memory, not by Buffer object, so any view on a lent buffer can be recognised. */
  private readonly holds = new WeakMap<ArrayBufferLike, number>();
  private readonly spares = new Map<number, Buffer[]>();
  private spareTotal = 0;

  /** Bytes of spare buffers held now, all sizes together. */
  get spareBytes(): number {
    return this.spareTotal;
  }

  take(size: number): Buffer {
    const spare = this.spares.get(size)?.pop();
    if (spare) {
      this.spareTotal -= size;
      return spare;
    }
    return Buffer.allocUnsafeSlow(size);
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
    // The last release may name a piece of the buffer (the spill file holds the part of a read it
    // keeps): the whole buffer is what goes back, or it would be filed under the piece's length,
    // where no read asks for it, holding memory no read can use.
    const whole = wholeBuffer(buffer);
    if (this.spareTotal + whole.length > MAX_SPARE_BYTES) return;
    let list = this.spares.get(whole.length);
    if (!list) this.spares.set(whole.length, (list = []));
    list.push(whole);
    this.spareTotal += whole.length;
  }
}

export const readBuffers = new ReadBuffers();

/**
 * The whole allocation `view` is a piece of (itself when it is all of it): a buffer made with
 * `Buffer.allocUnsafeSlow`, which pools keep, owns its memory from its first byte.
 */
export function wholeBuffer(view: Buffer): Buffer {
  return view.length === view.buffer.byteLength ? view : Buffer.from(view.buffer);
}
