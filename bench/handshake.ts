import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { openTunnel } from './clients.js';
import { median, quantile } from './stats.js';
import type { UpstreamCredentials } from './upstream.js';

const WARM_UP_HOSTS = 3;

export interface HandshakeResult {
  readonly samples: number;
  /** Medians and p90s in ms. */
  readonly direct: { readonly p50: number; readonly p90: number };
  readonly newHost: { readonly p50: number; readonly p90: number };
  readonly cachedHost: { readonly p50: number; readonly p90: number };
}

/** A TLS server on a loopback address of its own, with a certificate naming that address. */
interface AddressedServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

async function serveTlsAt(host: string, credentials: UpstreamCredentials): Promise<AddressedServer> {
  const server = tls.createServer({ key: credentials.key, cert: credentials.issue(host), ALPNProtocols: ['http/1.1'] });
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** TCP connect plus a full TLS handshake straight to the upstream. */
function timeDirectHandshake(upstream: AddressedServer, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = tls.connect({ host: upstream.host, port: upstream.port, ca: caPem, ALPNProtocols: ['http/1.1'] });
    socket.setTimeout(10_000, () => socket.destroy(new Error('direct TLS handshake timed out')));
    socket.once('secureConnect', () => {
      resolve(performance.now() - started);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/**
 * TCP connect to the proxy, CONNECT, and the TLS handshake inside the tunnel. The proxy connects
 * upstream before it answers the CONNECT and shakes hands with the upstream (offering what the
 * client offered) before it answers the client's handshake, so this is both legs in a row; for a
 * name it has not seen, issuing the leaf certificate comes on top.
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

/**
 * Each round: one direct handshake, one to a host new to the proxy, then that host again. Every
 * round's upstream listens on a loopback address of its own (127.0.0.2, .3, ...: all of 127/8 is
 * this machine), so each is a new host with a real upstream to connect to and verify.
 */
export async function measureHandshakes(
  proxyPort: number,
  proxyCaPem: string,
  credentials: UpstreamCredentials,
  samples: number,
): Promise<HandshakeResult> {
  const direct: number[] = [];
  const newHost: number[] = [];
  const cachedHost: number[] = [];
  const rounds = WARM_UP_HOSTS + samples;
  for (let round = 0; round < rounds; round++) {
    const upstream = await serveTlsAt(`127.0.0.${2 + round}`, credentials);
    try {
      const d = await timeDirectHandshake(upstream, credentials.caPem);
      const fresh = await timeProxiedHandshake(proxyPort, proxyCaPem, upstream.host, upstream.port);
      const cached = await timeProxiedHandshake(proxyPort, proxyCaPem, upstream.host, upstream.port);
      if (round < WARM_UP_HOSTS) continue;
      direct.push(d);
      newHost.push(fresh);
      cachedHost.push(cached);
    } finally {
      await upstream.close();
    }
  }
  const summary = (values: number[]): { p50: number; p90: number } => ({
    p50: median(values),
    p90: quantile(values, 0.9),
  });
  return { samples, direct: summary(direct), newHost: summary(newHost), cachedHost: summary(cachedHost) };
}
