/** Host events for tests that feed a log, an archive or the renderer's store by hand. */
import type { HostEvent, ProxyStatus, SystemProxyStatus } from '../../app/contract.js';
import type { ChunkEvent, RawHeaders, SseEvent } from '../../app/proxy-events.js';
import type { SluiceHost } from '../../main/host/sluice-host.js';

/** Event `index` of a stream: data `e<index>`, read at `index` ms, in chunk `index`, unless `fields` say. */
export function sseEvent(id: number, index: number, fields: Partial<Omit<SseEvent, 'type'>> = {}): SseEvent {
  return {
    type: 'sse-event',
    id,
    index,
    eventId: undefined,
    event: undefined,
    data: `e${index}`,
    t: index,
    chunkRange: [index, index],
    ...fields,
  };
}

export function openedEvent(
  id: number,
  request: { method?: string; url?: string; headers?: RawHeaders } = {},
): HostEvent {
  return {
    type: 'exchange-opened',
    id,
    t: id,
    wallTime: 0,
    kind: 'http',
    intercepted: false,
    clientAddress: '127.0.0.1',
    request: {
      method: request.method ?? 'GET',
      url: request.url ?? `http://example.test/${id}`,
      httpVersion: '1.1',
      headers: request.headers ?? [['Host', 'example.test']],
    },
  };
}

export function responseHeadEvent(id: number, headers: RawHeaders = []): HostEvent {
  return {
    type: 'response-head',
    id,
    t: id + 0.5,
    response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers },
    timings: { dns: -1, connect: -1, ssl: -1 },
    requestSentAt: id,
  };
}

/** The response's chunk number `index`, every chunk `size` bytes. */
export function chunkEvent(id: number, index: number, size = 10): ChunkEvent {
  return {
    type: 'chunk',
    id,
    direction: 'response',
    offset: index * size,
    size,
    readAt: index,
    flushedAt: index + 0.1,
    index,
  };
}

export function closedEvent(id: number): HostEvent {
  return { type: 'exchange-closed', id, t: 100, outcome: 'completed', requestBytes: 0, responseBytes: 0, pausedMs: 0 };
}

/** A proxy running on 127.0.0.1:8080 with capture on, as the host reports it. */
export const runningProxy: ProxyStatus = {
  state: 'running',
  host: '127.0.0.1',
  port: 8080,
  captureEnabled: true,
  captureKept: false,
};

/** The system proxy switch off, on a desktop that supports it. */
export const systemProxyOff: SystemProxyStatus = { state: 'off', supported: true, targets: ['GNOME'], mode: 'manual' };

/** What a new window is sent: the feed's batches until one comes after a quiet spell. */
export async function feedUntilQuiet(host: SluiceHost): Promise<HostEvent[]> {
  const events: HostEvent[] = [];
  let last = Date.now();
  const stop = host.openFeed({
    send: (batch) => {
      events.push(...batch.events);
      last = Date.now();
    },
  });
  try {
    while (Date.now() - last < 300) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    stop();
  }
  return events;
}

/**
 * What a window shows once it asked for every exchange its replay sent in short
 * (`exchange-held`): each such exchange's events as `exchange.events` gives them, in its place.
 */
export async function withHeldDetails(host: SluiceHost, replay: readonly HostEvent[]): Promise<HostEvent[]> {
  const whole = new Map<number, HostEvent[]>();
  for (const event of replay) {
    if (event.type === 'exchange-held')
      whole.set(event.id, (await host.call('exchange.events', { id: event.id })).events);
  }
  return replay.flatMap((event) => {
    if (!('id' in event) || !whole.has(event.id)) return [event];
    return event.type === 'exchange-opened' ? whole.get(event.id)! : [];
  });
}
