import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { lastOpened } from '../helpers/proxy.js';
import { useRig } from '../helpers/schemes.js';

const body = randomBytes(50_000);
const sse = Array.from({ length: 5 }, (_, i) => `event: delta\ndata: {"text":"part ${i}"}\n\n`).join('');

describe('capture', () => {
  const rig = useRig(
    'http',
    (req, res) => {
      if (req.url?.endsWith('/big')) {
        res.writeHead(200, { 'Content-Length': body.length });
        res.write(body.subarray(0, 1000));
        setTimeout(() => res.end(body.subarray(1000)), 20);
      } else if (req.url?.endsWith('/gzip-sse')) {
        const packed = gzipSync(sse);
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Content-Encoding': 'gzip' });
        res.write(packed.subarray(0, 10));
        setTimeout(() => res.end(packed.subarray(10)), 20);
      } else {
        let n = 0;
        req.on('data', (d: Buffer) => (n += d.length));
        req.on('end', () => res.end(String(n)));
      }
    },
    { capture: { memoryBytesPerBody: 1024, maxBytesPerBody: 20_000 } },
  );

  it('forwards the whole body while the copy stops at the cap, in memory then spill, and says so', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/big`);
    expect(res.body.equals(body)).toBe(true);
    const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/big'))!.id;
    await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id);
    const limited = await rig.proxy.waitFor((e) => e.type === 'capture-limited' && e.id === id);
    expect(limited).toMatchObject({ direction: 'response', reason: 'body-cap', atOffset: 20_000 });
    // Nothing more to wait for: the copy is whole once capped, and readable in full at any moment,
    // part of it perhaps still in memory on its way to the spill file.
    const copy = await rig.proxy.proxy.readBody(id, 'response');
    expect(copy?.limited).toBe('body-cap');
    expect(copy?.captured).toBe(20_000);
    expect(copy?.bytes.equals(body.subarray(0, 20_000))).toBe(true);
    const middle = await rig.proxy.proxy.readBody(id, 'response', 500, 1500);
    expect(middle?.bytes.equals(body.subarray(500, 1500))).toBe(true);
  });

  it('captures request bodies too', async () => {
    const sent = randomBytes(5000);
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/upload`, { method: 'POST', body: sent });
    expect(res.body.toString()).toBe('5000');
    const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/upload'))!.id;
    // The copy takes each chunk in the same call that announces it: whole once the last is announced.
    await rig.proxy.waitFor(
      (e) => e.type === 'chunk' && e.id === id && e.direction === 'request' && e.offset + e.size === sent.length,
    );
    expect((await rig.proxy.proxy.readBody(id, 'request'))?.bytes.equals(sent)).toBe(true);
  });

  it('parses a gzip-encoded event stream while forwarding it still encoded', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/gzip-sse`);
    expect(res.body.equals(gzipSync(sse))).toBe(true);
    const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/gzip-sse'))!.id;
    await rig.proxy.waitFor((e) => e.type === 'sse-event' && e.id === id && e.index === 4);
    const events = rig.proxy.events.filter((e): e is SseEvent => e.type === 'sse-event' && e.id === id);
    expect(events.map((e) => [e.event, e.data])).toEqual(
      Array.from({ length: 5 }, (_, i) => ['delta', `{"text":"part ${i}"}`]),
    );
  });
});
