import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import {
  createSecureContext,
  rootCertificates,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import { RawReadAgent, RawReadHttpsAgent } from './raw-reads.js';
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

/**
 * How long a kept-alive upstream connection may sit unused before Sluice closes it. Node's agent
 * honours a server's `Keep-Alive: timeout=N` (letting go a second early) only below its own
 * timeout, and has none by default: without one, a connection the server is closing at that very
 * moment takes the next request, and an upload already under way cannot be sent again. Below the
 * idle limits of common servers that announce none (nginx 75 s, load balancers 60 s).
 */
export const UPSTREAM_IDLE_KEEP_MS = 15_000;

/** Keep-alive connection pools to upstream servers, verified TLS by default. */
export class UpstreamPool {
  // Plain-HTTP connections are made so that responses can be read raw (raw-reads.ts).
  private readonly httpAgent = new RawReadAgent({
    keepAlive: true,
    scheduling: 'lifo',
    timeout: UPSTREAM_IDLE_KEEP_MS,
  });
  private readonly freshHttpAgent = new RawReadAgent({ keepAlive: false });
  private readonly httpsAgent: https.Agent;
  /** Built once: a context per connection would re-parse every root certificate each time. */
  private readonly secureContext: SecureContext | undefined;
  /** Sessions of the TLS connections made outside the https agent (which keeps its own). */
  private readonly tlsSessions = new TlsSessionCache();

  constructor(readonly tls: UpstreamTlsOptions) {
    this.secureContext =
      tls.extraCaPems.length > 0 ? createSecureContext({ ca: [...rootCertificates, ...tls.extraCaPems] }) : undefined;
    this.httpsAgent = new RawReadHttpsAgent({
      keepAlive: true,
      scheduling: 'lifo',
      timeout: UPSTREAM_IDLE_KEEP_MS,
      rejectUnauthorized: !tls.insecure,
      ...(this.secureContext ? { secureContext: this.secureContext } : {}),
    });
  }

  /**
   * A request to `target` with headers given as a flat raw list (order and case kept).
   * `agent: false` gives a fresh connection, as a protocol upgrade needs.
   */
  request(
    target: UpstreamTarget,
    method: string,
    path: string,
    headers: string[],
    options: { fresh?: boolean; servername?: string | undefined; agent?: http.Agent | undefined } = {},
  ): http.ClientRequest {
    const base = {
      host: target.host,
      port: target.port,
      method,
      path,
      headers,
      setHost: false,
    };
    if (target.scheme === 'http') {
      return http.request({ ...base, agent: options.fresh ? this.freshHttpAgent : (options.agent ?? this.httpAgent) });
    }
    const servername = options.servername ?? target.host;
    const tlsRequest: https.RequestOptions & { ALPNProtocols: string[] } = {
      ...base,
      agent: options.fresh ? false : (options.agent ?? this.httpsAgent),
      ...(isIP(servername) ? {} : { servername }),
      ...this.tlsOptions(),
      ALPNProtocols: ['http/1.1'],
    };
    return https.request(tlsRequest);
  }

  /** What a TLS connection to an upstream needs to be verified as this pool verifies. */
  tlsOptions(): { rejectUnauthorized: boolean; secureContext?: SecureContext } {
    return {
      rejectUnauthorized: !this.tls.insecure,
      ...(this.secureContext ? { secureContext: this.secureContext } : {}),
    };
  }

  /**
   * TLS to an upstream outside the agents (a CONNECT tunnel's upstream, an HTTP/2 session), verified
   * as this pool verifies and resuming the destination's last session. `options.socket`, when
   * given, is the connection already made to `destination`.
   */
  connectTls(destination: TlsDestination, options: ConnectionOptions = {}): TLSSocket {
    return this.tlsSessions.connect(destination, {
      host: destination.host,
      port: destination.port,
      ...(destination.servername ? { servername: destination.servername } : {}),
      ...(destination.ALPNProtocols && destination.ALPNProtocols.length > 0
        ? { ALPNProtocols: [...destination.ALPNProtocols] }
        : {}),
      ...options,
      ...this.tlsOptions(),
    });
  }

  destroy(): void {
    this.tlsSessions.clear();
    this.httpAgent.destroy();
    this.freshHttpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
