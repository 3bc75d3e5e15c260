import tls, { type TLSSocket } from 'node:tls';

/** Destinations remembered at most; a session ticket is a few hundred bytes. */
const MAX_SESSIONS = 512;

/** Where a TLS connection goes and what it offers: a session is resumed only for the same. */
export interface TlsDestination {
  readonly host: string;
  readonly port: number;
  readonly servername?: string | undefined;
  readonly ALPNProtocols?: readonly string[] | undefined;
}

/**
 * The last TLS session each upstream destination gave us, offered when connecting there again.
 * A resumed handshake skips the server's certificate chain and signature and Node's parse of the
 * chain for verification (`getPeerCertificate(true)`), which made up most of the proxy's CPU per
 * new upstream connection. Node's https.Agent keeps such a cache for its own connections; the
 * connections Sluice opens itself (CONNECT tunnels, HTTP/2 sessions) had none.
 *
 * One cache belongs to one upstream trust configuration (one `UpstreamPool`): a session made
 * without verification must never stand in for a verified handshake. A destination whose
 * handshake fails is forgotten, so a server that stopped honouring the ticket gets a full one.
 */
export class TlsSessionCache {
  private readonly sessions = new Map<string, Buffer>();

  /** `tls.connect` with `options`, resuming the destination's last session and keeping its next. */
  connect(destination: TlsDestination, options: tls.ConnectionOptions): TLSSocket {
    const key = keyOf(destination);
    const session = this.sessions.get(key);
    const socket = tls.connect({ ...options, ...(session ? { session } : {}) });
    socket.on('session', (ticket: Buffer) => this.remember(key, ticket));
    socket.once('error', () => this.sessions.delete(key));
    return socket;
  }

  clear(): void {
    this.sessions.clear();
  }

  private remember(key: string, ticket: Buffer): void {
    // Re-inserted so the map's order is least recently given first.
    this.sessions.delete(key);
    this.sessions.set(key, ticket);
    if (this.sessions.size > MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
  }
}

function keyOf(d: TlsDestination): string {
  return `${d.host}:${d.port}\n${d.servername ?? ''}\n${(d.ALPNProtocols ?? []).join(',')}`;
}
