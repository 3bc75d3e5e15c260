import { describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { useCleanup } from '../helpers/cleanup.js';
import { runningHost } from '../helpers/running-host.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();

describe('exchange.resend', () => {
  it('sends a kept request again with its body, or as edited, and says why it cannot', async () => {
    const { host, events, port } = await runningHost(await freshDir(), defer);
    const bodies: string[] = [];
    const upstream = await startServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${body}`);
        res.end('ok');
      });
    });
    defer(() => upstream.close());
    await fetchViaProxy(port, `${upstream.url}/jobs`, { method: 'PUT', body: 'v1' });
    const opened = (): ExchangeOpenedEvent[] =>
      events.filter((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened');
    const first = opened()[0]!;

    const { id } = await host.call('exchange.resend', { id: first.id });
    expect(opened().find((e) => e.id === id)?.resentFrom).toBe(first.id);
    const edited = await host.call('exchange.resend', {
      id: first.id,
      head: `POST ${upstream.url}/jobs?again=1 HTTP/1.1\nx-kind: edited\n`,
      body: 'v2',
    });
    await expect.poll(() => bodies.length).toBe(3);
    expect(bodies).toEqual(['PUT /jobs v1', 'PUT /jobs v1', 'POST /jobs?again=1 v2']);
    expect(edited.id).toBeGreaterThan(id);

    await expect(host.call('exchange.resend', { id: first.id, head: 'nonsense' })).rejects.toThrow(
      'the edited request cannot go: its first line is not "METHOD URL HTTP/version"',
    );
    await expect(host.call('exchange.resend', { id: 424242 })).rejects.toThrow('exchange 424242 is not kept any more');
    // Ended already: nothing to stop.
    expect(await host.call('exchange.stop', { id: first.id })).toEqual({ stopped: false });
    await host.call('proxy.stop', {});
    await expect(host.call('exchange.resend', { id: first.id })).rejects.toThrow(
      `exchange ${first.id} could not be sent again: the proxy is not running`,
    );
  });
});
