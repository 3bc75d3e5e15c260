import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { CaptureLimitReason } from '../../app/proxy-events.js';
import { BodyCapture, CaptureBudget } from '../../proxy-core/capture/body-capture.js';
import { DEFAULT_CAPTURE } from '../../proxy-core/options.js';
import { useCleanup } from '../helpers/cleanup.js';

const { freshDir } = useCleanup();

async function capture(options: Partial<typeof DEFAULT_CAPTURE>) {
  const dir = await freshDir();
  const budget = new CaptureBudget({ ...DEFAULT_CAPTURE, ...options }, dir);
  const limits: CaptureLimitReason[] = [];
  return { dir, budget, limits, body: new BodyCapture(budget, 'b.bin', (reason) => limits.push(reason)) };
}

describe('a body capture', () => {
  it('keeps a stream of tiny chunks byte-exact across memory, the bytes on their way to disk, and the file', async () => {
    const { body, budget, dir } = await capture({ memoryBytesPerBody: 10_000, maxBytesPerBody: 1 << 20 });
    const sent = randomBytes(300_000);
    // 48-byte pieces, like LLM tokens: memory fills at 10,000, the rest is gathered for the file.
    for (let at = 0; at < sent.length; at += 48) {
      body.append(sent.subarray(at, at + 48));
      if (at % 48_000 === 0) {
        // Readable at once, whatever has reached the disk yet.
        const now = await body.read();
        expect(now.bytes.equals(sent.subarray(0, Math.min(at + 48, sent.length)))).toBe(true);
      }
    }
    expect((await body.read()).bytes.equals(sent)).toBe(true);
    expect((await body.read(9_990, 10_020)).bytes.equals(sent.subarray(9_990, 10_020))).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect((await body.read()).bytes.equals(sent)).toBe(true);
    expect((await body.read(123_456, 234_567)).bytes.equals(sent.subarray(123_456, 234_567))).toBe(true);
    // The bytes held in memory went to the file first: their memory share is given back.
    expect(budget.memoryBytes).toBe(0);
    expect(await readdir(dir)).toEqual(['b.bin']);
    body.dispose();
    expect(budget.memoryBytes).toBe(0);
    expect(budget.spillBytes).toBe(0);
  });

  it('gives back the memory share of a body that outgrew it: after many large downloads a small body still stays in memory', async () => {
    const { budget } = await capture({ memoryBytesPerBody: 64 << 10, totalMemoryBytes: 256 << 10 });
    const large = Array.from({ length: 40 }, (_, i) => new BodyCapture(budget, `large-${i}.bin`, () => undefined));
    const sent = large.map(() => randomBytes(100_000));
    for (const [i, body] of large.entries()) {
      for (let at = 0; at < 100_000; at += 10_000) body.append(sent[i]!.subarray(at, at + 10_000));
      body.finish();
    }
    // Bounded wait for the files to take what the bodies held.
    for (let i = 0; i < 100 && budget.memoryBytes > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(budget.memoryBytes).toBe(0);
    for (const [i, body] of large.entries()) expect((await body.read()).bytes.equals(sent[i]!)).toBe(true);
    const small = new BodyCapture(budget, 'small.bin', () => undefined);
    small.append(Buffer.from('{"ok":true}'));
    const held = small.copyHeld(1 << 20);
    expect(held === 'elsewhere' ? 'on disk' : held.bytes.toString()).toBe('{"ok":true}');
    for (const body of [...large, small]) body.dispose();
    expect(budget.spillBytes).toBe(0);
  });

  it('writes a body announced larger than its memory share to its file from the first byte, and holds a smaller one', async () => {
    const { body, budget, dir } = await capture({ memoryBytesPerBody: 64 << 10 });
    body.expectLength(10 << 20);
    const sent = randomBytes(30_000);
    for (let at = 0; at < sent.length; at += 3_000) body.append(sent.subarray(at, at + 3_000));
    expect(budget.memoryBytes).toBe(0);
    expect(body.copyHeld(1 << 20)).toBe('elsewhere');
    expect((await body.read()).bytes.equals(sent)).toBe(true);
    // The file is opened asynchronously: a bounded wait for it.
    for (let i = 0; i < 100 && (await readdir(dir)).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(dir)).toEqual(['b.bin']);
    const small = new BodyCapture(budget, 'small.bin', () => undefined);
    small.expectLength(2_000);
    small.append(sent.subarray(0, 2_000));
    expect(budget.memoryBytes).toBe(2_000);
    for (const b of [body, small]) b.dispose();
  });

  it('copies a body held in memory at once, into a buffer of its own; one partly on disk or too large must be read', async () => {
    const { body } = await capture({ memoryBytesPerBody: 1000, maxBytesPerBody: 1 << 20 });
    const sent = randomBytes(900);
    for (let at = 0; at < sent.length; at += 100) body.append(sent.subarray(at, at + 100));
    const held = body.copyHeld(1 << 20);
    if (held === 'elsewhere') throw new Error('a body in memory should be copied at once');
    expect(held.bytes.equals(sent)).toBe(true);
    expect(held.captured).toBe(900);
    // Its own memory, so it can be moved to another thread as it is.
    expect(held.bytes.buffer.byteLength).toBe(900);
    expect(body.copyHeld(899)).toBe('elsewhere');
    body.append(randomBytes(500));
    expect(body.copyHeld(1 << 20)).toBe('elsewhere');
    expect((await body.read()).bytes.subarray(0, 900).equals(sent)).toBe(true);
    body.dispose();
  });

  it('keeps small and large chunks in order past memory: gathered ones and ones written as they are', async () => {
    const { body } = await capture({ memoryBytesPerBody: 1000, maxBytesPerBody: 1 << 20 });
    const sent = randomBytes(200_000);
    const sizes = [300, 700, 40_000, 12, 20_000, 5, 64 * 1024, 100];
    let at = 0;
    for (let i = 0; at < sent.length; i++) {
      const size = sizes[i % sizes.length]!;
      body.append(sent.subarray(at, at + size));
      at += size;
    }
    // Ranges read while most bytes are still on their way to disk: inside what is pending,
    // across memory and pending, and an empty read, which tells the size and copies nothing.
    for (const [from, to] of [
      [190_000, 200_000],
      [500, 1_500],
      [1_000, 150_000],
    ] as const) {
      expect((await body.read(from, to)).bytes.equals(sent.subarray(from, to))).toBe(true);
    }
    const empty = await body.read(0, 0);
    expect([empty.bytes.length, empty.captured]).toEqual([0, sent.length]);
    expect((await body.read()).bytes.equals(sent)).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect((await body.read()).bytes.equals(sent)).toBe(true);
    expect((await body.read(999, 41_013)).bytes.equals(sent.subarray(999, 41_013))).toBe(true);
    expect((await body.read(5_000, 6_000)).bytes.equals(sent.subarray(5_000, 6_000))).toBe(true);
    body.dispose();
  });

  it('keeps tiny chunks in a few blocks, not one object each', async () => {
    const { body } = await capture({ memoryBytesPerBody: 1 << 20 });
    for (let i = 0; i < 20_000; i++) body.append(Buffer.from('data: {"t":"x"}\n\n'.padEnd(48)));
    const blocks = (body as unknown as { memory: { blocks: Buffer[] } }).memory.blocks;
    expect(blocks.length).toBeLessThan(30);
    const kept = blocks.reduce((sum, b) => sum + b.length, 0);
    // Slack stays under half of what is kept.
    expect(kept).toBeLessThan(20_000 * 48 * 1.5);
  });

  it('stops at the cap and says so once; a tiny body costs one exact block', async () => {
    const { body, limits } = await capture({ maxBytesPerBody: 100 });
    body.append(Buffer.alloc(60, 1));
    const blocks = (body as unknown as { memory: { blocks: Buffer[] } }).memory.blocks;
    expect(blocks.map((b) => b.length)).toEqual([60]);
    body.append(Buffer.alloc(60, 2));
    body.append(Buffer.alloc(60, 3));
    const all = await body.read();
    expect(all.captured).toBe(100);
    expect(all.limited).toBe('body-cap');
    expect(limits).toEqual(['body-cap']);
  });

  it('closes the spill file of a finished body: thousands of spilled bodies hold no descriptors', async () => {
    const { budget } = await capture({ memoryBytesPerBody: 10, totalMemoryBytes: 10 });
    const openFiles = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await openFiles();
    const bodies = Array.from({ length: 200 }, (_, i) => new BodyCapture(budget, `${i}.bin`, () => undefined));
    for (const body of bodies) body.append(randomBytes(100));
    for (const body of bodies) body.finish();
    // Opening and closing are asynchronous: wait until every file has its bytes, then (bounded)
    // for the descriptors to go.
    const { dir } = { dir: (budget as unknown as { spillDir: string }).spillDir };
    const written = async (): Promise<number> => (await readdir(dir)).length;
    for (let i = 0; i < 100 && (await written()) < 200; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 100 && (await openFiles()) > before + 5; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openFiles()).toBeLessThanOrEqual(before + 5);
    const read = await bodies[123]!.read();
    expect(read.captured).toBe(100);
    expect(read.bytes.length).toBe(100);
    for (const body of bodies) body.dispose();
  });
});
