import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { lastOpened, startProxy } from '../helpers/proxy.js';
import { SCHEMES, useRig } from '../helpers/schemes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function closedFor(events: ProxyEvent[], marker: string): ExchangeClosedEvent | undefined {
  const opened = lastOpened(events, (e) => e.request.url.includes(marker));
  return events.find((e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === opened?.id);
}

describe.each(SCHEMES)('how exchanges end, over %s', (scheme) => {
  const rig = useRig(
    scheme,
    async (req, res) => {
      const path = req.url ?? '/';
      if (path.startsWith('/reset-length')) {
        res.writeHead(200, { 'Content-Length': '100000' });
        res.write(Buffer.alloc(30_000, 'a'));
        await sleep(50);
        res.socket?.destroy();
      } else if (path.startsWith('/reset-chunked')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first part\n');
        await sleep(50);
        res.socket?.destroy();
      } else if (path.startsWith('/endless-sse')) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        const timer = setInterval(() => res.write('data: tick\n\n'), 20);
        res.on('close', () => clearInterval(timer));
      } else if (path.startsWith('/silent')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('hello\n');
        // and then nothing, forever
      } else {
        res.end('ok');
      }
    },
    { timeouts: { idleMs: 400 } },
  );

  it('an upstream reset mid-body (Content-Length) never looks complete and is reported', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/reset-length`, { caPem: rig.proxy.caPem });
    expect(res.status).toBe(200);
    expect(res.complete).toBe(false);
    expect(res.body.length).toBeLessThan(100_000);
    expect(res.body.every((b) => b === 97)).toBe(true);
    await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.outcome === 'upstream-reset');
    expect(closedFor(rig.proxy.events, '/reset-length')?.outcome).toBe('upstream-reset');
  });

  it('an upstream reset mid-body (chunked) sends no terminating chunk', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/reset-chunked`, { caPem: rig.proxy.caPem });
    expect(res.complete).toBe(false);
    expect(res.body.toString()).toBe('first part\n');
    await sleep(100);
    expect(closedFor(rig.proxy.events, '/reset-chunked')?.outcome).toBe('upstream-reset');
  });

  it('a reader that leaves an SSE stream is "client-closed", not a failure', async () => {
    const reader = new AbortController();
    const done = fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/endless-sse`, {
      caPem: rig.proxy.caPem,
      signal: reader.signal,
    });
    await rig.proxy.waitFor((e) => e.type === 'sse-event');
    const opened = lastOpened(rig.proxy.events, (e) => e.request.url.includes('endless'));
    reader.abort();
    const closed = await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened?.id);
    expect(closed.type === 'exchange-closed' && closed.outcome).toBe('client-closed');
    await done;
  });

  it('a stream silent past the idle timeout is closed as idle-timeout', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/silent`, { caPem: rig.proxy.caPem });
    expect(res.body.toString()).toBe('hello\n');
    expect(res.complete).toBe(false);
    await sleep(50);
    const closed = closedFor(rig.proxy.events, '/silent');
    expect(closed?.outcome).toBe('idle-timeout');
  });
});

describe('when the upstream cannot be reached', () => {
  it('answers 502 and reports a proxy error with the cause', async () => {
    const proxy = await startProxy();
    try {
      const unused = net.createServer();
      await new Promise<void>((r) => unused.listen(0, '127.0.0.1', r));
      const port = (unused.address() as net.AddressInfo).port;
      await new Promise<void>((r) => unused.close(() => r()));
      const res = await fetchViaProxy(proxy.port, `http://127.0.0.1:${port}/nothing-here`);
      expect(res.status).toBe(502);
      expect(res.body.toString()).toContain('ECONNREFUSED');
      const closed = closedFor(proxy.events, '/nothing-here');
      expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'ECONNREFUSED' });
    } finally {
      await proxy.close();
    }
  });
});
