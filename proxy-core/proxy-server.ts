import { rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { Direction, ProxyEvent } from '../app/proxy-events.js';
import type { RpcSchema } from '../app/protobuf-schema.js';
import type { CertificateAuthority } from './ca/certificate-authority.js';
import { LeafCertificates } from './ca/leaf-certificates.js';
import { CaptureBudget, type CapturedRange } from './capture/body-capture.js';
import { Recorder } from './capture/recorder.js';
import { makeSpillDir, sweepStaleSpillDirs } from './capture/spill-dirs.js';
import { now } from './clock.js';
import { EventHub, type ProxyEventListener } from './event-hub.js';
import { bracketHost, parseAuthority } from './forward/connect-target.js';
import type { StreamRule } from '../app/stream-rules.js';
import { RuleSet } from './rules/rule-set.js';
import { Breakpoints } from './rules/breakpoints.js';
import { MockBook, type Mock } from './mock/mock-book.js';
import { RESEND_FIELD, ResendMarks } from './resend/resend-marks.js';
import { sendThroughProxy, type ResendCall, type ResendRequest } from './resend/resend-client.js';
import type { MockPlayback } from '../app/mocks.js';
import type { BreakpointDecision } from './rules/shaped-source.js';
import type { ExchangeServices } from './forward/exchange-base.js';
import type { H2Route } from './forward/h2-exchange.js';
import { H2SessionPool } from './forward/h2-sessions.js';
import { H1OverH2Exchange } from './forward/h1-over-h2-exchange.js';
import { HttpExchange, type HttpTarget } from './forward/http-exchange.js';
import { UpstreamPool } from './forward/upstream.js';
import { clientTlsFailure, ConnectHandler, type ConnectContext, type TunnelContext } from './front/connect-handler.js';
import { isH2Preface, mayBeH2Preface, readFirstBytes } from './front/first-bytes.js';
import { serveH2 } from './front/h2-front.js';
import { ReplaySocket } from './front/replay-socket.js';
import { WebSocketUpgrade } from './front/websocket-upgrade.js';
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
  /** The id of the first exchange (default 1): a host that kept a capture across runs goes on past it. */
  readonly firstExchangeId?: number;
  /** Stream rules in effect from the start (app/stream-rules.ts); `setRules` replaces them. */
  readonly rules?: readonly StreamRule[];
}

