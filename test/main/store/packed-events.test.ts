import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../../app/contract.js';
import type { ChunkEvent } from '../../../app/proxy-events.js';
import { packEvents, unpackEvents } from '../../../main/store/packed-events.js';

const ID = 42;

function chunk(index: number, fields: Partial<ChunkEvent> = {}): ChunkEvent {
  return {
    type: 'chunk',
    id: ID,
    direction: 'response',
    offset: index * 16_384,
    size: 16_384,
    readAt: 1234.5678 + index * 0.0131,
    flushedAt: 1234.5701 + index * 0.0131,
    index,
    ...fields,
  };
}

const events: HostEvent[] = [
  { type: 'exchange-closed', id: ID, t: 2000, outcome: 'completed' } as HostEvent,
  chunk(0, { direction: 'request', size: 12, offset: 0 }),
  ...Array.from({ length: 1000 }, (_, i) => chunk(i)),
  chunk(1000, { reads: 7 }),
];

describe('packed events (a stored row)', () => {
  it('gives back every event as it was, chunks included, in order', () => {
    expect(unpackEvents(packEvents(events), ID)).toEqual(events);
  });

  it('writes a stream’s chunks in well under half the characters', () => {
    expect(packEvents(events).length).toBeLessThan(JSON.stringify(events).length / 2);
  });

  it('reads a row written before chunks were packed', () => {
    expect(unpackEvents(JSON.stringify(events), ID)).toEqual(events);
  });
});
