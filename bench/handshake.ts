import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { openTunnel, type Upstream } from './clients.js';
import { median, quantile } from './stats.js';

const WARM_UP_HOSTS = 3;

export interface HandshakeResult {
  readonly samples: number;
  /** Medians and p90s in ms. */
  readonly direct: { readonly p50: number; readonly p90: number };
  readonly newHost: { readonly p50: number; readonly p90: number };
  readonly cachedHost: { readonly p50: number; readonly p90: number };
}

/** TCP connect plus a full TLS handshake straight to the upstream. */
function timeDirectHandshake(upstream: Upstream): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = tls.connect({
      host: '127.0.0.1',
      port: upstream.httpsPort,
      servername: upstream.tlsHost,
      ca: upstream.caPem,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('direct TLS handshake timed out')));
    socket.once('secureConnect', () => {
      resolve(performance.now() - started);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/**
 * TCP connect to the proxy, CONNECT, and the TLS handshake inside the tunnel. The proxy contacts
 * no upstream for this (it does so only when a request arrives), so for a name it has not seen,
 * the extra time over a cached name is issuing the leaf certificate.
 */
async function timeProxiedHandshake(
  proxyPort: number,
  proxyCaPem: string,
  host: string,
  port: number,
): Promise<number> {
  const started = performance.now();
  const socket = await openTunnel(proxyPort, host, port, proxyCaPem);
  const ms = performance.now() - started;
  socket.destroy();
  return ms;
}

/** Each round: one direct handshake, one to a name new to the proxy, then that name again. */
export async function measureHandshakes(
  proxyPort: number,
  proxyCaPem: string,
  upstream: Upstream,
  samples: number,
): Promise<HandshakeResult> {
  const direct: number[] = [];
  const newHost: number[] = [];
  const cachedHost: number[] = [];
  const rounds = WARM_UP_HOSTS + samples;
  for (let round = 0; round < rounds; round++) {
    // Names under .localhost never need DNS here: no upstream connection is made.
    const host = `bench-new-${round}.localhost`;
    const d = await timeDirectHandshake(upstream);
    const fresh = await timeProxiedHandshake(proxyPort, proxyCaPem, host, upstream.httpsPort);
    const cached = await timeProxiedHandshake(proxyPort, proxyCaPem, host, upstream.httpsPort);
    if (round < WARM_UP_HOSTS) continue;
    direct.push(d);
    newHost.push(fresh);
    cachedHost.push(cached);
  }
  const summary = (values: number[]): { p50: number; p90: number } => ({
    p50: median(values),
    p90: quantile(values, 0.9),
  });
  return { samples, direct: summary(direct), newHost: summary(newHost), cachedHost: summary(cachedHost) };
}
