import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { lastOpened } from '../helpers/proxy.js';
import { SCHEMES, useRig } from '../helpers/schemes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** When each SSE event was handed to the upstream socket, per request id, for "before the next" checks. */
const sentAt = new Map<string, number[]>();

describe.each(SCHEMES)('streaming over %s', (scheme) => {
  const rig = useRig(scheme, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/chunks') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let i = 0; i < 5; i++) {
        res.write(Buffer.alloc(100, 65 + i));
        await sleep(80);
      }
      res.end();
    } else if (url.pathname === '/sse') {
      const key = url.searchParams.get('key') ?? '';
      const times: number[] = [];
      sentAt.set(key, times);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      for (let i = 0; i < 20; i++) {
        times.push(performance.now());
        res.write(`id: ${i}\nevent: ${i % 2 ? 'odd' : 'even'}\ndata: {"n":${i}}\ndata: line two\n\n`);
        await sleep(50);
      }
      res.end();
    } else if (url.pathname === '/headers') {
      res.writeHead(200, ['X-Zeta', '1', 'x-alpha', '2', 'X-ZETA', '3', 'Content-Length', '2']);
      res.end(JSON.stringify(req.rawHeaders).length > 0 ? 'ok' : 'no');
    }
  });

  it('delivers each chunk as it arrives, not coalesced', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/chunks`, { caPem: rig.proxy.caPem });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(500);
    // Arrival of each 100-byte block: the first chunk whose cumulative size reaches it.
    const blockArrivals: number[] = [];
    let total = 0;
    for (const a of res.arrivals) {
      total += a.size;
      while (blockArrivals.length < Math.floor(total / 100)) blockArrivals.push(a.at);
    }
    expect(blockArrivals).toHaveLength(5);
    for (let i = 1; i < 5; i++) {
      expect(blockArrivals[i]! - blockArrivals[i - 1]!).toBeGreaterThanOrEqual(40);
    }
  });

  it('delivers each SSE event before the next is sent, and records the same events', async () => {
    const key = `${scheme}-${Math.random()}`;
    let received = '';
    const arrivalOfEvent: number[] = [];
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/sse?key=${key}`, {
      caPem: rig.proxy.caPem,
      onChunk: (chunk, at) => {
        received += chunk.toString();
        const complete = received.split('\n\n').length - 1;
        while (arrivalOfEvent.length < complete) arrivalOfEvent.push(at);
      },
    });
    expect(res.complete).toBe(true);
    const sent = sentAt.get(key)!;
    expect(arrivalOfEvent).toHaveLength(20);
    for (let i = 0; i + 1 < 20; i++) expect(arrivalOfEvent[i]!).toBeLessThan(sent[i + 1]!);

    const opened = await rig.proxy.waitFor((e) => e.type === 'exchange-opened' && e.request.url.includes(key));
    const id = (opened as { id: number }).id;
    await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id);
    const recorded = rig.proxy.events.filter((e): e is SseEvent => e.type === 'sse-event' && e.id === id);
    expect(recorded.map((e) => [e.eventId, e.event, e.data])).toEqual(
      Array.from({ length: 20 }, (_, i) => [String(i), i % 2 ? 'odd' : 'even', `{"n":${i}}\nline two`]),
    );
    expect(recorded.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('keeps header order, case and repeats in both directions', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/headers`, {
      caPem: rig.proxy.caPem,
      headers: { 'X-Mixed-Case': 'a', 'x-lower': 'b' },
    });
    const names = res.rawHeaders.filter((_, i) => i % 2 === 0);
    expect(names.slice(0, 4)).toEqual(['X-Zeta', 'x-alpha', 'X-ZETA', 'Content-Length']);
    const opened = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/headers'));
    expect(opened?.request.headers.map(([n]) => n)).toEqual(expect.arrayContaining(['X-Mixed-Case', 'x-lower']));
  });
});
