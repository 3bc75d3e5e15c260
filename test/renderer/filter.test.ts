import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import { filterIds, NO_FILTER } from '../../renderer/src/store/filter.js';

function exchange(
  id: number,
  path: string,
  requestHeaders: [string, string][],
  responseHeaders: [string, string][],
): HostEvent[] {
  return [
    {
      type: 'exchange-opened',
      id,
      t: id,
      wallTime: 0,
      kind: 'http',
      intercepted: false,
      clientAddress: '127.0.0.1',
      request: { method: 'GET', url: `http://api.test${path}`, httpVersion: '1.1', headers: requestHeaders },
    },
    {
      type: 'response-head',
      id,
      t: id + 0.5,
      response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers: responseHeaders },
      timings: { dns: -1, connect: -1, ssl: -1 },
      requestSentAt: id,
    },
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
