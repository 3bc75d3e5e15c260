import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { connectH2, startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

describe('stopping an exchange under way', () => {
  let authority: UpstreamAuthority;
  let proxy: TestProxy;
  let sse: TestServer;
  let h2: H2Server;
  let upstreamGone = 0;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
    // A stream that never ends on its own.
    sse = await startServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: first\n\n');
      req.socket.once('close', () => upstreamGone++);
    });
    h2 = await startH2Server(
      (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'text/event-stream' });
        stream.write('data: first\n\n');
        stream.once('close', () => upstreamGone++);
      },
      { authority },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([sse.close(), h2.close()]);
    await authority.remove();
  });

  const openedAt = (suffix: string): Promise<ExchangeOpenedEvent> =>
    proxy.waitFor((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith(suffix));

  it('cuts an HTTP/1.1 stream on both sides: the client sees it incomplete, the upstream is let go', async () => {
    const gone = upstreamGone;
    const response = fetchViaProxy(proxy.port, `${sse.url}/forever`);
    const { id } = await openedAt('/forever');
    await proxy.waitFor((e) => e.type === 'chunk' && e.id === id);
    expect(proxy.proxy.stopExchange(id)).toBe(true);
    const res = await response;
    expect(res.complete).toBe(false);
    expect(res.body.toString()).toBe('data: first\n\n');
    const closed = (await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id)) as ExchangeClosedEvent;
    expect(closed).toMatchObject({ outcome: 'client-closed', reason: 'stopped' });
    await expect.poll(() => upstreamGone).toBe(gone + 1);
    expect(proxy.proxy.stopExchange(id)).toBe(false);
  });

  it('resets an HTTP/2 stream with CANCEL both ways, leaving the connection to its other streams', async () => {
    const gone = upstreamGone;
    const { session } = await connectH2(proxy.port, `localhost:${h2.port}`, { caPem: proxy.caPem });
    try {
      const stream = session.request({ ':method': 'GET', ':path': '/h2-forever' });
      stream.on('error', () => undefined);
      stream.resume();
      const { id } = await openedAt('/h2-forever');
      await proxy.waitFor((e) => e.type === 'chunk' && e.id === id);
      expect(proxy.proxy.stopExchange(id)).toBe(true);
      await new Promise((resolve) => stream.once('close', resolve));
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      await expect.poll(() => upstreamGone).toBe(gone + 1);
      expect(session.destroyed).toBe(false);
    } finally {
      session.destroy();
    }
  });
});