/** How long we wait for a client's first bytes after CONNECT before assuming a server-first protocol. */
const FIRST_BYTES_AFTER_CONNECT_MS = 2_000;

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
  private readonly upgrades = new Set<WebSocketUpgrade>();
  private readonly connectionIds = new WeakMap<Duplex, number>();
  private readonly services: ExchangeServices;
  private readonly h2Sessions: H2SessionPool;
  private readonly context: ConnectContext;
  private readonly connectHandler: ConnectHandler;
  /** The HTTP server's own connection handler, for connections we found to speak HTTP/1.x. */
  private readonly serveHttp1Connection: (socket: Duplex) => void;
  private exchangeCount = 0;
  private connectionCount = 0;
  private ruleSet: RuleSet;
  private rpcSchema: RpcSchema | undefined;
  private readonly breakpoints = new Breakpoints();
  private readonly mocks = new MockBook();
  private readonly resends = new ResendMarks();
  private readonly resendCalls = new Set<ResendCall>();
  private readonly openExchanges = new Map<number, import('./forward/exchange-base.js').ExchangeBase>();

  private constructor(
    private readonly options: ProxyOptions,
    spillDir: string,
    ownsSpillDir: boolean,
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.exchangeCount = Math.max(0, Math.floor(options.firstExchangeId ?? 1) - 1);
    this.ruleSet = new RuleSet(options.rules ?? []);
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
      rules: () => this.ruleSet,
      rpcSchema: () => this.rpcSchema,
      breakpoints: this.breakpoints,
      mocks: this.mocks,
      resends: this.resends,
      open: this.openExchanges,
    };
    this.server = http.createServer({
      // No whole-request deadline: Node's default of 5 minutes would cut long uploads and streams.
      requestTimeout: 0,
      headersTimeout: this.timeouts.requestHeaderMs,
      keepAliveTimeout: this.timeouts.keepAliveIdleMs,
      connectionsCheckingInterval: Math.min(1_000, this.timeouts.requestHeaderMs),
      noDelay: true,
    });
    this.h2Sessions = new H2SessionPool(this.upstream, this.timeouts.upstreamConnectMs, this.timeouts.keepAliveIdleMs);
    // Every connection is looked at first (HTTP/2 prior knowledge or HTTP/1.x); the server's own
    // handler then gets those that speak HTTP/1.x. It still listens itself, so Node keeps
    // tracking connections for its header timeout.
    const [httpConnection] = this.server.listeners('connection') as ((socket: Duplex) => void)[];
    if (!httpConnection) throw new Error('node:http server has no connection handler');
    this.serveHttp1Connection = (socket) => httpConnection.call(this.server, socket);
    this.server.removeListener('connection', httpConnection);
    this.server.on('connection', this.onConnection);
    this.context = this.connectContext();
    this.connectHandler = new ConnectHandler(this.context);
    this.server.on('request', this.onRequest);
    this.server.on('connect', this.connectHandler.onConnect);
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', this.onClientError);
  }

  private connectContext(): ConnectContext {
    return {
      services: this.services,
      leaves: this.leaves,
      pool: this.h2Sessions,
      passThroughHosts: this.options.passThroughHosts ?? [],
      firstBytesMs: this.timeouts.firstBytesAfterConnectMs ?? FIRST_BYTES_AFTER_CONNECT_MS,
      keepAliveIdleMs: this.timeouts.keepAliveIdleMs,
      connectUpstreamTls: (destination, socket) =>
        this.upstream.connectTls(destination, { socket: socket as import('node:net').Socket }),
      track: (socket) => {
        this.track(socket);
      },
      connectionIdOf: (socket) => this.connectionIdOf(socket),
      mockedProtocol: (scheme, authority) => this.mocks.protocolFor(scheme, authority.host, authority.port),
      serveHttp1: (socket, tunnel) => {
        this.tunnels.set(socket, tunnel);
        this.connectionIds.set(socket, tunnel.connectionId);
        this.serveHttp1Connection(socket);
        // Paused while its first bytes were read; the HTTP server only listens, so flow is ours to restore.
        if (!(socket instanceof TLSSocket)) socket.resume();
      },
      reportClientError: (socket, code, detail, status) => this.reportClientError(socket, code, detail, status),
      reportProtocolError: (socket, code, detail) => this.reportClientError(socket, code, detail, 0),
    };
  }

  /** Keeps `socket` among those close() ends, until it closes or the returned function is called. */
  private track(socket: Duplex): () => void {
    const untrack = (): void => {
      this.rawSockets.delete(socket);
      socket.off('close', untrack);
    };
    this.rawSockets.add(socket);
    socket.once('close', untrack);
    return untrack;
  }

  private connectionIdOf(socket: Duplex): number {
    let id = this.connectionIds.get(socket);
    if (id === undefined) {
      id = ++this.connectionCount;
      this.connectionIds.set(socket, id);
    }
    return id;
  }

  /**
   * A new client connection: HTTP/2 with prior knowledge (h2c, the preface first) is served as
   * HTTP/2, anything else goes to the HTTP/1.x server. A client silent for the whole
   * request-header timeout is closed, as one that never finishes its request head is.
   */
  private readonly onConnection = (socket: Duplex): void => {
    this.connectionIdOf(socket);
    socket.on('error', noop);
    // Neither ours nor the HTTP server's yet while we wait for its first bytes: close() ends it.
    const untrack = this.track(socket);
    void readFirstBytes(socket, this.timeouts.requestHeaderMs, (b) => !mayBeH2Preface(b) || isH2Preface(b)).then(
      ({ bytes, gone }) => {
        if (socket.destroyed) return;
        if (!this.server.listening) {
          socket.destroy();
          return;
        }
        if (bytes.length === 0 || (gone && !isH2Preface(bytes) && mayBeH2Preface(bytes))) {
          socket.destroy();
          return;
        }
        if (isH2Preface(bytes)) {
          // An HTTP/2 session reads the native handle and would miss bytes put back with unshift.
          serveH2(this.context, new ReplaySocket(socket, bytes), (headers) => this.h2cRoute(socket, headers));
          return;
        }
        socket.unshift(bytes);
        socket.off('error', noop);
        // The HTTP server tracks it from here (close() ends it through closeAllConnections).
        untrack();
        this.serveHttp1Connection(socket);
        socket.resume();
      },
    );
  };

  /** An h2c stream sent to the proxy itself: its own `:scheme` and `:authority` say where it goes. */
  private h2cRoute(socket: Duplex, headers: IncomingHttpHeaders): H2Route | string {
    const scheme = headers[':scheme'];
    const authority = parseAuthority(String(headers[':authority'] ?? ''), scheme === 'https' ? 443 : 80);
    if ((scheme !== 'http' && scheme !== 'https') || !authority) {
      return `an HTTP/2 request to Sluice needs :scheme http or https and an :authority naming the target`;
    }
    return {
      scheme,
      ...authority,
      intercepted: false,
      connectionId: this.connectionIdOf(socket),
      clientAddress: (socket as Socket).remoteAddress ?? '',
    };
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
    for (const call of this.resendCalls) call.abort();
    for (const upgrade of this.upgrades) upgrade.abort();
    for (const socket of this.rawSockets) socket.destroy();
    await closed;
  }

  /** Stops listening and ends every connection, then frees captures and spill files. */
  async close(): Promise<void> {
    this.breakpoints.releaseAll('gone');
    await this.stopListening();
    this.h2Sessions.destroy();
    this.upstream.destroy();
    this.recorder.clear();
    if (this.ownsSpillDir) await rm(this.spillDir, { recursive: true, force: true });
  }

  /** Captured body bytes [start, end) of an exchange, as forwarded (still content-encoded). */
  readBody(id: number, direction: Direction, start?: number, end?: number): Promise<CapturedRange | undefined> {
    return this.recorder.readBody(id, direction, start, end);
  }

  /** Pauses or resumes body capture for new exchanges; forwarding is unaffected. */
  /** Replaces the stream rules; exchanges already under way keep the rules they started with. */
  setRules(rules: readonly StreamRule[]): void {
    this.ruleSet = new RuleSet(rules);
  }

  /**
   * The RPC schemas (app/protobuf-schema.ts) content rules read gRPC, gRPC-Web and Connect
   * messages with: a rule's `where`, `rewrite` and `inject` then work on their JSON. Applies to
   * streams whose rules are chosen from now on.
   */
  setRpcSchema(schema: RpcSchema | undefined): void {
    this.rpcSchema = schema;
  }

  get rules(): readonly StreamRule[] {
    return this.ruleSet.rules;
  }

  /**
   * The user's decision on a stream held at a breakpoint (`breakpoint-held`): let the event go,
   * as it was or as `bytes`, drop it, or let the rest of the stream go. False when nothing is held there.
   */
  resolveBreakpoint(breakpoint: number, decision: BreakpointDecision): boolean {
    return this.breakpoints.resolve(breakpoint, decision);
  }

  /** Lets every held stream go on, unstopped from then on (their exchanges left the user's view). */
  releaseBreakpoints(): void {
    this.breakpoints.releaseAll('released-all');
  }

  /**
   * Replaces the mocks: recorded responses served in the upstream's place to requests with the
   * same method and URL (or path), played as `playback` says. A CONNECT to an origin with mocks is
   * answered without reaching the upstream, which then need not exist; other requests in that
   * tunnel still go to it.
   */
  setMocks(mocks: readonly Mock[], playback: MockPlayback): void {
    this.mocks.set(mocks, playback);
  }

  /**
   * Sends a request again, through this proxy as a client would (so it is forwarded to the real
   * upstream, or a mock, and recorded as any exchange), marked as a resend of exchange `from`.
   * Resolves with the new exchange's id once it has opened; its response is read to the end and
   * kept only as the capture keeps any. Rejects when it could not be sent (the proxy is not
   * listening, the URL is not http or https).
   */
  resend(request: ResendRequest, from: number): Promise<number> {
    const address = this.address();
    if (!address || !this.server.listening) return Promise.reject(new Error('the proxy is not running'));
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return Promise.reject(new Error(`"${request.url}" is not a URL`));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(new Error(`cannot send a ${url.protocol} request again`));
    }
    return new Promise((resolve, reject) => {
      const mark = this.resends.issue(from, resolve);
      const door = { host: reachableHost(address.address), port: address.port, caPem: this.options.ca.certPem };
      const call = sendThroughProxy(door, request, [RESEND_FIELD, mark.value]);
      this.resendCalls.add(call);
      call.done.then(
        () => {
          // Answered, yet never opened here (nothing should do that): said rather than left waiting.
          mark.cancel();
          reject(new Error('the proxy did not record the request sent again'));
        },
        (err: unknown) => {
          // Once opened, how it ended is the exchange's to say; before that, the resend failed.
          mark.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
      void call.done.catch(() => undefined).finally(() => this.resendCalls.delete(call));
    });
  }

  /**
   * Stops an exchange under way, as the user asked: both sides are cut, and it ends as
   * `client-closed` with reason `stopped`. False when it is not open (it ended, or is not this run's).
   */
  stopExchange(id: number): boolean {
    const exchange = this.openExchanges.get(id);
    if (!exchange) return false;
    exchange.stop();
    return true;
  }

  /** Requests each mock (by id) answered since it was set. */
  mockServedCounts(): ReadonlyMap<number, number> {
    return this.mocks.servedCounts();
  }

  /** Exchanges each rule (same index as `rules`) matched since the rules were set. */
  ruleMatches(): number[] {
    return this.ruleSet.matchCounts();
  }

  setCaptureEnabled(enabled: boolean): void {
    this.recorder.setEnabled(enabled);
  }

  clearCaptures(): void {
    this.recorder.clear();
  }

  /** A captured body copied now, when it is all in memory and at most `max` bytes; undefined when not kept. */
  readHeldBody(id: number, direction: Direction, max: number): CapturedRange | 'elsewhere' | undefined {
    return this.recorder.readHeld(id, direction, max);
  }

  /** Frees the body copies of exchanges the host no longer keeps; bytes in flight are unaffected. */
  forgetCaptures(ids: Iterable<number>): void {
    for (const id of ids) this.recorder.forget(id);
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
    const resend = this.resends.take(req.rawHeaders);
    if (resend) delete req.headers[RESEND_FIELD];
    // A mock answers in the upstream's place whatever the upstream speaks.
    const mocked = target.h2Upstream && this.mocks.find(req.method ?? 'GET', targetUrl(target)) !== undefined;
    const exchange =
      target.h2Upstream && !mocked
        ? new H1OverH2Exchange(this.services, this.h2Sessions, req, res, target, target.h2Upstream)
        : new HttpExchange(this.services, req, res, target);
    exchange.resending(resend).start();
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
        connections: tunnel.connections,
        connectionId: tunnel.connectionId,
        h2Upstream: tunnel.h2Upstream,
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
      connectionId: this.connectionIds.get(req.socket),
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

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', noop);
    const target = this.resolveTarget(req);
    if (typeof target === 'string') {
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    // Node's server forgets an upgraded socket; we must end it on close().
    this.track(socket);
    const upgrade = new WebSocketUpgrade(this.services, req, socket, head, target, this.connectionIdOf(req.socket));
    this.upgrades.add(upgrade);
    socket.once('close', () => this.upgrades.delete(upgrade));
    upgrade.start();
  };

  private readonly onClientError = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    const code = err.code ?? 'ERROR';
    if (code === 'ECONNRESET' || code === 'EPIPE' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(code);
    const tls = code.startsWith('ERR_SSL') || /alert/i.test(err.message);
    const detail = tls ? clientTlsFailure(err) : `malformed request: ${err.message}`;
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

/** Where this process reaches a listener bound to `address`: loopback for the any-address. */
function reachableHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}

function targetUrl(target: HttpTarget): string {
  return `${target.scheme}://${bracketHost(target.host)}:${target.port}${target.path}`;
}

function servernameOf(socket: TLSSocket): string | undefined {
  const name = (socket as TLSSocket & { servername?: string | false }).servername;
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

function noop(): void {}
