import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchViaProxy } from '../helpers/client.js';
import { connectH2, h2Request, startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

/** A server whose CA Sluice was not told about: what the user sees must say how to trust it. */
describe('an upstream certificate Sluice cannot verify', () => {
  let authority: UpstreamAuthority;
  let h1: TestServer;
  let h2: H2Server;
  let proxy: TestProxy;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    h1 = await startServer((_req, res) => res.end('never'), { authority });
    h2 = await startH2Server((stream) => stream.respond({ ':status': 200 }, { endStream: true }), { authority });
    proxy = await startProxy();
  });
  afterAll(async () => {
    await proxy?.close();
    await h1?.close();
    await h2?.close();
    await authority?.remove();
  });

  it('HTTP/1.1: a 502 that names the certificate problem and --upstream-ca', async () => {
    const answer = await fetchViaProxy(proxy.port, `https://localhost:${h1.port}/`, { caPem: proxy.caPem });
    expect(answer.status).toBe(502);
    expect(answer.body.toString()).toMatch(/could not verify the upstream's certificate \(\w+\).*--upstream-ca FILE/);
  });

  it('HTTP/2: the same words on the stream', async () => {
    const { session } = await connectH2(proxy.port, `localhost:${h2.port}`, { caPem: proxy.caPem });
    try {
      const answer = await h2Request(session, { ':path': '/' });
      expect(answer.status).toBe(502);
      expect(answer.body.toString()).toContain('--upstream-ca FILE');
    } finally {
      session.destroy();
    }
  });
});
