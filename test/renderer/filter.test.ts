import { describe, expect, it } from 'vitest';
import { IMPORTED_ID_BASE, type HostEvent } from '../../app/contract.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import { filterIds, importedFiles, isFiltering, NO_FILTER } from '../../renderer/src/store/filter.js';
import { openedEvent, responseHeadEvent } from '../helpers/host-events.js';

function exchange(
  id: number,
  path: string,
  requestHeaders: [string, string][],
  responseHeaders: [string, string][],
): HostEvent[] {
  return [
    openedEvent(id, { url: `http://api.test${path}`, headers: requestHeaders }),
    responseHeadEvent(id, responseHeaders),
  ];
}

describe('the text filter', () => {
  const traffic = emptyTraffic();
  for (const event of [
    ...exchange(1, '/a', [['X-Request-Id', 'req-7Q']], [['Content-Type', 'application/json']]),
    ...exchange(2, '/b', [], [['OpenAI-Model', 'gpt-x-mini']]),
    ...exchange(3, '/c', [], []),
  ])
    applyEvent(traffic, event);
  const ids = (patch: Partial<typeof NO_FILTER>): number[] =>
    filterIds(traffic.order, traffic.exchanges, { ...NO_FILTER, ...patch });

  it('matches header values and names either way round, case aside', () => {
    expect(ids({ text: 'REQ-7q' })).toEqual([1]);
    expect(ids({ text: 'openai-model: gpt' })).toEqual([2]);
    expect(ids({ text: 'application/json' })).toEqual([1]);
  });

  it('adds the exchanges whose bodies the host found the text in, only while "in bodies" is on', () => {
    expect(ids({ text: 'only-in-a-body', bodyMatches: new Set([3]) })).toEqual([]);
    expect(ids({ text: 'only-in-a-body', inBodies: true, bodyMatches: new Set([3]) })).toEqual([3]);
  });
});

/** An exchange as a HAR import announces it: an id from IMPORTED_ID_BASE and the file's name. */
function imported(n: number, file: string): HostEvent[] {
  return exchange(IMPORTED_ID_BASE + n, `/imported/${n}`, [], []).map((event) =>
    event.type === 'exchange-opened' ? { ...event, importedFrom: file } : event,
  );
}

describe('the source filter', () => {
  const traffic = emptyTraffic();
  const a = IMPORTED_ID_BASE;
  for (const event of [
    ...exchange(1, '/live', [], []),
    ...imported(0, 'a.har'),
    ...exchange(2, '/live-too', [], []),
    ...imported(1, 'b.har'),
    ...imported(2, 'a.har'),
    ...imported(3, 'live'),
  ])
    applyEvent(traffic, event);
  const ids = (patch: Partial<typeof NO_FILTER>): number[] =>
    filterIds(traffic.order, traffic.exchanges, { ...NO_FILTER, ...patch });

  it('shows everything by default', () => {
    expect(ids({})).toEqual([1, a, 2, a + 1, a + 2, a + 3]);
    expect(isFiltering(NO_FILTER)).toBe(false);
  });

  it('shows only what the proxy saw with "live"', () => {
    expect(ids({ source: 'live' })).toEqual([1, 2]);
    expect(isFiltering({ ...NO_FILTER, source: 'live' })).toBe(true);
  });

  it('shows one imported file, even one named like a choice', () => {
    expect(ids({ source: { file: 'a.har' } })).toEqual([a, a + 2]);
    expect(ids({ source: { file: 'live' } })).toEqual([a + 3]);
    expect(ids({ source: { file: 'gone.har' } })).toEqual([]);
  });

  it('combines with the other filters', () => {
    expect(ids({ source: { file: 'a.har' }, text: '/imported/2' })).toEqual([a + 2]);
  });

  it('names each imported file once, in the order they first appear', () => {
    expect(importedFiles(traffic.order, traffic.exchanges)).toEqual(['a.har', 'b.har', 'live']);
    expect(importedFiles([1, 2], traffic.exchanges)).toEqual([]);
  });
});
