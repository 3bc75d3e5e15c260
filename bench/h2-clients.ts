import { once } from 'node:events';
import http2 from 'node:http2';
import tls from 'node:tls';
import { openTunnel, type Route } from './clients.js';
import { MiB } from './stats.js';

/** An HTTP/2 upstream over TLS at 127.0.0.1; its certificate names `tlsHost`. */
export interface H2Upstream {
  readonly port: number;
  readonly tlsHost: string;
  /** The CA that issued the upstream's certificate; direct clients trust it. */
  readonly caPem: string;
}

/**
 * The client's receive windows, the same direct and through the proxy. Node's defaults (64 KiB
 * per stream and for the connection) let a sender put only a few frames in flight per event-loop
 * turn, so a loopback transfer would measure the window, not the proxy.
 */
const STREAM_WINDOW_BYTES = 16 * MiB;
const CONNECTION_WINDOW_BYTES = 256 * MiB;

/**
 * What browsers offer. Offering h2 alone, a proxy without HTTP/2 fails the handshake
 * (no_application_protocol), which would read as broken TLS rather than as "no h2".
 */
const ALPN_OFFER = ['h2', 'http/1.1'] as const;

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The upstream answers at once and sends flat out, so a session with nothing arriving for this
 * long has stalled (a proxy that accepts streams but never answers them): fail in seconds rather
 * than at the transfer timeout.
 */
const IDLE_TIMEOUT_MS = 10_000;

/** The proxy finished the TLS handshake without choosing h2: it does not speak HTTP/2 (yet). */
export class H2NotNegotiated extends Error {
  constructor(alpn: string | false | null) {
    super(`proxy did not negotiate h2 (ALPN: ${alpn || 'none'})`);
  }
}

function connectDirect(upstream: H2Upstream): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: upstream.port,
      servername: upstream.tlsHost,
      ca: upstream.caPem,
      ALPNProtocols: [...ALPN_OFFER],
    });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('direct TLS handshake timed out')));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * An HTTP/2 session to the upstream: straight there, or the way clients reach one through an
 * explicit proxy (CONNECT, TLS to the proxy's leaf for the upstream's name, then h2 inside).
 */
export async function openH2Session(route: Route, upstream: H2Upstream): Promise<http2.ClientHttp2Session> {
  const socket =
    route.via === 'direct'
      ? await connectDirect(upstream)
      : await openTunnel(route.port, upstream.tlsHost, upstream.port, route.caPem, CONNECT_TIMEOUT_MS, ALPN_OFFER);
  if (socket.alpnProtocol !== 'h2') {
    socket.destroy();
    if (route.via === 'proxy') throw new H2NotNegotiated(socket.alpnProtocol);
    throw new Error(`upstream did not negotiate h2 (ALPN: ${socket.alpnProtocol || 'none'})`);
  }
  const session = http2.connect(`https://${upstream.tlsHost}:${upstream.port}`, {
    createConnection: () => socket,
    settings: { initialWindowSize: STREAM_WINDOW_BYTES },
  });
  try {
    await once(session, 'connect');
  } catch (err) {
    session.destroy();
    throw err;
  }
  session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
  return session;
}

/**
 * GETs every path at once on `session`, each on its own stream, and reads them to their ends.
 * Resolves with the bytes received in all; rejects on the first stream that fails, when nothing
 * arrives for IDLE_TIMEOUT_MS, or when the lot takes longer than `timeoutMs` (the session is
 * destroyed then, so nothing keeps running).
 */
export function downloadAll(
  session: http2.ClientHttp2Session,
  paths: readonly string[],
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let total = 0;
    let open = paths.length;
    const settle = (): void => {
      clearTimeout(timer);
      session.setTimeout(0);
      session.off('error', fail);
    };
    const fail = (err: Error): void => {
      settle();
      session.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`${paths.length} stream(s) not complete within ${timeoutMs} ms (${total} bytes read)`)),
      timeoutMs,
    );
    session.setTimeout(IDLE_TIMEOUT_MS, () =>
      fail(new Error(`nothing arrived for ${IDLE_TIMEOUT_MS} ms (${total} bytes read)`)),
    );
    session.once('error', fail);
    for (const path of paths) {
      const stream = session.request({ ':path': path });
      let responded = false;
      stream.once('response', (headers) => {
        responded = true;
        const status = headers[':status'];
        if (status !== 200) fail(new Error(`${path}: status ${status} ${String(headers['x-sluice-error'] ?? '')}`));
      });
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
      });
      stream.once('error', fail);
      // A reset stream closes without 'error' for some codes (and still emits 'end'), so 'close'
      // is where a stream's fate is read.
      stream.once('close', () => {
        if (!responded) {
          fail(new Error(`${path}: stream closed with no response (RST code ${stream.rstCode})`));
          return;
        }
        if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
          fail(new Error(`${path}: stream reset (code ${stream.rstCode}) after ${total} bytes in all`));
          return;
        }
        if (--open > 0) return;
        settle();
        resolve(total);
      });
    }
  });
}

/** Closes a session and its socket; a session already torn down by a failure is left alone. */
export async function closeH2Session(session: http2.ClientHttp2Session): Promise<void> {
  if (session.destroyed) return;
  await new Promise<void>((resolve) => session.close(resolve));
}
