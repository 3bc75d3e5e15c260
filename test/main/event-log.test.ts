import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { ChunkEvent } from '../../app/proxy-events.js';
import { EventLog } from '../../main/host/event-log.js';
import { chunkEvent, closedEvent, openedEvent, sseEvent } from '../helpers/host-events.js';

const opened = (id: number): HostEvent => openedEvent(id);
const chunk = chunkEvent;
const closed = closedEvent;

describe('the host event log', () => {
  it('keeps each exchange in order and merges chunks past the per-body cap without losing bytes', () => {
    const log = new EventLog({ maxChunksPerBody: 3 });
    log.append(opened(1));
    for (let i = 0; i < 10; i++) log.append(chunk(1, i));
    log.append(closed(1));
    const chunks = log.events().filter((e): e is ChunkEvent => e.type === 'chunk');
    expect(chunks.map((c) => [c.offset, c.size])).toEqual([
      [0, 10],
      [10, 10],
      [20, 80],
    ]);
    expect(log.events().at(-1)?.type).toBe('exchange-closed');
  });

  it('forgets the oldest finished exchanges whole when full, never an open one', () => {
    const forgotten: number[] = [];
    const log = new EventLog({ maxEvents: 10 }, (ids) => forgotten.push(...ids));
    log.append(opened(1));
    for (let id = 2; id <= 6; id++) {
      log.append(opened(id));
      log.append(closed(id));
    }
    const ids = new Set(log.events().map((e) => ('id' in e ? e.id : -1)));
    expect(ids.has(1)).toBe(true);
    expect(log.size).toBeLessThanOrEqual(10);
    expect(ids.has(6)).toBe(true);
    expect(ids.has(2)).toBe(false);
    expect(forgotten).toEqual([2]);
  });

  it("keeps an open event stream's events up to the per-exchange cap, however long it runs", () => {
    const log = new EventLog({ maxEvents: 50, maxMessagesPerExchange: 20 });
    log.append(opened(1));
    for (let index = 0; index < 200; index++) log.append(sseEvent(1, index));
    const kept = log.events().filter((e) => e.type === 'sse-event');
    expect(kept.map((e) => e.type === 'sse-event' && e.data)).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`));
    expect(log.messagesNotKept(1)).toBe(180);
    // The opening, the 20 events kept and the note that the rest were not.
    expect(log.size).toBe(22);
  });

  it('gives back an event stream kept packed exactly as it came, names and ids that appear midway included', () => {
    const log = new EventLog();
    const sent: HostEvent[] = [opened(1)];
    for (let index = 0; index < 12; index++) {
      sent.push(
        chunk(1, index),
        sseEvent(1, index, {
          eventId: index >= 5 ? `id-${index}` : undefined,
          event: index % 4 === 3 ? 'delta' : undefined,
          data: `{"n":${index}}`,
          t: 1000.25 + index,
          chunkRange: [Math.max(0, index - 1), index],
        }),
      );
      if (index === 6) sent.push({ type: 'sse-retry', id: 1, t: 1006.5, retryMs: 3000 });
    }
    sent.push(closed(1));
    for (const event of sent) log.append(event);
    expect(log.eventsOf(1)).toEqual(sent);
  });

  it('says once, where the first message not kept came, that the later ones show only live', () => {
    const log = new EventLog({ maxMessagesPerExchange: 2 });
    log.append(opened(1));
    const added = [0, 1, 2, 3].map((index) =>
      log.append({
        type: 'websocket-message',
        id: 1,
        direction: 'request',
        index,
        t: 100 + index,
        opcode: 1,
        data: `m${index}`,
        binary: false,
        size: 2,
      }),
    );
    expect(added.slice(0, 2)).toEqual([undefined, undefined]);
    expect(added[3]).toBeUndefined();
    expect(added[2]).toMatchObject({
      type: 'capture-limited',
      id: 1,
      direction: 'request',
      t: 102,
      reason: 'message-cap',
    });
    const note = added[2]?.type === 'capture-limited' ? added[2] : undefined;
    expect(note?.detail).toContain('first 2 messages');
    // Kept where it came, so a window opened later reads it after the messages it has.
    expect(log.eventsOf(1)?.map((e) => e.type)).toEqual([
      'exchange-opened',
      'websocket-message',
      'websocket-message',
      'capture-limited',
    ]);
    expect(log.messagesNotKept(1)).toBe(2);
  });

  it('ignores events of exchanges it never saw opened, and clears', () => {
    const log = new EventLog();
    log.append(chunk(7, 0));
    expect(log.events()).toEqual([]);
    log.append(opened(8));
    log.clear();
    expect(log.events()).toEqual([]);
    expect(log.headersOf(8, 'request')).toBeUndefined();
  });
});
