import { afterEach, describe, expect, it } from 'vitest';
import type { EventBatch, HostEvent } from '../../app/contract.js';
import type { ChunkEvent } from '../../app/proxy-events.js';
import { EventBatcher } from '../../main/host/event-batcher.js';
import { rpcMessage, rpcOpened, rpcStatus } from './rpc-events.js';

const made: EventBatcher[] = [];
afterEach(() => {
  for (const batcher of made.splice(0)) batcher.close();
});

/** A batcher whose consumer is not ready until `open()`, so pushes only queue. */
function gatedBatcher(maxQueued: number): { batcher: EventBatcher; open: () => HostEvent[] } {
  const batches: EventBatch[] = [];
  let ready = false;
  const batcher = new EventBatcher({ maxQueued, send: (batch) => batches.push(batch), ready: () => ready });
  made.push(batcher);
  const open = (): HostEvent[] => {
    ready = true;
    batcher.flushNow();
    return batches.flatMap((b) => b.events);
  };
  return { batcher, open };
}

function chunk(id: number, index: number): ChunkEvent {
  return { type: 'chunk', id, direction: 'response', offset: 0, size: 5, readAt: index, flushedAt: index, index };
}

describe('EventBatcher and RPC events', () => {
  it('drops chunks first, then RPC messages (as SSE events and WebSocket messages), never the status', () => {
    const { batcher, open } = gatedBatcher(8);
    // Chunks of different exchanges cannot merge, so overflow must drop.
    const events: HostEvent[] = [
      rpcOpened(1),
      chunk(2, 0),
      rpcMessage(1, 0),
      rpcMessage(1, 1),
      chunk(3, 0),
      rpcMessage(1, 2),
      rpcMessage(1, 3),
      rpcStatus(1),
      rpcMessage(1, 4),
    ];
    for (const event of events) batcher.push(event);
    // 9 > 8: down to 6 by dropping both chunks, then the oldest message.
    expect(batcher.dropped).toBe(3);
    const delivered = open();
    expect(delivered[0]).toMatchObject({ type: 'events-dropped', count: 3 });
    expect(delivered.slice(1)).toEqual([events[0], events[3], events[5], events[6], events[7], events[8]]);
  });

  it('keeps the status when only messages and statuses overflow', () => {
    const { batcher, open } = gatedBatcher(8);
    const events: HostEvent[] = [rpcOpened(1), rpcStatus(1, { t: 1 })];
    for (let n = 0; n < 6; n++) events.push(rpcMessage(1, n));
    events.push(rpcStatus(1, { t: 2 }));
    for (const event of events) batcher.push(event);
    expect(batcher.dropped).toBe(3);
    // The three oldest messages went; both statuses stayed where they were.
    expect(open().slice(1)).toEqual([events[0], events[1], ...events.slice(5)]);
  });
});
