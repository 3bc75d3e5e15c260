import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadOrCreateCa, type CertificateAuthority } from '../../proxy-core/index.js';
import { LeafCertificates } from '../../proxy-core/ca/leaf-certificates.js';
import { tempDir } from './temp-dir.js';

export interface TestServer {
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:1234 or https://localhost:1234 */
  readonly url: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** A CA standing in for a public one, so upstream TLS is really verified in tests. */
export interface UpstreamAuthority {
  readonly ca: CertificateAuthority;
  issue(host: string): { key: string; cert: string };
  remove(): Promise<void>;
}

export async function makeUpstreamAuthority(): Promise<UpstreamAuthority> {
  const dir = await tempDir('sluice-upstream-ca-');
  const ca = await loadOrCreateCa(dir.path);
  const leaves = new LeafCertificates(ca, 10);
  const key = (leaves as unknown as { leafKeyPem: string }).leafKeyPem;
  return { ca, issue: (host) => ({ key, cert: leaves.issuePem(host) }), remove: dir.remove };
}

/** An upstream on 127.0.0.1:0; https when `tls` is given (its certificate names `tls.host`). */
export async function startServer(
  handler: http.RequestListener,
  tls?: { authority: UpstreamAuthority; host?: string },
): Promise<TestServer> {
  const host = tls?.host ?? 'localhost';
  const server = tls ? https.createServer(tls.authority.issue(host), handler) : http.createServer(handler);
  server.keepAliveTimeout = 1000;
  // Upgraded sockets leave the server's books; keep our own so close() really closes.
  const upgraded = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (_req, socket) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = tls ? `https://${host}:${port}` : `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
