import { rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { Direction, ProxyEvent, RawHeaders, ResponseHead } from '../app/proxy-events.js';
import type { CertificateAuthority } from './ca/certificate-authority.js';
import { LeafCertificates } from './ca/leaf-certificates.js';
import { CaptureBudget, type CapturedRange } from './capture/body-capture.js';
import { Recorder } from './capture/recorder.js';
import { makeSpillDir, sweepStaleSpillDirs } from './capture/spill-dirs.js';
import { now } from './clock.js';
import { EventHub, type ProxyEventListener } from './event-hub.js';
import { bracketHost, matchesHost, parseAuthority } from './forward/connect-target.js';
import type { ExchangeServices } from './forward/exchange-base.js';
import { HttpExchange, hostHeader, type HttpTarget } from './forward/http-exchange.js';
import { endToEnd, flatten, toPairs } from './forward/raw-headers.js';
import { SocketBridge } from './forward/socket-bridge.js';
import { UpstreamPool } from './forward/upstream.js';
import { DEFAULT_CAPTURE, DEFAULT_TIMEOUTS, type CaptureOptions, type TimeoutOptions } from './options.js';

export interface ProxyOptions {
  readonly ca: CertificateAuthority;
  /** Extra CA certificates (PEM) to trust for upstream servers. */
  readonly upstreamCaPems?: readonly string[];
  /** Do not verify upstream certificates. */
  readonly insecureUpstream?: boolean;
  /** Hosts whose CONNECT tunnels are passed through raw, never intercepted. */
  readonly passThroughHosts?: readonly string[];
  readonly timeouts?: Partial<TimeoutOptions>;
  readonly capture?: Partial<CaptureOptions>;
}

/** Where a connection that came through CONNECT was headed. */
interface TunnelContext {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

/** How long we wait for a client's first bytes after CONNECT before assuming a server-first protocol. */
const SNIFF_TIMEOUT_MS = 2_000;
const TLS_HANDSHAKE = 0x16;

/** A document the proxy answers itself (see `serveLocal`). */
export interface LocalDocument {
  readonly contentType: string;
  readonly body: string;
}

/**
 * The Sluice proxy: an explicit HTTP proxy that intercepts TLS with a local CA, forwards every
 * stream chunk by chunk with backpressure, and reports what it forwards as typed events.
 */
export class SluiceProxy {
  private readonly hub = new EventHub();
  private readonly server: http.Server;
  private readonly leaves: LeafCertificates;
  private readonly upstream: UpstreamPool;
  private readonly timeouts: TimeoutOptions;
  private readonly recorder: Recorder;
  private readonly spillDir: string;
  private readonly ownsSpillDir: boolean;
  private readonly tunnels = new WeakMap<Duplex, TunnelContext>();
  private readonly localDocuments = new Map<string, LocalDocument>();
  private readonly rawSockets = new Set<Duplex>();
  private readonly services: ExchangeServices;
  private exchangeCount = 0;

  private constructor(
    private readonly options: ProxyOptions,
    spillDir: string,
    ownsSpillDir: boolean,
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const capture = { ...DEFAULT_CAPTURE, ...options.capture };
    this.spillDir = spillDir;
    this.ownsSpillDir = ownsSpillDir;
    this.recorder = new Recorder(this.hub, new CaptureBudget(capture, spillDir));
    this.leaves = new LeafCertificates(options.ca);
    this.upstream = new UpstreamPool({
      extraCaPems: options.upstreamCaPems ?? [],
      insecure: options.insecureUpstream ?? false,
    });
    this.services = {
      hub: this.hub,
      upstream: this.upstream,
      timeouts: this.timeouts,
      openCapture: (id, opts) => this.recorder.open(id, opts),
      nextId: () => ++this.exchangeCount,
    };
    this.server = http.createServer({
      // No whole-request deadline: Node's default of 5 minutes would cut long uploads and streams.
      requestTimeout: 0,
      headersTimeout: this.timeouts.requestHeaderMs,
      keepAliveTimeout: this.timeouts.keepAliveIdleMs,
      connectionsCheckingInterval: Math.min(1_000, this.timeouts.requestHeaderMs),
      noDelay: true,
    });
    this.server.on('request', this.onRequest);
    this.server.on('connect', this.onConnect);
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', this.onClientError);
  }

  static async create(options: ProxyOptions): Promise<SluiceProxy> {
    const given = options.capture?.spillDir;
    // In the background: start-up never waits on deleting what a crashed Sluice left behind.
    if (given === undefined) void sweepStaleSpillDirs();
    const spillDir = given ?? (await makeSpillDir());
    return new SluiceProxy(options, spillDir, given === undefined);
  }

  /** Subscribes to every core event; returns the unsubscribe function. */
  subscribe(listener: ProxyEventListener): () => void {
    return this.hub.subscribe(listener);
  }

  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host, exclusive: true }, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | undefined {
    return (this.server.address() as AddressInfo | null) ?? undefined;
  }

  /**
   * Stops listening and ends every client connection, keeping captures and exchange numbering,
   * so `listen()` can start again (on another port, say) and the history stays whole.
   */
  async stopListening(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.rawSockets) socket.destroy();
    await closed;
  }

  /** Stops listening and ends every connection, then frees captures and spill files. */
  async close(): Promise<void> {
    await this.stopListening();
    this.upstream.destroy();
    this.recorder.clear();
    if (this.ownsSpillDir) await rm(this.spillDir, { recursive: true, force: true });
  }

  /** Captured body bytes [start, end) of an exchange, as forwarded (still content-encoded). */
  readBody(id: number, direction: Direction, start?: number, end?: number): Promise<CapturedRange | undefined> {
    return this.recorder.readBody(id, direction, start, end);
  }

  /** Pauses or resumes body capture for new exchanges; forwarding is unaffected. */
  setCaptureEnabled(enabled: boolean): void {
    this.recorder.setEnabled(enabled);
  }

  clearCaptures(): void {
    this.recorder.clear();
  }

  /** Frees the body copies of exchanges the host no longer keeps; bytes in flight are unaffected. */
  forgetCaptures(ids: Iterable<number>): void {
    for (const id of ids) this.recorder.forget(id);
  }

  /** The PEM certificate the proxy presents for `host`, for diagnostics. */
  leafCertificateFor(host: string): string {
    return this.leaves.issuePem(host);
  }

  private emit(event: ProxyEvent): void {
    if (this.hub.active) this.hub.emit(event);
  }

  /**
   * Serves a small document at `path` to requests made to the proxy itself (origin-form, not inside
   * a tunnel), e.g. the system proxy's PAC script; null stops serving it. Never an exchange.
   */
  serveLocal(path: string, doc: LocalDocument | null): void {
    if (doc) this.localDocuments.set(path, doc);
    else this.localDocuments.delete(path);
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const local = this.tunnels.has(req.socket) ? undefined : this.localDocuments.get(req.url ?? '');
    if (local && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, {
        'Content-Type': local.contentType,
        'Content-Length': Buffer.byteLength(local.body),
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : local.body);
      return;
    }
    const target = this.resolveTarget(req);
    if (typeof target === 'string') {
      this.refuse(req, res, 400, target);
      return;
    }
    new HttpExchange(this.services, req, res, target).start();
  };

  /** Where a request is going: from its tunnel for requests inside CONNECT, else its absolute URL. */
  private resolveTarget(req: IncomingMessage): HttpTarget | string {
    const path = req.url ?? '/';
    const tunnel = this.tunnels.get(req.socket);
    if (tunnel) {
      if (!path.startsWith('/') && path !== '*') return `expected an origin-form request target, got "${path}"`;
      return {
        scheme: tunnel.tls ? 'https' : 'http',
        host: tunnel.host,
        port: tunnel.port,
        path,
        intercepted: tunnel.tls,
        servername: req.socket instanceof TLSSocket ? servernameOf(req.socket) : undefined,
      };
    }
    let url: URL;
    try {
      url = new URL(path);
    } catch {
      return (
        `this is Sluice, an HTTP proxy: send absolute-form requests (GET http://host/path) or CONNECT, ` +
        `not "${path.slice(0, 200)}"`
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported scheme ${url.protocol}`;
    const scheme = url.protocol === 'https:' ? 'https' : 'http';
    return {
      scheme,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : scheme === 'https' ? 443 : 80,
      path: `${url.pathname}${url.search}`,
      intercepted: false,
    };
  }

  /** Something a client sent could not become an exchange; `status` 0 means we could only close. */
  private reportClientError(socket: Duplex, code: string, detail: string, status: number): void {
    this.emit({
      type: 'client-error',
      t: now(),
      wallTime: Date.now(),
      clientAddress: (socket as Socket).remoteAddress ?? '',
      code,
      detail,
      status,
    });
  }

  private refuse(req: IncomingMessage, res: ServerResponse, status: number, detail: string): void {
    this.reportClientError(req.socket, 'bad-request-target', detail, status);
    const body = `Sluice: ${detail}\n`;
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    });
    res.end(body);
  }

  private readonly onConnect = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const authority = parseAuthority(req.url ?? '');
    if (!authority) {
      const detail = `CONNECT needs host:port, got "${(req.url ?? '').slice(0, 200)}"`;
      this.reportClientError(req.socket, 'bad-connect-target', detail, 400);
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', noop);
    // Node's server stops tracking a socket once it is CONNECTed; we must end it on close().
    this.rawSockets.add(socket);
    socket.once('close', () => this.rawSockets.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const clientAddress = req.socket.remoteAddress ?? '';
    if (matchesHost(authority.host, this.options.passThroughHosts ?? [])) {
      this.tunnel(socket, authority, head, clientAddress);
      return;
    }
    const route = (first: Buffer): void => {
      if (first.length === 0) {
        this.tunnel(socket, authority, first, clientAddress);
      } else if (first[0] === TLS_HANDSHAKE) {
        socket.unshift(first);
        this.intercept(socket, authority);
      } else if (looksLikeHttp(first)) {
        socket.unshift(first);
        this.tunnels.set(socket, { ...authority, tls: false });
        this.server.emit('connection', socket);
        // We paused it to sniff; the HTTP server only listens, so flowing must be restored here.
        socket.resume();
      } else {
        this.tunnel(socket, authority, first, clientAddress);
      }
    };
    if (head.length > 0) {
      route(head);
      return;
    }
    const timer = setTimeout(() => {
      socket.off('data', onFirst);
      route(Buffer.alloc(0));
    }, SNIFF_TIMEOUT_MS);
    const onFirst = (first: Buffer): void => {
      clearTimeout(timer);
      socket.pause();
      route(first);
    };
    socket.once('data', onFirst);
    socket.once('close', () => clearTimeout(timer));
  };

  private intercept(socket: Duplex, authority: { host: string; port: number }): void {
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: this.leaves.contextFor(authority.host),
      SNICallback: (name, cb) => {
        try {
          cb(null, this.leaves.contextFor(name));
        } catch (err) {
          cb(err as Error, undefined);
        }
      },
      ALPNProtocols: ['http/1.1'],
    });
    // No resume() here: TLSSocket drains what we unshifted into the handshake itself; a resume
    // would let those bytes flow out as unheard 'data' and the handshake would never finish.
    this.tunnels.set(tlsSocket, { ...authority, tls: true });
    this.server.emit('connection', tlsSocket);
  }

  private tunnel(client: Duplex, authority: { host: string; port: number }, head: Buffer, clientAddress: string): void {
    const target = `${bracketHost(authority.host)}:${authority.port}`;
    const bridge = new SocketBridge(
      this.services,
      'tunnel',
      { method: 'CONNECT', url: target, httpVersion: '1.1', headers: [] },
      clientAddress,
      false,
    );
    const upstream = net.connect({ host: authority.host, port: authority.port, allowHalfOpen: true });
    this.rawSockets.add(upstream);
    upstream.on('close', () => this.rawSockets.delete(upstream));
    upstream.setNoDelay(true);
    let connected = false;
    const connectTimer = setTimeout(() => {
      upstream.destroy(
        Object.assign(new Error(`no connection after ${this.timeouts.upstreamConnectMs / 1000} s`), {
          code: 'upstream-connect-timeout',
        }),
      );
    }, this.timeouts.upstreamConnectMs);
    upstream.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      // Sniffed bytes go back in front, so the pump forwards and counts them like the rest.
      if (head.length > 0) client.unshift(head);
      bridge.attach(client, upstream);
      client.resume();
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (connected) return;
      bridge.failed('proxy-error', err.code ?? 'ERROR', `could not connect to ${target}: ${err.message}`);
      client.destroy();
    });
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', noop);
    const target = this.resolveTarget(req);
    if (typeof target === 'string') {
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const requestHeaders = toPairs(req.rawHeaders);
    const bridge = new SocketBridge(
      this.services,
      'websocket',
      {
        method: req.method ?? 'GET',
        url: `${target.scheme === 'https' ? 'wss' : 'ws'}://${hostHeader(target)}${target.path}`,
        httpVersion: req.httpVersion,
        headers: requestHeaders,
      },
      req.socket.remoteAddress ?? '',
      target.intercepted,
    );
    this.rawSockets.add(socket);
    socket.on('close', () => this.rawSockets.delete(socket));
    const upstreamReq = this.upstream.request(
      target,
      req.method ?? 'GET',
      target.path,
      flatten(endToEnd(requestHeaders, { keepUpgrade: true })),
      { fresh: true, servername: target.servername },
    );
    upstreamReq.on('upgrade', (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      const responseHeaders = toPairs(upRes.rawHeaders);
      bridge.responded(responseHeadOf(upRes, responseHeaders));
      upSocket.setNoDelay(true);
      socket.write(responseHeadText(upRes, responseHeaders));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      bridge.forwardedEarly('response', upHead);
      bridge.forwardedEarly('request', head);
      bridge.attach(socket, upSocket);
    });
    upstreamReq.on('response', (upRes: IncomingMessage) => {
      // The upstream refused the upgrade: relay its answer as-is and close.
      const responseHeaders = toPairs(upRes.rawHeaders);
      bridge.responded(responseHeadOf(upRes, responseHeaders));
      const kept = endToEnd(responseHeaders, { keepTransferEncoding: false });
      kept.push(['Connection', 'close']);
      socket.write(responseHeadText(upRes, kept));
      upRes.pipe(socket);
      upRes.on('end', () => bridge.failed('completed', 'upgrade-refused', `upstream answered ${upRes.statusCode}`));
    });
    upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
      const detail = `could not open the WebSocket upstream: ${err.message}`;
      bridge.failed('proxy-error', err.code ?? 'ERROR', detail);
      if (!socket.destroyed) {
        socket.end(
          `HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\nX-Sluice-Error: ${err.code ?? 'ERROR'}\r\n\r\n`,
        );
      }
    });
    upstreamReq.end();
  };

  private readonly onClientError = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    const code = err.code ?? 'ERROR';
    if (code === 'ECONNRESET' || code === 'EPIPE' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(code);
    const tls = code.startsWith('ERR_SSL') || /alert/i.test(err.message);
    const detail = tls
      ? `TLS handshake with the client failed (${err.message}); if the client does not trust Sluice's CA, install ca.pem`
      : `malformed request: ${err.message}`;
    this.reportClientError(socket, code, detail, tls ? 0 : status);
    if (!tls && socket.writable) {
      const body = `Sluice: ${detail}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Bad Request'}\r\nConnection: close\r\n` +
          `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

function clientErrorStatus(code: string): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_HEADERS_TIMEOUT':
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

function looksLikeHttp(first: Buffer): boolean {
  return /^[A-Z]{3,10} /.test(first.subarray(0, 12).toString('latin1'));
}

function servernameOf(socket: TLSSocket): string | undefined {
  const name = (socket as TLSSocket & { servername?: string | false }).servername;
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

function responseHeadOf(res: IncomingMessage, headers: RawHeaders): ResponseHead {
  return { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', httpVersion: res.httpVersion, headers };
}

function responseHeadText(res: IncomingMessage, headers: readonly (readonly [string, string])[]): string {
  let text = `HTTP/${res.httpVersion} ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

function noop(): void {}
