import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { Direction, ExchangeOutcome, RawHeaders } from '../../app/proxy-events.js';
import { bodyShortfall } from '../../renderer/src/store/exchange-row.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import type { ExchangeView } from '../../renderer/src/model/exchange.js';

interface Story {
  readonly method?: string;
  readonly requestHeaders?: RawHeaders;
  readonly status?: number;
  readonly responseHeaders?: RawHeaders;
  readonly requestBytes?: number;
  readonly responseBytes?: number;
  readonly outcome?: ExchangeOutcome;
}

function chunk(direction: Direction, size: number): HostEvent {
  return { type: 'chunk', id: 1, direction, offset: 0, size, readAt: 2, flushedAt: 2, index: 0 };
}

/** One exchange as the renderer's model holds it after these events. */
function exchange(story: Story): ExchangeView {
  const { method = 'POST', status, requestBytes = 0, responseBytes = 0, outcome } = story;
  const events: HostEvent[] = [
    {
      type: 'exchange-opened',
      id: 1,
      t: 1,
      wallTime: 0,
      kind: 'http',
      intercepted: false,
      clientAddress: '127.0.0.1',
      request: { method, url: 'http://up.test/upload', httpVersion: '1.1', headers: story.requestHeaders ?? [] },
    },
  ];
  if (requestBytes > 0) events.push(chunk('request', requestBytes));
  if (status !== undefined) {
    events.push({
      type: 'response-head',
      id: 1,
      t: 3,
      response: { status, statusText: '', httpVersion: '1.1', headers: story.responseHeaders ?? [] },
      timings: { dns: -1, connect: -1, ssl: -1 },
      requestSentAt: 2,
    });
  }
  if (responseBytes > 0) events.push(chunk('response', responseBytes));
  if (outcome) {
    events.push({ type: 'exchange-closed', id: 1, t: 4, outcome, requestBytes, responseBytes, pausedMs: 0 });
  }
  const model = emptyTraffic();
  for (const event of events) applyEvent(model, event);
  return model.exchanges.get(1)!;
}

const ANNOUNCED = [['Content-Length', '10000']] as const;

describe('bodyShortfall', () => {
  it('says how much of an announced upload came before the client closed', () => {
    const x = exchange({ requestHeaders: ANNOUNCED, requestBytes: 3000, outcome: 'client-closed' });
    expect(bodyShortfall(x, 'request')).toEqual({ forwarded: 3000, announced: 10000 });
  });

  it('counts an upload still arriving, and one of which nothing came', () => {
    expect(bodyShortfall(exchange({ requestHeaders: ANNOUNCED, requestBytes: 512 }), 'request')).toEqual({
      forwarded: 512,
      announced: 10000,
    });
    const none = exchange({ requestHeaders: ANNOUNCED, outcome: 'upstream-reset' });
    expect(bodyShortfall(none, 'request')).toEqual({ forwarded: 0, announced: 10000 });
  });

  it('says nothing of a body that came whole, had no usable length, or an exchange that completed', () => {
    expect(bodyShortfall(exchange({ requestHeaders: ANNOUNCED, requestBytes: 10000 }), 'request')).toBeUndefined();
    expect(bodyShortfall(exchange({ requestBytes: 3000, outcome: 'client-closed' }), 'request')).toBeUndefined();
    const odd = exchange({ requestHeaders: [['content-length', '10000, 10000']], outcome: 'client-closed' });
    expect(bodyShortfall(odd, 'request')).toBeUndefined();
    // An imported HAR may keep the encoded length beside the decoded text.
    const imported = exchange({ requestHeaders: ANNOUNCED, requestBytes: 3000, outcome: 'completed' });
    expect(bodyShortfall(imported, 'request')).toBeUndefined();
  });

  it('reads a cut download the same way, but not a response that never has a body', () => {
    const cut = exchange({ status: 200, responseHeaders: ANNOUNCED, responseBytes: 4096, outcome: 'upstream-reset' });
    expect(bodyShortfall(cut, 'response')).toEqual({ forwarded: 4096, announced: 10000 });
    const head = exchange({ method: 'HEAD', status: 200, responseHeaders: ANNOUNCED, outcome: 'client-closed' });
    expect(bodyShortfall(head, 'response')).toBeUndefined();
    const notModified = exchange({ status: 304, responseHeaders: ANNOUNCED, outcome: 'client-closed' });
    expect(bodyShortfall(notModified, 'response')).toBeUndefined();
  });
});
