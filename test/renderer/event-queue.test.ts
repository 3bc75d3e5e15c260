import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import { EventQueue } from '../../renderer/src/store/event-queue.js';

const opened = (id: number): HostEvent => ({ type: 'host-notice', t: id, level: 'info', message: String(id) });
const ids = (events: HostEvent[]): number[] => events.map((e) => (e as { t: number }).t);

describe('EventQueue', () => {
  it('hands events out oldest first across batches, a slice at a time, and counts what is left', () => {
    const queue = new EventQueue();
    queue.push([opened(1), opened(2), opened(3)]);
    queue.push([]);
    queue.push([opened(4)]);
    queue.push([opened(5), opened(6)]);
    expect(queue.size).toBe(6);
    const seen: HostEvent[] = [];
    expect(queue.drain(2, (e) => seen.push(e))).toBe(seen[1]);
    expect(ids(seen)).toEqual([1, 2]);
    expect(queue.size).toBe(4);
    queue.drain(3, (e) => seen.push(e));
    expect(ids(seen)).toEqual([1, 2, 3, 4, 5]);
    expect(queue.drain(10, (e) => seen.push(e))).toBe(seen[5]);
    expect(ids(seen)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(queue.size).toBe(0);
    expect(queue.drain(10, () => expect.unreachable())).toBeUndefined();
  });

  it('keeps order through thousands of small batches, dropping used-up ones as it goes', () => {
    const queue = new EventQueue();
    let next = 0;
    const seen: number[] = [];
    for (let round = 0; round < 50; round++) {
      for (let b = 0; b < 100; b++) queue.push([opened(next++), opened(next++), opened(next++)]);
      queue.drain(250, (e) => seen.push((e as { t: number }).t));
    }
    queue.drain(Infinity, (e) => seen.push((e as { t: number }).t));
    expect(seen).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(queue.size).toBe(0);
  });

  it('forgets everything on clear, and takes new batches after', () => {
    const queue = new EventQueue();
    queue.push([opened(1), opened(2)]);
    queue.drain(1, () => undefined);
    queue.clear();
    expect(queue.size).toBe(0);
    queue.push([opened(9)]);
    const seen: HostEvent[] = [];
    queue.drain(5, (e) => seen.push(e));
    expect(ids(seen)).toEqual([9]);
  });
});
