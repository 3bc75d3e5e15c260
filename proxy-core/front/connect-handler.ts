import http, { type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls, { TLSSocket } from 'node:tls';
import type { ConnectTimings } from '../../app/proxy-events.js';
import type { LeafCertificates } from '../ca/leaf-certificates.js';
import { now } from '../clock.js';
import { bracketHost, matchesHost, parseAuthority, type Authority } from '../forward/connect-target.js';
import type { ExchangeServices } from '../forward/exchange-base.js';
import type { H2SessionPool, H2UpstreamTarget } from '../forward/h2-sessions.js';
import { H1Connections } from '../forward/h1-connections.js';
import type { TlsDestination } from '../forward/tls-sessions.js';
import { SocketBridge } from '../forward/socket-bridge.js';
import { readClientHello } from './client-hello.js';
import { isH2Preface, looksLikeHttp1, mayBeH2Preface, readFirstBytes } from './first-bytes.js';
import { serveH2, type H2FrontContext } from './h2-front.js';
import { ReplaySocket } from './replay-socket.js';
import { connectUpstream, UpstreamConnectError, type ConnectedUpstream } from './upstream-connect.js';

/** Where a connection that came through CONNECT was headed, for the HTTP/1.1 requests inside it. */
export interface TunnelContext {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The tunnel's own upstream connections, the first of them made while answering CONNECT. */
  readonly connections: H1Connections;
  readonly connectionId: number;
  /** The upstream speaks only HTTP/2 to this HTTP/1.1 client: requests become streams to it. */
  readonly h2Upstream?: H2UpstreamTarget | undefined;
}

export interface ConnectContext extends H2FrontContext {
  readonly services: ExchangeServices;
  readonly leaves: LeafCertificates;
  readonly pool: H2SessionPool;
  readonly passThroughHosts: readonly string[];
  /** How long after CONNECT the client may stay silent before we take it for a server-first protocol. */
  readonly firstBytesMs: number;
  /** TLS to an upstream over `socket`, verified and resumed as the upstream pool does. */
  connectUpstreamTls(destination: TlsDestination, socket: Duplex): tls.TLSSocket;
  /** Sockets the proxy must end when it stops listening. */
  track(socket: Duplex): void;
  connectionIdOf(socket: Duplex): number;
  /** The protocol mocks for this origin were recorded in, when there are any (proxy-core/mock/). */
  mockedProtocol(scheme: 'http' | 'https', authority: Authority): 'http/1.1' | 'h2' | undefined;
  /** Hands a client connection that speaks HTTP/1.x (inside a tunnel) to the HTTP server. */
  serveHttp1(socket: Duplex, tunnel: TunnelContext): void;
  reportClientError(socket: Duplex, code: string, detail: string, status: number): void;
}

/** Which client connection a CONNECT came on, for the exchanges made of it. */
interface ClientConnection {
  readonly connectionId: number;
  readonly clientAddress: string;
}

/** What the client's first bytes after CONNECT say it speaks. */
type FirstWords =
  | { readonly kind: 'tls'; readonly serverName: string | undefined; readonly alpn: readonly string[] | undefined }
  | { readonly kind: 'h2c' | 'http1' | 'other' };

/**
 * CONNECT, the way the client would have had it without us: Sluice connects upstream first, so
 * a target it cannot reach is answered `502` (`504` when the connect timed out) with the reason,
 * not `200` and a close. Then it reads the client's first bytes and routes: a TLS ClientHello is
 * intercepted with the same ALPN offer made upstream (so each side speaks what the other chose),
 * the HTTP/2 preface is h2c, an HTTP/1.x request line is parsed, anything else is a raw tunnel.
 */
export class ConnectHandler {
  constructor(private readonly ctx: ConnectContext) {}

  readonly onConnect = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.handle(req, socket, head);
  };

  private async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { ctx } = this;
    const authority = parseAuthority(req.url ?? '');
    if (!authority) {
      const detail = `CONNECT needs host:port, got "${(req.url ?? '').slice(0, 200)}"`;
      ctx.reportClientError(socket, 'bad-connect-target', detail, 400);
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', noop);
    // Node's server stops tracking a socket once it is CONNECTed; we must end it on close().
    ctx.track(socket);
    const connectionId = ctx.connectionIdOf(socket);
    const who: ClientConnection = { connectionId, clientAddress: req.socket.remoteAddress ?? '' };

    const passThrough = matchesHost(authority.host, ctx.passThroughHosts);
    // Mocks answer for this origin: its upstream need not exist, and is reached only when needed.
    const mocked = !passThrough && (ctx.mockedProtocol('https', authority) ?? ctx.mockedProtocol('http', authority));
    let upstream: ConnectedUpstream | undefined;
    if (!mocked) {
      upstream = await this.connectOrRefuse(socket, authority, who);
      if (!upstream) return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');

    if (passThrough && upstream) {
      if (head.length > 0) socket.unshift(head);
      this.rawTunnel(socket, upstream, authority, who);
      return;
    }
    if (head.length > 0) socket.unshift(head);
    const { bytes, gone } = await readFirstBytes(socket, ctx.firstBytesMs, (b) => classify(b) !== undefined);
    if (gone || socket.destroyed) {
      // It left before it said enough to be routed: nothing was exchanged, nothing is kept open.
      socket.destroy();
      upstream?.socket.destroy();
      return;
    }
    if (bytes.length > 0) socket.unshift(bytes);
    const words = classify(bytes) ?? { kind: 'other' };
    const timings: ConnectTimings = upstream
      ? { dns: upstream.dnsMs, connect: upstream.connectMs, ssl: -1 }
      : { dns: -1, connect: -1, ssl: -1 };
    switch (words.kind) {
      case 'tls':
        await this.intercept(socket, upstream, authority, words, timings, who, mocked || undefined);
        return;
      case 'h2c':
        this.h2c(socket, upstream, authority, who);
        return;
      case 'http1': {
        const connections = H1Connections.forTunnel(socket, upstream?.socket, timings);
        upstream?.socket.resume();
        ctx.serveHttp1(socket, { ...authority, tls: false, connections, connectionId });
        return;
      }
      case 'other': {
        // Not HTTP after all: nothing a mock can answer, so the upstream is reached now.
        upstream ??= await this.connectOrRefuse(socket, authority, who, false);
        if (upstream) this.rawTunnel(socket, upstream, authority, who);
      }
    }
  }

  /**
   * The connection to the CONNECT's target, or undefined when the client left meanwhile or the
   * target could not be reached (answered `502`/`504` while `canRefuse`, else closed).
   */
  private async connectOrRefuse(
    socket: Duplex,
    authority: Authority,
    who: ClientConnection,
    canRefuse = true,
  ): Promise<ConnectedUpstream | undefined> {
    const { ctx } = this;
    const leaving = new AbortController();
    const onGone = (): void => leaving.abort();
    socket.once('close', onGone);
    let upstream: ConnectedUpstream;
    try {
      upstream = await connectUpstream(
        authority,
        ctx.services.timeouts.upstreamConnectMs,
        leaving.signal,
        ctx.services.upstream.hostLookups,
      );
    } catch (err) {
      socket.off('close', onGone);
      // A client that left while we connected is owed nothing, and nothing was exchanged.
      if (leaving.signal.aborted) return undefined;
      if (canRefuse) this.refuse(socket, authority, who, err as UpstreamConnectError);
      else {
        // The 200 went out already (a mocked origin): the client can only be cut, but it is recorded.
        const { code, message } = err as UpstreamConnectError;
        this.tunnelExchange(authority, who).failed('proxy-error', code, message);
        socket.destroy();
      }
      return undefined;
    }
    socket.off('close', onGone);
    if (socket.destroyed) {
      upstream.socket.destroy();
      return undefined;
    }
    ctx.track(upstream.socket);
    return upstream;
  }

  /** The target could not be reached: say so with a status and the reason, and record it. */
  private refuse(socket: Duplex, authority: Authority, who: ClientConnection, err: UpstreamConnectError): void {
    const { code, status } = err;
    const bridge = this.tunnelExchange(authority, who);
    const body = `Sluice: ${err.message}\n`;
    const statusText = http.STATUS_CODES[status] ?? 'Bad Gateway';
    const headers: [string, string][] = [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(Buffer.byteLength(body))],
      ['X-Sluice-Error', code],
      ['Connection', 'close'],
    ];
    bridge.responded({ status, statusText, httpVersion: '1.1', headers });
    bridge.failed('proxy-error', code, err.message);
    if (!socket.destroyed) {
      socket.end(
        `HTTP/1.1 ${status} ${statusText}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${body}`,
      );
    }
  }

  /** The exchange a CONNECT is recorded as when it is not intercepted: refused, or a raw tunnel. */
  private tunnelExchange(authority: Authority, who: ClientConnection): SocketBridge {
    const target = `${bracketHost(authority.host)}:${authority.port}`;
    return new SocketBridge(
      this.ctx.services,
      'tunnel',
      { method: 'CONNECT', url: target, httpVersion: '1.1', headers: [] },
      who.clientAddress,
      false,
      true,
      who.connectionId,
    );
  }

  private rawTunnel(client: Duplex, upstream: ConnectedUpstream, authority: Authority, who: ClientConnection): void {
    const bridge = this.tunnelExchange(authority, who);
    bridge.attach(client, upstream.socket);
    client.resume();
    upstream.socket.resume();
  }

  /**
   * TLS inside the tunnel. Upstream first, over the connection already made, offering what the
   * client offered (of `h2` and `http/1.1`); the client's handshake is then answered with the
   * protocol the upstream chose, so both legs speak the same and nothing needs translating.
   */
  private async intercept(
    client: Duplex,
    connected: ConnectedUpstream | undefined,
    authority: Authority,
    hello: { serverName: string | undefined; alpn: readonly string[] | undefined },
    timings: ConnectTimings,
    who: ClientConnection,
    /** Mocks answer for this origin (no upstream was reached): the protocol they were recorded in. */
    mocked?: 'http/1.1' | 'h2',
  ): Promise<void> {
    const { ctx } = this;
    const offer = hello.alpn?.filter((p) => p === 'h2' || p === 'http/1.1');
    if (hello.alpn !== undefined && offer?.length === 0) {
      // Not HTTP (say, a mail or database protocol over TLS): nothing for us to read.
      const upstream = connected ?? (await this.connectOrRefuse(client, authority, who, false));
      if (upstream) this.rawTunnel(client, upstream, authority, who);
      return;
    }
    const servername = hello.serverName ?? (isIP(authority.host) ? undefined : authority.host);
    const sslStart = now();
    let secure: TLSSocket | undefined;
    if (connected) {
      const first = await secureUpstream(connected.socket, authority, servername, offer, ctx);
      secure = first.socket;
      if (first.code === NO_APPLICATION_PROTOCOL && offer !== undefined && !offer.includes('h2')) {
        secure = await this.secureH2Only(client, authority, servername);
      }
    }
    if (client.destroyed) {
      secure?.destroy();
      connected?.socket.destroy();
      return;
    }
    const protocol = clientProtocol(offer, secure?.alpnProtocol ?? mocked);
    let context: tls.SecureContext;
    try {
      context = ctx.leaves.contextFor(hello.serverName ?? authority.host);
    } catch {
      context = ctx.leaves.contextFor(authority.host);
    }
    const clientTls = new TLSSocket(client, {
      isServer: true,
      secureContext: context,
      ...(protocol ? { ALPNProtocols: [protocol] } : {}),
    });
    const tlsTimings: ConnectTimings = { ...timings, ssl: secure ? now() - sslStart : -1 };
    const target: H2UpstreamTarget = { scheme: 'https', host: authority.host, port: authority.port, servername };
    const upstreamH2 = secure?.alpnProtocol === 'h2';
    if (secure && upstreamH2) ctx.pool.adopt(target, secure);
    if (protocol === 'h2') {
      // An h2-only client and an upstream that answered HTTP/1.1: streams are translated.
      const http1 = secure && !upstreamH2 ? H1Connections.forTunnel(clientTls, secure, tlsTimings) : undefined;
      // Made on a socket that allows half-open (the HTTP server's), which a TLSSocket inherits;
      // HTTP/2 has no half-closed connection, and a client's FIN must end its session.
      clientTls.allowHalfOpen = false;
      clientTls.on('error', (err: NodeJS.ErrnoException) => this.clientTlsFailed(client, err));
      // The HTTP/1.x path has the server's header timeout; this one needs its own.
      const handshakeTimer = setTimeout(() => client.destroy(), ctx.services.timeouts.requestHeaderMs);
      clientTls.once('close', () => clearTimeout(handshakeTimer));
      clientTls.once('secure', () => {
        clearTimeout(handshakeTimer);
        clientTls.removeAllListeners('error');
        clientTls.on('error', noop);
        // tls.Server clears this when its handshake is done; a TLSSocket made by hand keeps it
        // set, and an HTTP/2 session would wait for ever for a 'secureConnect' that never comes.
        (clientTls as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
        serveH2(ctx, clientTls, () => ({
          ...target,
          intercepted: true,
          connectionId: who.connectionId,
          clientAddress: who.clientAddress,
          http1,
        }));
      });
      return;
    }
    // No resume() here: TLSSocket drains what we unshifted into the handshake itself.
    const connections = H1Connections.forTunnel(clientTls, upstreamH2 ? undefined : secure, tlsTimings);
    ctx.serveHttp1(clientTls, {
      ...authority,
      tls: true,
      connections,
      connectionId: who.connectionId,
      // An HTTP/1.1 client and an upstream that speaks only HTTP/2: requests are translated.
      ...(upstreamH2 ? { h2Upstream: target } : {}),
    });
  }

  /**
   * The upstream refused every protocol the client offered, which an HTTP/2-only server does to a
   * client offering HTTP/1.1 alone: it is asked again for h2 on a new connection, so the client's
   * requests can be translated rather than refused. Undefined when that fails too.
   */
  private async secureH2Only(
    client: Duplex,
    authority: Authority,
    servername: string | undefined,
  ): Promise<TLSSocket | undefined> {
    const leaving = new AbortController();
    const onGone = (): void => leaving.abort();
    client.once('close', onGone);
    try {
      const again = await connectUpstream(
        authority,
        this.ctx.services.timeouts.upstreamConnectMs,
        leaving.signal,
        this.ctx.services.upstream.hostLookups,
      );
      this.ctx.track(again.socket);
      const { socket } = await secureUpstream(again.socket, authority, servername, ['h2'], this.ctx);
      if (socket?.alpnProtocol === 'h2') return socket;
      socket?.destroy();
      again.socket.destroy();
      return undefined;
    } catch {
      return undefined;
    } finally {
      client.off('close', onGone);
    }
  }

  /** h2c with prior knowledge inside the tunnel (gRPC with insecure credentials does this). */
  private h2c(
    client: Duplex,
    upstream: ConnectedUpstream | undefined,
    authority: Authority,
    who: ClientConnection,
  ): void {
    const target: H2UpstreamTarget = { scheme: 'http', host: authority.host, port: authority.port };
    if (upstream) {
      // Reading again in the same tick the session takes over the handle: no byte can slip out.
      upstream.socket.resume();
      this.ctx.pool.adopt(target, upstream.socket);
    }
    // The preface was read in JavaScript; an HTTP/2 session reads the native handle, so it
    // must be given a socket that replays those bytes first.
    const preface = client.read() as Buffer | null;
    serveH2(this.ctx, new ReplaySocket(client, preface ?? Buffer.alloc(0)), () => ({
      ...target,
      intercepted: false,
      connectionId: who.connectionId,
      clientAddress: who.clientAddress,
    }));
    client.resume();
  }

  private clientTlsFailed(client: Duplex, err: NodeJS.ErrnoException): void {
    this.ctx.reportClientError(client, err.code ?? 'ERROR', clientTlsFailure(err), 0);
    client.destroy();
  }
}

/** Words for a failed TLS handshake with a client, most often one that does not trust our CA. */
export function clientTlsFailure(err: Error): string {
  return `TLS handshake with the client failed (${err.message}); if the client does not trust Sluice's CA, install ca.pem`;
}

/** What the first bytes are, or undefined while they could still be more than one thing. */
function classify(bytes: Buffer): FirstWords | undefined {
  if (bytes.length === 0) return undefined;
  if (bytes[0] === 0x16) {
    const hello = readClientHello(bytes);
    if (hello.state === 'need-more') return undefined;
    if (hello.state === 'complete') return { kind: 'tls', serverName: hello.serverName, alpn: hello.alpn };
    return { kind: 'other' };
  }
  if (mayBeH2Preface(bytes)) return isH2Preface(bytes) ? { kind: 'h2c' } : undefined;
  if (looksLikeHttp1(bytes)) return { kind: 'http1' };
  // "G", "GE", "GET": a method still arriving, not yet anything else.
  if (bytes.length <= 10 && /^[A-Z]+$/.test(bytes.toString('latin1'))) return undefined;
  return { kind: 'other' };
}

/**
 * The protocol to answer the client's ALPN with: the upstream's choice when the client offered
 * it; after a failed or protocol-less upstream handshake, HTTP/1.1 if offered (a failure is then
 * reported per request), else h2. No ALPN offered, none answered.
 */
function clientProtocol(
  offer: readonly string[] | undefined,
  chosen: string | false | null | undefined,
): string | undefined {
  if (offer === undefined) return undefined;
  if (typeof chosen === 'string' && offer.includes(chosen)) return chosen;
  return offer.includes('http/1.1') ? 'http/1.1' : 'h2';
}

/** OpenSSL's code for a peer's no_application_protocol alert (none of the ALPN offer would do). */
const NO_APPLICATION_PROTOCOL = 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL';

/**
 * TLS to the upstream over the connection already made. No socket when it fails (each request
 * then says why), with the error's code.
 */
function secureUpstream(
  socket: Duplex,
  authority: Authority,
  servername: string | undefined,
  offer: readonly string[] | undefined,
  ctx: ConnectContext,
): Promise<{ socket?: TLSSocket; code?: string }> {
  return new Promise((resolve) => {
    const secure = ctx.connectUpstreamTls({ ...authority, servername, ALPNProtocols: offer }, socket);
    const timer = setTimeout(() => secure.destroy(), ctx.services.timeouts.upstreamConnectMs);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.off('error', onError);
      secure.off('close', onError);
      secure.on('error', noop);
      resolve({ socket: secure });
    });
    const onError = (err?: NodeJS.ErrnoException | boolean): void => {
      clearTimeout(timer);
      secure.destroy();
      resolve(typeof err === 'object' && err.code !== undefined ? { code: err.code } : {});
    };
    secure.once('error', onError);
    secure.once('close', onError);
  });
}

function noop(): void {}
