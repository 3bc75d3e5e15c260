import { describe, expect, it, vi } from 'vitest';
import { DeferredObservations, type ChunkObserver } from '../../proxy-core/capture/deferred-observations.js';
import type { FlushedChunk } from '../../proxy-core/capture/recorder.js';

const chunk = (index: number): FlushedChunk => ({
  direction: 'response',
  bytes: Buffer.from(`chunk ${index}`),
  index,
  offset: index * 7,
  readAt: index,
  flushedAt: index,
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records what it observed, as "name:index". */
function recording(name: string, seen: string[], then?: (c: FlushedChunk) => void): ChunkObserver {
  return {
    observe: (c) => {
      seen.push(`${name}:${c.index}`);
      then?.(c);
    },
  };
}

describe('deferred observations', () => {
  it('observes nothing while the forwarding goes on, then everything in the order it was flushed', async () => {
    const queue = new DeferredObservations();
    const seen: string[] = [];
    const a = recording('a', seen);
    const b = recording('b', seen);
    queue.defer(a, chunk(0));
    queue.defer(b, chunk(0));
    queue.defer(a, chunk(1));
    expect(seen).toEqual([]);
    expect(queue.size).toBe(3);
    await nextTurn();
    expect(seen).toEqual(['a:0', 'b:0', 'a:1']);
    expect(queue.size).toBe(0);
  });

  it('drains at once when asked (an event or a read must not overtake the chunks before it)', async () => {
    const queue = new DeferredObservations();
    const seen: string[] = [];
    const a = recording('a', seen);
    queue.defer(a, chunk(0));
    queue.defer(a, chunk(1));
    queue.drain();
    expect(seen).toEqual(['a:0', 'a:1']);
    queue.defer(a, chunk(2));
    await nextTurn();
    expect(seen).toEqual(['a:0', 'a:1', 'a:2']);
  });

  it('keeps its order when observing emits an event that asks it to drain, or defers more', () => {
    const queue = new DeferredObservations();
    const seen: string[] = [];
    const late = recording('late', seen);
    // As the hub does: every event it emits drains first, and the recorder emits from inside a drain.
    const emitting = recording('a', seen, (c) => {
      queue.drain();
      if (c.index === 0) queue.defer(late, chunk(9));
    });
    queue.defer(emitting, chunk(0));
    queue.defer(emitting, chunk(1));
    queue.drain();
    expect(seen).toEqual(['a:0', 'a:1', 'late:9']);
    expect(queue.size).toBe(0);
  });

  it('loses only the chunk whose observer failed, and says so', () => {
    const queue = new DeferredObservations();
    const seen: string[] = [];
    const faulty: ChunkObserver = {
      observe: () => {
        throw new Error('parser broke');
      },
    };
    queue.defer(recording('a', seen), chunk(0));
    queue.defer(faulty, chunk(1));
    queue.defer(recording('a', seen), chunk(2));
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let warnings: unknown[][];
    try {
      queue.drain();
    } finally {
      warnings = [...warn.mock.calls];
      warn.mockRestore();
    }
    expect(seen).toEqual(['a:0', 'a:2']);
    expect(warnings).toEqual([[expect.stringContaining('parser broke')]]);
  });
});
