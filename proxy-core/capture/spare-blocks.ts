import { wholeBuffer } from '../read-buffers.js';

/**
 * Spill blocks of one size kept for reuse once their bytes are on disk. Made afresh each time,
 * every block costs its page faults and, once written, garbage the collector finds only tens of
 * MiB later (a hundred bodies spilling at once keep a few hundred blocks gathering or in flight:
 * spilling a GiB cost 1.6-1.9 CPU seconds instead of 1.1-1.2). Kept for ever, a burst's blocks
 * would hold their memory after it: spares no one took for a whole `trimMs` are let go.
 */
export class SpareBlocks {
  private readonly spares: Buffer[] = [];
  /** The fewest spares there were since the last trim: that many sat unused all along. */
  private lowWater = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly blockBytes: number,
    private readonly maxSpares: number,
    private readonly trimMs: number,
  ) {}

  get count(): number {
    return this.spares.length;
  }

  take(): Buffer {
    const spare = this.spares.pop();
    if (spare === undefined) return Buffer.allocUnsafeSlow(this.blockBytes);
    this.lowWater = Math.min(this.lowWater, this.spares.length);
    return spare;
  }

  /** A block whose bytes nobody needs any more; one of another size is left to the collector. */
  giveBack(block: Buffer): void {
    if (block.buffer.byteLength !== this.blockBytes || this.spares.length >= this.maxSpares) return;
    this.spares.push(wholeBuffer(block));
    this.timer ??= setInterval(this.trim, this.trimMs).unref();
  }

  private readonly trim = (): void => {
    // The oldest go: those at the bottom of the stack are the ones not taken.
    this.spares.splice(0, this.lowWater);
    this.lowWater = this.spares.length;
    if (this.spares.length === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };
}
