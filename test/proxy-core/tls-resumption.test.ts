import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { connectThroughProxy, fetchViaProxy } from '../helpers/client.js';
import { connectH2, h2Request, startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

/** Whether each TLS connection the server accepted resumed a session, in order. */
function resumptions(server: { on(event: 'secureConnection', f: (s: TLSSocket) => void): unknown }): boolean[] {
  const seen: boolean[] = [];
  server.on('secureConnection', (socket) => seen.push(socket.isSessionReused()));
  return seen;
}

/**
 * Each CONNECT tunnel makes its own TLS connection upstream. The second one to a server resumes
 * the first one's session, as a browser's would: no certificate chain to send and verify again.
 */
describe('upstream TLS sessions are resumed across CONNECT tunnels', () => {
  let authority: UpstreamAuthority;
  let h1: TestServer;
  let h2: H2Server;
  let proxy: TestProxy;
  let h1Resumed: boolean[];
  let h2Resumed: boolean[];

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    h1 = await startServer((_req, res) => res.end('hello'), { authority });
    h1Resumed = resumptions(h1.server as unknown as Parameters<typeof resumptions>[0]);
    h1.server.on('upgrade', (_req: unknown, socket: Duplex) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    });
    h2 = await startH2Server((stream) => stream.respond({ ':status': 200 }, { endStream: true }), { authority });
    h2Resumed = resumptions(h2.server as unknown as Parameters<typeof resumptions>[0]);
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy?.close();
    await h1?.close();
    await h2?.close();
    await authority?.remove();
  });

  it('HTTP/1.1: the first handshake is full, the next ones resume, and every answer is right', async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await fetchViaProxy(proxy.port, `https://localhost:${h1.port}/${i}`, { caPem: proxy.caPem });
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe('hello');
    }
    expect(h1Resumed).toEqual([false, true, true]);
  });

  it('WebSocket upgrades: their own upstream connections resume too', async () => {
    const before = h1Resumed.length;
    for (let i = 0; i < 2; i++) {
      const url = new URL(`https://localhost:${h1.port}/ws`);
      const socket = await connectThroughProxy(proxy.port, url, proxy.caPem);
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n')) resolve(text);
        });
        socket.write(
          `GET /ws HTTP/1.1\r\nHost: localhost:${h1.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
      });
      expect(answer).toMatch(/^HTTP\/1\.1 101 /);
      socket.destroy();
    }
    // Each tunnel's connection made at CONNECT, and each upgrade's own: none a full handshake.
    expect(h1Resumed.length).toBeGreaterThanOrEqual(before + 4);
    expect(h1Resumed.slice(before).every(Boolean)).toBe(true);
  });

  it('HTTP/2: the same for tunnels whose client and upstream speak h2', async () => {
    for (let i = 0; i < 2; i++) {
      const { session } = await connectH2(proxy.port, `localhost:${h2.port}`, { caPem: proxy.caPem });
      try {
        expect((await h2Request(session, { ':path': '/' })).status).toBe(200);
      } finally {
        session.destroy();
      }
    }
    expect(h2Resumed).toEqual([false, true]);
  });
});

/** A session made without verification must not stand in for a verified handshake. */
describe('a proxy that verifies does not resume what an insecure one was given', () => {
  it('keeps sessions per proxy: the verifying proxy still refuses an unknown CA', async () => {
    const authority = await makeUpstreamAuthority();
    const server = await startServer((_req, res) => res.end('hello'), { authority });
    const insecure = await startProxy({ insecureUpstream: true });
    const verifying = await startProxy();
    try {
      const url = `https://localhost:${server.port}/`;
      expect((await fetchViaProxy(insecure.port, url, { caPem: insecure.caPem })).status).toBe(200);
      expect((await fetchViaProxy(insecure.port, url, { caPem: insecure.caPem })).status).toBe(200);
      const refused = await fetchViaProxy(verifying.port, url, { caPem: verifying.caPem });
      expect(refused.status).toBe(502);
      expect(refused.body.toString()).toContain('--upstream-ca FILE');
    } finally {
      await insecure.close();
      await verifying.close();
      await server.close();
      await authority.remove();
    }
  });
});
