import http2, { type ClientHttp2Session } from 'node:http2';
import net, { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { bracketHost } from './connect-target.js';
import { H2_MAX_SESSION_MEMORY_MB, H2_SETTINGS, widenConnectionWindow } from './h2-settings.js';
import { StreamWindowBudget } from './h2-window-budget.js';
import type { UpstreamPool, UpstreamTarget } from './upstream.js';

export interface H2UpstreamTarget extends UpstreamTarget {
  /** SNI and certificate name for https; defaults to the host when it is not an address. */
  readonly servername?: string | undefined;
}

/** The upstream did not speak HTTP/2 when asked (no `h2` in its ALPN answer). */
export class NotH2Error extends Error {
  readonly code = 'upstream-not-h2';
}

/** How long an origin that answered without HTTP/2 is sent HTTP/1.1 without asking again. */
const HTTP1_ONLY_REMEMBERED_MS = 5 * 60_000;

interface PooledSession {
  readonly session: ClientHttp2Session;
  /** Streams we opened on it that have not closed yet, and the window budget they share. */
  readonly streams: StreamWindowBudget;
  /** It received GOAWAY: no new streams. */
  goingAway: boolean;
}

/**
 * HTTP/2 sessions to upstream servers, pooled per origin (scheme, host, port and server name).
 * A stream goes to a session with room under the server's `maxConcurrentStreams`, else a new
 * session is opened. A session that received GOAWAY or closed takes no new streams. Idle sessions
 * close after `idleMs`.
 */
export class H2SessionPool {
  private readonly sessions = new Map<string, PooledSession[]>();
  private readonly connecting = new Map<string, Promise<PooledSession>>();
  /** Origins that did not speak HTTP/2 when asked, and until when we take their word for it. */
  private readonly http1Only = new Map<string, number>();
  private destroyed = false;

  constructor(
    private readonly upstream: UpstreamPool,
    private readonly connectTimeoutMs: number,
    private readonly idleMs: number,
  ) {}

  /**
   * Makes a session over a connection made elsewhere (while answering CONNECT). Like a new
   * one, it takes streams once the server's SETTINGS are in; streams that come meanwhile wait for
   * it, and if the origin turns out not to speak HTTP/2 (an HTTP/1.1 server answering the h2c
   * preface) they, and later ones, go as HTTP/1.1.
   */
  adopt(target: H2UpstreamTarget, socket: Duplex): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    // Made half-open for raw tunnels; HTTP/2 has no half-closed connection, and an upstream's FIN
    // must end the session (Node's http2 only hears 'close').
    (socket as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = false;
    const session = connectSession(target, () => socket);
    this.pool(keyOf(target), whenReady(session, target, this.connectTimeoutMs)).catch(noop);
  }

  /** Opens a stream's worth of room: a session for `target`; call `release` when the stream closes. */
  async acquire(target: H2UpstreamTarget): Promise<{ session: ClientHttp2Session; release: () => void }> {
    const key = keyOf(target);
    const until = this.http1Only.get(key);
    if (until !== undefined && until > Date.now()) throw new NotH2Error(`${key} does not speak HTTP/2`);
    const pooled = this.take(key) ?? (await this.connectAndTake(key, target));
    let released = false;
    return {
      session: pooled.session,
      release: () => {
        if (released) return;
        released = true;
        pooled.streams.closed();
      },
    };
  }

  destroy(): void {
    this.destroyed = true;
    for (const list of this.sessions.values()) for (const { session } of list) session.destroy();
    this.sessions.clear();
  }

  /**
   * A session with room, its room taken in the same step: streams that wait together for one new
   * session must each see the others' places, or they would all pile onto it.
   */
  private take(key: string): PooledSession | undefined {
    for (const pooled of this.sessions.get(key) ?? []) {
      const { session } = pooled;
      if (session.closed || session.destroyed || pooled.goingAway) continue;
      const limit = session.remoteSettings.maxConcurrentStreams ?? Number.MAX_SAFE_INTEGER;
      if (pooled.streams.count < limit) {
        pooled.streams.opened();
        return pooled;
      }
    }
    return undefined;
  }

  private connectAndTake(key: string, target: H2UpstreamTarget): Promise<PooledSession> {
    // Streams that arrive together share one new session rather than each opening their own.
    const pending = this.connecting.get(key);
    if (pending) return pending.then(() => this.take(key) ?? this.connectAndTake(key, target));
    // Registered before any waiter's: the stream that opened the session gets the first place.
    return this.pool(key, openSession(target, this.upstream, this.connectTimeoutMs)).then((pooled) => {
      pooled.streams.opened();
      return pooled;
    });
  }

  /**
   * A session on its way, pooled once ready; streams for its origin wait for it meanwhile (unless
   * another is already on its way). An origin that turns out not to speak HTTP/2 is remembered.
   */
  private pool(key: string, ready: Promise<ClientHttp2Session>): Promise<PooledSession> {
    const made = ready.then(
      (session) => {
        const pooled = prepare(session, this.idleMs);
        if (this.destroyed) session.destroy();
        else this.add(key, pooled);
        return pooled;
      },
      (err: unknown) => {
        if (err instanceof NotH2Error) this.http1Only.set(key, Date.now() + HTTP1_ONLY_REMEMBERED_MS);
        throw err;
      },
    );
    if (!this.connecting.has(key)) {
      this.connecting.set(key, made);
      const forget = (): void => {
        if (this.connecting.get(key) === made) this.connecting.delete(key);
      };
      made.then(forget, forget);
    }
    return made;
  }

  private add(key: string, pooled: PooledSession): void {
    const list = this.sessions.get(key) ?? [];
    list.push(pooled);
    this.sessions.set(key, list);
    pooled.session.once('close', () => {
      const current = this.sessions.get(key)?.filter((p) => p !== pooled) ?? [];
      if (current.length > 0) this.sessions.set(key, current);
      else this.sessions.delete(key);
    });
  }
}

function originOf(target: H2UpstreamTarget): string {
  return `${target.scheme}://${bracketHost(target.host)}:${target.port}`;
}

function keyOf(target: H2UpstreamTarget): string {
  return `${originOf(target)}/${target.servername ?? ''}`;
}

function connectSession(target: H2UpstreamTarget, createConnection?: () => Duplex): ClientHttp2Session {
  return http2.connect(originOf(target), {
    settings: H2_SETTINGS,
    maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
    ...(createConnection ? { createConnection } : {}),
  });
}

/** Listeners every upstream session needs, however it was made. */
function prepare(session: ClientHttp2Session, idleMs: number): PooledSession {
  const pooled: PooledSession = { session, streams: new StreamWindowBudget(session), goingAway: false };
  session.on('error', noop);
  session.once('goaway', () => (pooled.goingAway = true));
  if (idleMs > 0) {
    session.setTimeout(idleMs, () => {
      if (pooled.streams.count === 0) session.close();
    });
  }
  widenConnectionWindow(session);
  session.unref();
  return pooled;
}

/** A new HTTP/2 session to `target`: TLS with ALPN `h2` for https, prior knowledge (h2c) for http. */
function openSession(target: H2UpstreamTarget, upstream: UpstreamPool, timeoutMs: number): Promise<ClientHttp2Session> {
  const authority = originOf(target);
  const servername = target.servername ?? (isIP(target.host) ? undefined : target.host);
  const secureConnection = (): Duplex => {
    // Both offered: a server without h2 then says so by choosing http/1.1, not with an alert.
    const secure = upstream.connectTls({
      host: target.host,
      port: target.port,
      servername,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    secure.setNoDelay(true);
    // ALPN is known at the handshake: a server that did not choose h2 will never send SETTINGS.
    secure.once('secureConnect', () => {
      if (secure.alpnProtocol !== 'h2') {
        session.destroy(
          new NotH2Error(`${authority} does not speak HTTP/2 (ALPN answered ${String(secure.alpnProtocol)})`),
        );
      }
    });
    return secure;
  };
  const plainConnection = (): Duplex => {
    const { hostLookups } = upstream;
    const plain = net.connect({ host: target.host, port: target.port, noDelay: true, lookup: hostLookups.lookup });
    hostLookups.forgetIfUnreached(plain, target.host);
    return plain;
  };
  const session = connectSession(target, target.scheme === 'https' ? secureConnection : plainConnection);
  return whenReady(session, target, timeoutMs);
}

/**
 * Resolves once the server's SETTINGS are in: its maxConcurrentStreams decides how many streams
 * the session may take, and before them it would read as unlimited. Fails, and destroys the
 * session, on an error, a close or `timeoutMs` first.
 */
function whenReady(
  session: ClientHttp2Session,
  target: H2UpstreamTarget,
  timeoutMs: number,
): Promise<ClientHttp2Session> {
  const authority = originOf(target);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    const timer = setTimeout(() => {
      fail(
        Object.assign(new Error(`no HTTP/2 connection to ${authority} after ${timeoutMs / 1000} s`), {
          code: 'upstream-connect-timeout',
        }),
      );
    }, timeoutMs);
    session.on('error', (err: NodeJS.ErrnoException) => {
      // An HTTP/1.1 server answers the h2c preface with a 400 and closes: a protocol error
      // before any SETTINGS means the origin does not speak h2c.
      const h2cRefused = target.scheme === 'http' && err.code !== undefined && err.code.startsWith('ERR_HTTP2');
      fail(
        h2cRefused ? new NotH2Error(`${authority} does not speak HTTP/2 with prior knowledge (${err.message})`) : err,
      );
    });
    session.once('close', () => {
      fail(
        target.scheme === 'http'
          ? new NotH2Error(`${authority} closed the connection instead of speaking HTTP/2 with prior knowledge`)
          : Object.assign(new Error(`${authority} closed the connection before HTTP/2 began`), { code: 'ECONNRESET' }),
      );
    });
    session.once('remoteSettings', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.on('error', noop);
      resolve(session);
    });
  });
}

function noop(): void {}
