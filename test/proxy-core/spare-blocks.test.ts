import { describe, expect, it } from 'vitest';
import { readBuffers } from '../../proxy-core/read-buffers.js';
import { SpareBlocks } from '../../proxy-core/spare-blocks.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('spare spill blocks', () => {
  it('hands back the same memory, up to its cap, and leaves blocks of another size to the collector', () => {
    const spares = new SpareBlocks(1024, 2, 60_000);
    const blocks = [spares.take(), spares.take(), spares.take()];
    for (const block of blocks) spares.giveBack(block);
    expect(spares.count).toBe(2);
    // A flushed block may be a slice of its block: the whole block comes back.
    const again = spares.take();
    expect(again.buffer).toBe(blocks[1]!.buffer);
    spares.giveBack(again.subarray(0, 10));
    expect(spares.take().length).toBe(1024);
    spares.giveBack(Buffer.allocUnsafeSlow(512));
    expect(spares.count).toBe(1);
  });

  it('lets go of the spares nobody took for a whole interval, and keeps those in use', async () => {
    const spares = new SpareBlocks(1024, 100, 40);
    const burst = Array.from({ length: 20 }, () => spares.take());
    for (const block of burst) spares.giveBack(block);
    expect(spares.count).toBe(20);
    // Two blocks keep cycling, as a steady spill's would; the other eighteen sit unused.
    const deadline = Date.now() + 2_000;
    while (spares.count > 2 && Date.now() < deadline) {
      const a = spares.take();
      const b = spares.take();
      await sleep(5);
      spares.giveBack(a);
      spares.giveBack(b);
    }
    expect(spares.count).toBe(2);
    await sleep(150);
    expect(spares.count).toBe(0);
  });

  it('read buffers of a size no read takes any more are let go, so a burst does not hold its memory', async () => {
    const before = readBuffers.spareBytes;
    const burst = Array.from({ length: 6 }, () => readBuffers.take(256 * 1024));
    for (const buffer of burst) readBuffers.giveBack(buffer);
    expect(readBuffers.spareBytes).toBe(before + 6 * 256 * 1024);
    // Reuse: the next read of that size gets one of them.
    const again = readBuffers.take(256 * 1024);
    expect(burst.some((b) => b.buffer === again.buffer)).toBe(true);
    readBuffers.giveBack(again);
    // Bounded wait: two trims (a second apart) at most.
    for (let i = 0; i < 40 && readBuffers.spareBytes > before; i++) await sleep(100);
    expect(readBuffers.spareBytes).toBe(before);
  });

  it('a read buffer whose last holder names a piece of it comes back whole, for the next read of its size', () => {
    const size = 128 * 1024;
    const before = readBuffers.spareBytes;
    const buffer = readBuffers.take(size);
    // As the spill file does: it holds the part of a read it keeps until the disk has it.
    const piece = buffer.subarray(1000, 60_000);
    readBuffers.hold(piece);
    readBuffers.giveBack(buffer);
    expect(readBuffers.spareBytes).toBe(before);
    readBuffers.release(piece);
    expect(readBuffers.spareBytes).toBe(before + size);
    expect(readBuffers.take(size).buffer).toBe(buffer.buffer);
  });
});
