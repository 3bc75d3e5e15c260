import { describe, expect, it } from 'vitest';
import { EventNames, eventTest, MOST_NAMES, nameChoice } from '../../renderer/src/sse/event-filter.js';
import { describeStats, streamStats } from '../../renderer/src/sse/stats.js';
import type { StreamEventRow } from '../../renderer/src/sse/stream-events.js';

let next = 0;
const row = (event: string | undefined, data: string, eventId?: string): StreamEventRow => ({
  index: next++,
  event,
  eventId,
  data,
  t: next,
});

const delta = row('content_block_delta', '{"delta":{"type":"text_delta","text":"Hello"}}', 'e1');
const stop = row('message_stop', '{"type":"message_stop"}', 'e2');
const unnamed = row(undefined, '{"choices":[{"delta":{"content":"hi"}}]}');
const line = row(undefined, '{"message":{"content":"Lines"},"done":false}');

describe('eventTest', () => {
  it('finds text in the name, the id or the data, ignoring case', () => {
    expect(eventTest({ text: 'BLOCK_delta', choice: '' })(delta)).toBe(true);
    expect(eventTest({ text: 'hello', choice: '' })(delta)).toBe(true);
    expect(eventTest({ text: 'e2', choice: '' })(stop)).toBe(true);
    expect(eventTest({ text: 'hello', choice: '' })(stop)).toBe(false);
  });

  it('finds text in an NDJSON line, which is all data', () => {
    expect(eventTest({ text: 'lines', choice: '' })(line)).toBe(true);
    expect(eventTest({ text: 'message_stop', choice: '' })(line)).toBe(false);
  });

  it('keeps only the chosen name, unnamed events being a name of their own', () => {
    const deltas = eventTest({ text: '', choice: nameChoice('content_block_delta') });
    expect([delta, stop, unnamed].map(deltas)).toEqual([true, false, false]);
    const noName = eventTest({ text: '', choice: nameChoice(undefined) });
    expect([delta, stop, unnamed].map(noName)).toEqual([false, false, true]);
    // A name and text together: both must hold.
    expect(eventTest({ text: 'hello', choice: nameChoice('message_stop') })(delta)).toBe(false);
    expect(eventTest({ text: 'hello', choice: nameChoice('content_block_delta') })(delta)).toBe(true);
  });
});

describe('EventNames', () => {
  it('counts the names of a growing stream in the order they came, reading new rows only', () => {
    const rows = [row('message_start', '{}'), delta, delta];
    const names = new EventNames();
    expect(names.sync(rows)).toEqual([
      { name: 'message_start', count: 1 },
      { name: 'content_block_delta', count: 2 },
    ]);
    rows.push(stop, row('', 'keep-alive'), unnamed);
    expect(names.sync(rows)).toEqual([
      { name: 'message_start', count: 1 },
      { name: 'content_block_delta', count: 2 },
      { name: 'message_stop', count: 1 },
      { name: undefined, count: 2 },
    ]);
    expect(names.sync([stop])).toEqual([{ name: 'message_stop', count: 1 }]);
  });

  it('gives up on a stream that names each event afresh', () => {
    const rows = Array.from({ length: MOST_NAMES + 1 }, (_, i) => row(`event-${i}`, ''));
    expect(new EventNames().sync(rows)).toBeUndefined();
    expect(new EventNames().sync(rows.slice(0, MOST_NAMES))).toHaveLength(MOST_NAMES);
  });
});

describe('the summary while filtering', () => {
  it('says how many of the events show', () => {
    const stats = streamStats([{ t: 100 }, { t: 200 }, { t: 300 }], { requestStart: 0 });
    expect(describeStats(stats, { live: false, shown: 1 })).toMatch(/^1 of 3 events · /);
    expect(describeStats(stats, { live: false })).toMatch(/^3 events · /);
  });
});
