import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LeafCertificates, loadOrCreateCa } from '../proxy-core/index.js';
import { NodeChild } from './children.js';
import type { Upstream } from './clients.js';
import type { H2Upstream } from './h2-clients.js';

/** The name in the upstream's certificate; /etc/hosts maps it to 127.0.0.1, where it listens. */
export const UPSTREAM_TLS_HOST = 'localhost';

/**
 * A certificate for the upstream from a CA of its own, standing in for a public CA: the proxy is
 * told to trust it with --upstream-ca, so upstream TLS is verified as it would be in real use.
 */
export interface UpstreamCredentials {
  readonly caPem: string;
  readonly caFile: string;
  readonly key: string;
  readonly cert: string;
  readonly keyFile: string;
  readonly certFile: string;
  /** A certificate from the same CA for another name or address (same key). */
  issue(host: string): string;
}

export async function makeUpstreamCredentials(dir: string): Promise<UpstreamCredentials> {
  const ca = await loadOrCreateCa(dir);
  // RSA, as many servers still present (and as Sluice's own leaves were until they became P-256):
  // the direct path's handshakes, and so the rows compared with it, stay what they were.
  const leaves = new LeafCertificates(ca, 64, 'rsa');
  const cert = leaves.issuePem(UPSTREAM_TLS_HOST);
  // Leaves share one key the class keeps private; a server presenting a leaf needs that key.
  const key = (leaves as unknown as { leafKeyPem: string }).leafKeyPem;
  const keyFile = join(dir, 'upstream-key.pem');
  const certFile = join(dir, 'upstream-cert.pem');
  await Promise.all([writeFile(keyFile, key, { mode: 0o600 }), writeFile(certFile, cert)]);
  return {
    caPem: ca.certPem,
    caFile: ca.certPath,
    key,
    cert,
    keyFile,
    certFile,
    issue: (host) => leaves.issuePem(host),
  };
}

export interface BulkUpstream {
  readonly child: NodeChild;
  readonly upstream: Upstream;
  /** The same process's HTTP/2 server (TLS, ALPN h2, HTTP/1.1 allowed). */
  readonly h2: H2Upstream;
}

/** Starts the bulk upstream (upstream-server.js) as a child process. */
export async function startBulkUpstream(scriptPath: string, credentials: UpstreamCredentials): Promise<BulkUpstream> {
  const child = new NodeChild(scriptPath, [credentials.keyFile, credentials.certFile]);
  try {
    const line = await child.waitForLine(/^\{.*"https".*\}$/, 30_000);
    const ports = JSON.parse(line[0]) as { http: number; https: number; h2: number };
    return {
      child,
      upstream: {
        httpPort: ports.http,
        httpsPort: ports.https,
        tlsHost: UPSTREAM_TLS_HOST,
        caPem: credentials.caPem,
      },
      h2: { port: ports.h2, tlsHost: UPSTREAM_TLS_HOST, caPem: credentials.caPem },
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
}
