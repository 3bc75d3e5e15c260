import { afterAll, beforeAll } from 'vitest';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from './servers.js';
import { startProxy, type TestProxy } from './proxy.js';
import type http from 'node:http';

export type Scheme = 'http' | 'https';
export const SCHEMES: readonly Scheme[] = ['http', 'https'];

export interface Rig {
  readonly proxy: TestProxy;
  readonly upstream: TestServer;
}

/**
 * One upstream (http, or https with a certificate from a test CA the proxy trusts) and one proxy,
 * made before the suite's tests and removed after them. Read the fields inside tests.
 */
export function useRig(scheme: Scheme, handler: http.RequestListener, proxyOptions = {}): Rig {
  const rig = {} as { proxy: TestProxy; upstream: TestServer };
  let authority: UpstreamAuthority | undefined;
  beforeAll(async () => {
    authority = scheme === 'https' ? await makeUpstreamAuthority() : undefined;
    rig.upstream = await startServer(handler, authority ? { authority } : undefined);
    rig.proxy = await startProxy({
      ...proxyOptions,
      ...(authority ? { upstreamCaPems: [authority.ca.certPem] } : {}),
    });
  });
  afterAll(async () => {
    await rig.proxy?.close();
    await rig.upstream?.close();
    await authority?.remove();
  });
  return rig;
}
