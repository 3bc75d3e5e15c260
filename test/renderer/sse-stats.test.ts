import { describe, expect, it } from 'vitest';
import {
  formatChunkRange,
  formatOffset,
  formatRate,
  prettyData,
  previewData,
} from '../../renderer/src/sse/sse-format.js';
import { describeStats, firstIndexAfter, gapBefore, streamStats } from '../../renderer/src/sse/stats.js';

/** Event times in ms on the proxy clock: request at 1000, response head at 1200. */
const REQUEST = 1000;
const RESPONSE = 1200;
const at = (...times: number[]) => times.map((t) => ({ t }));

describe('streamStats', () => {
  it('measures the time to the first event from the request and from the response head', () => {
    const stats = streamStats(at(1450, 1500, 1550), { requestStart: REQUEST, responseStart: RESPONSE });
    expect(stats.count).toBe(3);
    expect(stats.firstFromRequest).toBe(450);
    expect(stats.firstFromResponse).toBe(250);
  });

  it('computes the overall rate from the intervals between first and last event', () => {
    // 11 events 100 ms apart: 10 intervals over 1 s.
    const rows = at(...Array.from({ length: 11 }, (_, i) => 2000 + i * 100));
    expect(streamStats(rows, { requestStart: REQUEST }).overallRate).toBeCloseTo(10);
  });

  it('counts and times a long stream from its first event after its oldest were dropped', () => {
    // 21 events 100 ms apart, the first 11 no longer kept: 20 intervals over 2 s.
    const all = at(...Array.from({ length: 21 }, (_, i) => 1450 + i * 100));
    const stats = streamStats(all.slice(11), { requestStart: REQUEST }, { count: 11, first: all[0] });
    expect(stats.count).toBe(21);
    expect(stats.firstFromRequest).toBe(450);
    expect(stats.overallRate).toBeCloseTo(10);
    expect(describeStats(stats, { live: false, dropped: 11 })).toMatch(/^21 events · .* · 11 older not shown$/);
  });

  it('has no rate or first-event time before there is anything to measure', () => {
    expect(streamStats([], { requestStart: REQUEST, responseStart: RESPONSE })).toEqual({
      count: 0,
      firstFromRequest: undefined,
      firstFromResponse: undefined,
      overallRate: undefined,
      recentRate: undefined,
    });
    expect(streamStats(at(1300), { requestStart: REQUEST }).overallRate).toBeUndefined();
    expect(streamStats(at(1300, 1300), { requestStart: REQUEST }).overallRate).toBeUndefined();
  });

  it('gives the recent rate only while live, falling as the stream goes quiet', () => {
    // A burst of 20 events in the second before 10,000, after a slow start.
    const rows = at(1300, 5000, ...Array.from({ length: 20 }, (_, i) => 9000 + i * 50));
    const times = { requestStart: REQUEST, responseStart: RESPONSE, windowMs: 5000 };
    expect(streamStats(rows, times).recentRate).toBeUndefined();
    expect(streamStats(rows, { ...times, now: 10_000 }).recentRate).toBeCloseTo(20 / 5);
    expect(streamStats(rows, { ...times, now: 13_000 }).recentRate).toBeCloseTo(20 / 5);
    expect(streamStats(rows, { ...times, now: 20_000 }).recentRate).toBe(0);
  });

  it('does not dilute the recent rate with the wait for the first event early on', () => {
    // 4 events 100 ms apart, 100 ms after the last: 3 intervals in 400 ms.
    const rows = at(1300, 1400, 1500, 1600);
    expect(streamStats(rows, { requestStart: REQUEST, responseStart: RESPONSE, now: 1700 }).recentRate).toBeCloseTo(
      7.5,
    );
    expect(streamStats(rows, { requestStart: REQUEST, now: 1600 }).recentRate).toBeCloseTo(10);
    expect(streamStats(at(1300), { requestStart: REQUEST, now: 1500 }).recentRate).toBeUndefined();
    expect(streamStats([], { requestStart: REQUEST, now: 1300 }).recentRate).toBeUndefined();
  });

  it('stays cheap for 100,000 events (no pass over the history)', () => {
    const rows = at(...Array.from({ length: 100_000 }, (_, i) => 2000 + i));
    const started = performance.now();
    for (let i = 0; i < 1000; i++)
      streamStats(rows, { requestStart: REQUEST, responseStart: RESPONSE, now: 102_000 + i });
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('gapBefore and firstIndexAfter', () => {
  const rows = at(100, 150, 150, 400);

  it('gives the gap since the previous event, none for the first', () => {
    expect([0, 1, 2, 3, 4].map((i) => gapBefore(rows, i))).toEqual([undefined, 50, 0, 250, undefined]);
  });

  it('finds the first event after a time', () => {
    expect([0, 100, 149, 150, 399, 400].map((t) => firstIndexAfter(rows, t))).toEqual([0, 1, 1, 3, 3, 4]);
    expect(firstIndexAfter([], 5)).toBe(0);
  });
});

describe('describeStats', () => {
  it('reads "N events · first event after X · Y events/s"', () => {
    const stats = streamStats(at(1450, 1950), { requestStart: REQUEST, responseStart: RESPONSE });
    expect(describeStats(stats, { live: false })).toBe(
      '2 events · first event after 450 ms (250 ms after response headers) · 2.0 events/s',
    );
  });

  it('says it is waiting while live and empty, and shows the recent rate and retry', () => {
    expect(describeStats(streamStats([], { requestStart: REQUEST }), { live: true })).toBe(
      '0 events · waiting for the first event',
    );
    const one = streamStats(at(1450), { requestStart: REQUEST, responseStart: RESPONSE, now: 1700 });
    expect(describeStats(one, { live: true, retryMs: 3000 })).toBe(
      '1 event · first event after 450 ms (250 ms after response headers) · retry 3.0 s',
    );
    const three = streamStats(at(1450, 1550, 1650), { requestStart: REQUEST, responseStart: RESPONSE, now: 1650 });
    expect(describeStats(three, { live: true })).toBe(
      '3 events · first event after 450 ms (250 ms after response headers) · 10.0 events/s · 10.0/s in the last 5 s',
    );
  });
});

describe('cell formats', () => {
  it('shows time since start in seconds with milliseconds', () => {
    expect(formatOffset(1234.4)).toBe('+1.234 s');
    expect(formatOffset(0)).toBe('+0.000 s');
    expect(formatOffset(-5)).toBe('−0.005 s');
  });

  it('shows rates and chunk ranges', () => {
    expect([0.25, 8.44, 1250.2].map(formatRate)).toEqual(['0.25', '8.4', '1,250']);
    expect(formatChunkRange([12, 12])).toBe('#12');
    expect(formatChunkRange([12, 14])).toBe('#12–#14');
    expect(formatChunkRange(undefined)).toBe('');
  });

  it('previews data on one line, cut short', () => {
    expect(previewData('a\nb\r\nc')).toBe('a ⏎ b ⏎ c');
    expect(previewData('x'.repeat(1000))).toHaveLength(241);
  });

  it('pretty-prints JSON and leaves anything else as sent', () => {
    expect(prettyData('{"a":[1,2]}')).toEqual({ text: '{\n  "a": [\n    1,\n    2\n  ]\n}', json: true });
    expect(prettyData('[DONE]')).toEqual({ text: '[DONE]', json: false });
    expect(prettyData('plain text')).toEqual({ text: 'plain text', json: false });
  });
});
