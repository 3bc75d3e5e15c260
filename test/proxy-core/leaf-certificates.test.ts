import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa } from '../../proxy-core/index.js';
import { LeafCertificates } from '../../proxy-core/ca/leaf-certificates.js';
import { connectThroughProxy } from '../helpers/client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the certificates Sluice presents', () => {
  let authority: UpstreamAuthority;
  let upstream: TestServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    upstream = await startServer((_req, res) => res.end('ok'), { authority });
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await authority?.remove();
  });

  it('an intercepted handshake gets a P-256 leaf for the host, signed by the CA the client trusts', async () => {
    const socket = (await connectThroughProxy(
      proxy.port,
      new URL(`https://localhost:${upstream.port}/`),
      proxy.caPem,
    )) as TLSSocket;
    try {
      expect(socket.authorized).toBe(true);
      const leaf = socket.getPeerX509Certificate()!;
      expect(leaf.publicKey.asymmetricKeyType).toBe('ec');
      expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(leaf.checkHost('localhost')).toBe('localhost');
      expect(leaf.verify(new X509Certificate(proxy.caPem).publicKey)).toBe(true);
      expect(leaf.ca).toBe(false);
    } finally {
      socket.destroy();
    }
  });

  it('an RSA leaf on request (for stand-in upstreams), signed by the same CA', async () => {
    const dir = await tempDir('sluice-leaf-ca-');
    try {
      const ca = await loadOrCreateCa(dir.path);
      const leaf = new X509Certificate(new LeafCertificates(ca, 10, 'rsa').issuePem('api.example.test'));
      expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
      expect(leaf.checkHost('api.example.test')).toBe('api.example.test');
      expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    } finally {
      await dir.remove();
    }
  });
});
