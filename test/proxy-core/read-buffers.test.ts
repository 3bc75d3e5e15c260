import { describe, expect, it } from 'vitest';
import { readBuffers } from '../../proxy-core/read-buffers.js';

describe('read buffers', () => {
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
