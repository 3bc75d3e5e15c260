import type { HostEvent } from '../../app/contract.js';
import type { ChunkEvent } from '../../app/proxy-events.js';

/**
 * An exchange's events as a stored row holds them (`eventsJson`, `replayJson`): JSON, with each
 * chunk event as an array `[direction, offset, size, readAt, flushedAt, index, reads?]`
 * (direction 0 request, 1 response) instead of an object. A stream keeps up to 20,000 chunk
 * events a body; as objects they made a row three times longer, which the store's worker copied
 * into its WASM heap (a heap that never shrinks) and a late window's replay read back. Rows
 * written before hold objects only, and read the same.
 */
export function packEvents(events: readonly HostEvent[]): string {
  return JSON.stringify(events.map((event) => (event.type === 'chunk' ? packChunk(event) : event)));
}

/** The events of the row of exchange `id`, chunks as objects again. */
export function unpackEvents(json: string, id: number): HostEvent[] {
  const events = JSON.parse(json) as (HostEvent | PackedChunk)[];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (Array.isArray(event)) events[i] = unpackChunk(event, id);
  }
  return events as HostEvent[];
}

type PackedChunk = [
  direction: 0 | 1,
  offset: number,
  size: number,
  readAt: number,
  flushedAt: number,
  index: number,
  reads?: number,
];

function packChunk(chunk: ChunkEvent): PackedChunk {
  const packed: PackedChunk = [
    chunk.direction === 'request' ? 0 : 1,
    chunk.offset,
    chunk.size,
    chunk.readAt,
    chunk.flushedAt,
    chunk.index,
  ];
  if (chunk.reads !== undefined) packed.push(chunk.reads);
  return packed;
}

function unpackChunk(packed: PackedChunk, id: number): ChunkEvent {
  const [direction, offset, size, readAt, flushedAt, index, reads] = packed;
  return {
    type: 'chunk',
    id,
    direction: direction === 0 ? 'request' : 'response',
    offset,
    size,
    readAt,
    flushedAt,
    index,
    ...(reads === undefined ? {} : { reads }),
  };
}
