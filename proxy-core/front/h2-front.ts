import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ExchangeServices } from '../forward/exchange-base.js';
import { clientGoawayCodes, H2Exchange, respondText, type H2Route } from '../forward/h2-exchange.js';
import type { H2SessionPool } from '../forward/h2-sessions.js';
import { RESEND_FIELD } from '../resend/resend-marks.js';
import { H2_MAX_SESSION_MEMORY_MB, H2_SETTINGS, widenConnectionWindow } from '../forward/h2-settings.js';
import { StreamWindowBudget } from '../forward/h2-window-budget.js';

export interface H2FrontContext {
  readonly services: ExchangeServices;
  readonly pool: H2SessionPool;
  /** How long a client connection with no open stream is kept. */
  readonly keepAliveIdleMs: number;
  /** A client broke the protocol; Node has already answered it with GOAWAY or RST_STREAM. */
  reportProtocolError(socket: Duplex, code: string, detail: string): void;
}

/** Where a stream goes: fixed by its tunnel, or read from its own pseudo-headers (h2c to the proxy). */
export type H2Router = (headers: IncomingHttpHeaders) => H2Route | string;

/**
 * Serves one client connection that speaks HTTP/2 (after ALPN `h2`, or the h2c preface):
 * every stream becomes one exchange, forwarded to an upstream HTTP/2 session.
 */
export function serveH2(context: H2FrontContext, socket: Duplex, routeOf: H2Router): ServerHttp2Session {
  const session = http2.performServerHandshake(socket, {
    settings: H2_SETTINGS,
    maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
  });
  const streams = new StreamWindowBudget(session);
  session.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      streams.opened();
      stream.once('close', () => streams.closed());
      // Before anything else: a stream reset while we answer it must not crash the proxy.
      stream.on('error', noop);
      const route = routeOf(headers);
      if (typeof route === 'string') {
        refuse(stream, route);
        context.reportProtocolError(socket, 'bad-request-target', route);
        return;
      }
      const resend = context.services.resends.take(rawHeaders);
      if (resend) delete headers[RESEND_FIELD];
      new H2Exchange(context.services, context.pool, stream, headers, rawHeaders, flags, route)
        .resending(resend)
        .start();
    },
  );
  session.once('goaway', (code: number) => clientGoawayCodes.set(session, code));
  session.on('error', (err: NodeJS.ErrnoException) => {
    context.reportProtocolError(
      socket,
      err.code ?? 'ERROR',
      `HTTP/2 connection from the client failed: ${err.message}`,
    );
  });
  session.on('frameError', (type: number, code: number, id: number) => {
    context.reportProtocolError(
      socket,
      'h2-frame-error',
      `could not send an HTTP/2 frame (type ${type}) on stream ${id} to the client (code ${code})`,
    );
  });
  widenConnectionWindow(session);
  if (context.keepAliveIdleMs > 0) {
    session.setTimeout(context.keepAliveIdleMs, () => {
      if (streams.count === 0) session.close();
    });
  }
  return session;
}

function refuse(stream: ServerHttp2Stream, detail: string): void {
  if (!respondText(stream, 400, detail)) stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
}

function noop(): void {}
