import { isIP } from 'node:net';
import {
  createSecureContext,
  rootCertificates,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import type { Duplex } from 'node:stream';
import { H1Connections } from './h1-connections.js';
import { H1Request, type H1RequestHead, type H1RequestOwner } from './h1-request.js';
import { HostLookups } from './host-lookups.js';
import { connectTlsWithRawReads, connectWithRawReads } from './raw-reads.js';
import { TlsSessionCache, type TlsDestination } from './tls-sessions.js';

export interface UpstreamTlsOptions {
  /** Extra CA certificates (PEM) trusted for upstream servers, on top of the system roots. */
  readonly extraCaPems: readonly string[];
  /** Skip upstream certificate verification entirely. */
  readonly insecure: boolean;
}

export interface UpstreamTarget {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

/** Where an HTTP/1.1 request goes, and how. */
export interface H1SendOptions {
  /** A new connection, not a kept-alive one (a retry after a stale one failed). */
  readonly fresh?: boolean;
  readonly servername?: string | undefined;
  /** A client tunnel's own connections (`H1Connections.forTunnel`), instead of the shared pool. */
  readonly connections?: H1Connections | undefined;
}

/** Keep-alive connection pools to upstream servers, verified TLS by default. */
export class UpstreamPool {
  /** Connections of Sluice's own HTTP/1.1 client (h1-request.ts), shared by requests not in a tunnel. */
  private readonly h1 = new H1Connections();
  /**
   * Built once and shared by every upstream TLS connection: without one, each `tls.connect`
   * builds its own (OpenSSL's SSL_CTX_new and its algorithm fetches, plus a parse of every extra
   * CA), 0.2-0.4 ms of CPU per connection here.
   */
  private readonly secureContext: SecureContext;
  /** The last session of each TLS destination, resumed on the next connection there. */
  private readonly tlsSessions = new TlsSessionCache();
  /** Upstream hosts' addresses, shared by a burst of connections and kept for a moment. */
  readonly hostLookups = new HostLookups();

  constructor(readonly tls: UpstreamTlsOptions) {
    // With no `ca`, Node trusts its root store (and NODE_EXTRA_CA_CERTS), as tls.connect would.
    this.secureContext = createSecureContext(
      tls.extraCaPems.length > 0 ? { ca: [...rootCertificates, ...tls.extraCaPems] } : {},
    );
  }

  /**
   * An HTTP/1.1 request to `target` on one of Sluice's own connections (a parked one when there
   * is one), its head written as given; the exchange writes the body and reads the response.
   */
  sendHttp1(
    target: UpstreamTarget,
    head: H1RequestHead,
    owner: H1RequestOwner,
    options: H1SendOptions = {},
  ): H1Request {
    const servername = options.servername ?? target.host;
    const connections = options.connections ?? this.h1;
    // A tunnel's connections all go to its one destination.
    const key = options.connections ? '' : `${target.scheme}:${target.host}:${target.port}:${servername}`;
    const connection = connections.take(key, () => this.connectHttp1(target, servername), options.fresh);
    return new H1Request(connections, key, connection, head, owner);
  }

  /** A new connection for Sluice's own HTTP/1.1 client: read raw, TLS verified and resumed. */
  connectHttp1(target: UpstreamTarget, servername = target.host): Duplex {
    if (target.scheme === 'http') {
      const socket = connectWithRawReads({
        host: target.host,
        port: target.port,
        noDelay: true,
        lookup: this.hostLookups.lookup,
      });
      this.hostLookups.forgetIfUnreached(socket, target.host);
      return socket;
    }
    const destination: TlsDestination = {
      host: target.host,
      port: target.port,
      ...(isIP(servername) ? {} : { servername }),
      ALPNProtocols: ['http/1.1'],
    };
    // tls.connect takes `onread` for the TCP connection it makes, though its options type omits it.
    return connectTlsWithRawReads((onread) =>
      this.connectTls(destination, { onread, noDelay: true } as ConnectionOptions & { onread: typeof onread }),
    );
  }

  /** What a TLS connection to an upstream needs to be verified as this pool verifies. */
  private tlsOptions(): { rejectUnauthorized: boolean; secureContext: SecureContext } {
    return { rejectUnauthorized: !this.tls.insecure, secureContext: this.secureContext };
  }

  /**
   * TLS to an upstream outside the agents (a CONNECT tunnel's upstream, an HTTP/2 session), verified
   * as this pool verifies and resuming the destination's last session. `options.socket`, when
   * given, is the connection already made to `destination`.
   */
  connectTls(destination: TlsDestination, options: ConnectionOptions = {}): TLSSocket {
    const socket = this.tlsSessions.connect(destination, {
      host: destination.host,
      port: destination.port,
      ...(destination.servername ? { servername: destination.servername } : {}),
      ...(destination.ALPNProtocols && destination.ALPNProtocols.length > 0
        ? { ALPNProtocols: [...destination.ALPNProtocols] }
        : {}),
      // Used only when no connection is given.
      lookup: this.hostLookups.lookup,
      ...options,
      ...this.tlsOptions(),
    });
    if (!options.socket) this.hostLookups.forgetIfUnreached(socket, destination.host);
    return socket;
  }

  destroy(): void {
    this.h1.destroy();
    this.tlsSessions.clear();
    this.hostLookups.clear();
  }
}
