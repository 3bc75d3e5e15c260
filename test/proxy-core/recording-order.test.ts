import { describe, expect, it } from 'vitest';
import type http from 'node:http';
import type { ExchangeOpenedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { lastOpened } from '../helpers/proxy.js';
import { useRig } from '../helpers/schemes.js';

const sseEvent = (i: number): string => `event: delta\ndata: {"text":"part ${i}"}\n\n`;
const FAN_OUT = 20;

/** The events of exchange `id`, in the order the proxy emitted them. */
function eventsOf(events: readonly ProxyEvent[], id: number): ProxyEvent[] {
  return events.filter((e) => 'id' in e && e.id === id);
}

describe('recording keeps the order of what was forwarded', () => {
  const fan: http.ServerResponse[] = [];
  const rig = useRig('http', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.flushHeaders();
    if (req.url?.endsWith('/ends-with-last-event')) {
      // The last events and the end of the body leave together, in one turn of the proxy's loop.
      setTimeout(() => {
        res.write(sseEvent(0) + sseEvent(1));
        res.end(sseEvent(2));
      }, 20);
      return;
    }
    // Every stream of the fan-out gets its event in the same instant, once all are open.
    fan.push(res);
    if (fan.length < FAN_OUT) return;
    for (const [i, stream] of fan.entries()) stream.write(sseEvent(i));
    setTimeout(() => fan.forEach((stream) => stream.end()), 20);
  });

  it('announces every chunk and event of a body before the exchange closes, and its copy is whole', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/ends-with-last-event`);
    const expected = sseEvent(0) + sseEvent(1) + sseEvent(2);
    expect(res.body.toString()).toBe(expected);
    const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/ends-with-last-event'))!.id;
    // Read as soon as the client has it all: the copy holds every byte forwarded.
    expect((await rig.proxy.proxy.readBody(id, 'response'))?.bytes.toString()).toBe(expected);
    await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id);
    const events = eventsOf(rig.proxy.events, id);
    const closedAt = events.findIndex((e) => e.type === 'exchange-closed');
    expect(closedAt).toBe(events.length - 1);
    const chunks = events.filter((e) => e.type === 'chunk' && e.direction === 'response');
    expect(chunks.reduce((sum, e) => sum + (e.type === 'chunk' ? e.size : 0), 0)).toBe(expected.length);
    expect(events.filter((e) => e.type === 'sse-event').map((e) => (e.type === 'sse-event' ? e.data : ''))).toEqual([
      '{"text":"part 0"}',
      '{"text":"part 1"}',
      '{"text":"part 2"}',
    ]);
  });

  it('when many streams get an event at once, each stream is recorded as forwarded: chunk, then its event', async () => {
    const responses = await Promise.all(
      Array.from({ length: FAN_OUT }, (_, i) => fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/fan/${i}`)),
    );
    const bodies = responses.map((r) => r.body.toString()).sort();
    expect(bodies).toEqual(Array.from({ length: FAN_OUT }, (_, i) => sseEvent(i)).sort());
    const ids = rig.proxy.events
      .filter((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.includes('/fan/'))
      .map((e) => e.id);
    expect(ids).toHaveLength(FAN_OUT);
    for (const id of ids) {
      await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id);
      const kinds = eventsOf(rig.proxy.events, id)
        .map((e) => e.type)
        .filter((type) => ['response-head', 'chunk', 'sse-event', 'response-end', 'exchange-closed'].includes(type));
      expect(kinds.slice(0, 3)).toEqual(['response-head', 'chunk', 'sse-event']);
      expect(kinds.at(-1)).toBe('exchange-closed');
      const body = await rig.proxy.proxy.readBody(id, 'response');
      expect(bodies).toContain(body?.bytes.toString());
    }
  });
});
