import { describe, expect, it } from 'vitest';
import { SpareBlocks } from '../../proxy-core/capture/spare-blocks.js';

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
});
