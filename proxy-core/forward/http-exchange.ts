import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  headerValue,
  type ExchangeOpenedEvent,
  type ExchangeOutcome,
  type RawHeaders,
  type ResponseHead,
} from '../../app/proxy-events.js';
import { isEventStream } from '../../app/http-headers.js';
import { now } from '../clock.js';
import { BodyPump, type PumpSource } from './body-pump.js';
import { changesLength, type EndingAction } from '../rules/rule-set.js';
import { resetConnection } from '../rules/reset-connection.js';
import type { EditedRequestHead } from '../../app/request-edit.js';
import { bracketHost } from './connect-target.js';
import {
  CUT_GRACE_MS,
  ExchangeBase,
  gatewayStatus,
  STOPPED_DETAIL,
  STOPPED_REASON,
  upstreamFailure,
  type ExchangeServices,
} from './exchange-base.js';
import type { H1Connections } from './h1-connections.js';
import type { H1Request, H1RequestOwner } from './h1-request.js';
import { endToEnd, fieldsByName, flatten, toPairs } from './raw-headers.js';
import type { RawResponse } from './raw-response.js';
import type { UpstreamTarget } from './upstream.js';
import { errorMessage } from '../../app/error-message.js';

export interface HttpTarget extends UpstreamTarget {
  /** Origin-form path and query sent upstream. */
  readonly path: string;
  /** The client spoke TLS to us and we terminated it. */
  readonly intercepted: boolean;
  /** Server name the client asked for, used for upstream SNI. */
  readonly servername?: string | undefined;
  /** The client tunnel's own upstream connections, when the request came through CONNECT. */
  readonly connections?: H1Connections | undefined;
  readonly connectionId?: number | undefined;
  /**
   * The upstream speaks only HTTP/2 and the client offered only HTTP/1.1: each request goes as a
   * stream on a session to this target.
   */
  readonly h2Upstream?: import('./h2-sessions.js').H2UpstreamTarget | undefined;
}

// Errors that mean the upstream went away, as opposed to the proxy failing to reach it.
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * One request/response exchange, forwarded byte for byte with backpressure in both directions.
 * State lives in this one object; each event of the streams involved has a small named handler.
 */
export class HttpExchange extends ExchangeBase implements H1RequestOwner {
  private readonly openedAt = now();
  /** The request as sent upstream on a connection of Sluice's own client, its response read raw. */
  private upstream: H1Request | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Takes this exchange's timing listeners off a new connection. */
  private stopTiming: (() => void) | undefined;
  private dnsMs = -1;
  private connectMs = -1;
  private sslMs = -1;
  /** The request's fields as sent upstream, kept for a retry. */
  private upstreamHeaders: string[] = [];
  /** What goes upstream: the client's method and path, unless the user edited them at a breakpoint. */
  private upstreamMethod = 'GET';
  private upstreamPath = '/';
  private requestHeaders: RawHeaders = [];
  private retried = false;
  /** The request body's source: the client's request, or it shaped by a rule. */
  private requestSource: PumpSource | undefined;
  /** A mock's trailers, when a mock answers. */
  private recordedTrailers: RawHeaders | undefined;
  /** The response body goes to the client in the upstream's own chunked framing, trailers included. */
  private framingPassed = false;
  /** The response broke off mid-body: how the exchange ends once the client has what was written. */
  private breaking: { outcome: ExchangeOutcome; reason: string; detail: string } | undefined;

  constructor(
    services: ExchangeServices,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly target: HttpTarget,
  ) {
    super(services, true);
  }

  start(): void {
    const { req, target } = this;
    const requestHeaders = toPairs(req.rawHeaders);
    // Through `emit`, as every exchange does, so the capture learns the request head (an RPC call is framed).
    const opened = http1Opened(this.id, req, target, requestHeaders, this.openedAt);
    this.emit(opened);
    this.requestHeaders = requestHeaders;
    this.res.on('close', this.onClientClose);
    this.res.on('finish', this.onResponseDelivered);
    const rules = this.matchRules({
      host: target.host,
      path: target.path,
      method: req.method ?? 'GET',
      protocol: 'http/1.1',
    });
    this.upstreamMethod = req.method ?? 'GET';
    this.upstreamPath = target.path;
    this.upstreamHeaders = this.forwardedHeaders(requestHeaders);
    this.idle.start();
    if (rules?.respond) {
      this.answerHttp1ByRule(this.req, this.res, rules.respond.rule, rules.respond.action);
      return;
    }
    const mock = this.takeMock(this.upstreamMethod, opened.request.url);
    if (mock) {
      this.playMock(mock, req, (head, body, trailers) => {
        this.recordedTrailers = trailers;
        this.startResponse(head, body, () => body.destroy());
      });
      return;
    }
    if (rules?.holdRequest) {
      const go = (edited?: EditedRequestHead): void => {
        if (edited) {
          this.upstreamMethod = edited.method;
          this.upstreamPath = edited.path;
          this.upstreamHeaders = this.forwardedHeaders(edited.headers);
        }
        this.send(false);
      };
      this.holdRequestThen(rules.holdRequest.rule, opened.request, req, go, this.dropRequest);
      return;
    }
    this.send(false);
  }

  /** The request's fields as they go upstream: end-to-end only, with a Host. */
  private forwardedHeaders(pairs: RawHeaders): string[] {
    // Rules that change the body's length send it chunked: the client's Content-Length would be wrong.
    const dropLength = this.requestLengthChanges;
    const headers = endToEnd(pairs).filter(([name]) => !dropLength || name.toLowerCase() !== 'content-length');
    if (headerValue(headers, 'host') === undefined) headers.unshift(['Host', hostHeader(this.target)]);
    // Without its length, a body that has one goes chunked, as HTTP/1.1 allows any request body to.
    if (dropLength && hasBody(pairs) && headerValue(headers, 'transfer-encoding') === undefined) {
      headers.push(['Transfer-Encoding', 'chunked']);
    }
    return flatten(headers);
  }

  /** A request breakpoint dropped the request: it never goes upstream, and the client is told. */
  private readonly dropRequest = (): void => {
    const detail = 'a stream rule’s breakpoint dropped the request before it went upstream';
    replyWithError(this.res, 502, 'rule-dropped', detail);
    this.close('proxy-error', 'rule-dropped', detail);
  };

  /** Sends the request upstream: on a kept-alive connection, or with `fresh` on a new one. */
  private send(fresh: boolean): void {
    const { req, target } = this;
    const upstream = this.services.upstream.sendHttp1(
      target,
      { method: this.upstreamMethod, path: this.upstreamPath, headers: this.upstreamHeaders },
      this,
      { fresh, servername: target.servername, connections: target.connections },
    );
    this.upstream = upstream;
    this.timeConnection(upstream);
    this.requestSource ??= this.shapeRequest(req, this.requestHeaders);
    this.toUpstream = new BodyPump(this.requestSource, upstream, 'request', this, () => upstream.end());
  }

  /**
   * A kept-alive connection the server closed while it sat idle fails the next request before
   * anything came back. When nothing of the request's body had been read from the client either,
   * the server cannot have acted on it: it goes again, once, on a fresh connection.
   */
  private retriedOnFreshConnection(reset: boolean): boolean {
    const stale = this.upstream;
    if (!reset || this.retried || !stale?.reused || (this.toUpstream?.bytes ?? 0) > 0) return false;
    this.retried = true;
    stale.release();
    this.toUpstream?.stop();
    this.clearHeaderTimer();
    this.idle.start();
    this.send(true);
    return true;
  }

  /** The upstream's response head has come. */
  private get responded(): boolean {
    return this.upstream?.response.headSeen ?? false;
  }

  /** Set-up times of a new connection (DNS, TCP, TLS), and its connect timeout. */
  private timeConnection(upstream: H1Request): void {
    if (upstream.reused) return;
    const made = upstream.connection.takeMadeTimings();
    if (made) {
      // Connected while Sluice answered the CONNECT: that was this request's set-up.
      ({ dns: this.dnsMs, connect: this.connectMs, ssl: this.sslMs } = made);
      return;
    }
    const socket = upstream.connection.socket;
    const start = now();
    let mark = start;
    const phase = (): number => {
      const at = now();
      const ms = at - mark;
      mark = at;
      return ms;
    };
    const onLookup = (): void => {
      this.dnsMs = phase();
    };
    const onConnect = (): void => {
      this.connectMs = phase();
      if (this.target.scheme === 'http') this.clearConnectTimer();
    };
    const onSecure = (): void => {
      this.sslMs = phase();
      this.clearConnectTimer();
    };
    this.clearConnectTimer();
    socket.once('lookup', onLookup);
    socket.once('connect', onConnect);
    socket.once('secureConnect', onSecure);
    // The connection outlives this exchange: listeners left on it would keep the exchange too.
    this.stopTiming = () => {
      socket.off('lookup', onLookup);
      socket.off('connect', onConnect);
      socket.off('secureConnect', onSecure);
    };
    this.connectTimer = setTimeout(() => {
      upstream.destroy(timeoutError('upstream-connect-timeout', this.services.timeouts.upstreamConnectMs));
    }, this.services.timeouts.upstreamConnectMs);
    this.connectTimer.unref();
  }

  /** The connection is made (or no longer this exchange's concern): no timeout, no more timings. */
  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.stopTiming?.();
    this.stopTiming = undefined;
  }

  onRequestSent(): void {
    this.requestSent(this.responded, (ms) => this.upstream?.destroy(timeoutError('response-header-timeout', ms)));
  }

  /**
   * 103 Early Hints go to the client as they come. A 100 Continue does not: Node's server already
   * sent the client one for its `Expect: 100-continue`, before the request reached us.
   */
  onRawInformation(head: ResponseHead): void {
    if (head.status !== 103 || this.res.headersSent || this.closed) return;
    try {
      this.res.writeEarlyHints(fieldsByName(head.headers));
    } catch {
      // Hints the client cannot take are not worth the exchange.
    }
  }

  onRawHead(head: ResponseHead, body: RawResponse): void {
    if (this.closed) return;
    this.startResponse(head, body, () => this.upstream?.destroy(), body);
  }

  /**
   * Records the response head and forwards it with its body: at once, or, under rules, after
   * the head's delay and through a shaped source. `abandon` lets the upstream go when the head
   * cannot be forwarded. A `raw` upstream body in chunked framing goes on in it, as it came.
   */
  private startResponse(head: ResponseHead, body: PumpSource, abandon: () => void, raw?: RawResponse): void {
    this.recordHead(head);
    const shaped = this.shapeResponse(
      body,
      headerValue(head.headers, 'content-type'),
      headerValue(head.headers, 'content-encoding'),
      this.onRuleEnding,
    );
    if (!shaped) {
      if (!this.writeHead(head, false)) {
        abandon();
        return;
      }
      if (raw?.chunked && this.passFraming()) raw.forwardFramed();
      this.toClient = new BodyPump(body, this.res, 'response', this, this.onUpstreamEnd);
      return;
    }
    this.toClient = new BodyPump(shaped.source, this.res, 'response', this, this.onUpstreamEnd);
    this.afterHeadDelay(shaped, () => {
      // A rule that ends the stream early makes a shorter body: its length can no longer be announced.
      if (this.writeHead(head, changesLength(shaped.plan))) shaped.source.open();
      else {
        shaped.source.stop();
        abandon();
      }
    });
  }

  /** An ending rule fired: the upstream is let go; the client's side ends as the rule says. */
  private readonly onRuleEnding = (action: EndingAction): void => {
    this.upstream?.destroy();
    if (action.type === 'reset') {
      const socket = this.res.socket;
      this.close('proxy-error', 'rule-reset', 'a stream rule reset the connection');
      resetConnection(socket);
    }
    // `end`: the shaped source ends to its pump, which ends the response cleanly. `hang`: nothing
    // more is sent, and the client waits until it gives up (or the idle timeout ends it).
  };

  onRawFailed(message: string): void {
    if (this.closed || this.ruleEnding) return;
    if (this.responded) {
      this.fail('upstream-reset', 'ECONNRESET', `upstream failed mid-response: ${message}`);
    } else {
      this.fail('proxy-error', 'invalid-response', `upstream sent a response Sluice cannot read: ${message}`);
    }
  }

  private recordHead(head: ResponseHead): void {
    this.clearConnectTimer();
    this.announceHead(head, { dns: this.dnsMs, connect: this.connectMs, ssl: this.sslMs });
    if (isEventStream(headerValue(head.headers, 'content-type'))) {
      this.capture.trackEventStream(headerValue(head.headers, 'content-encoding'));
    }
  }

  /** Forwards the response head; false (and the exchange failed) if Node refuses it. */
  private writeHead(head: ResponseHead, dropLength: boolean): boolean {
    const { res } = this;
    res.sendDate = false;
    const kept = endToEnd(head.headers, { keepTransferEncoding: this.req.httpVersion !== '1.0' });
    const outgoing = dropLength ? kept.filter(([name]) => name.toLowerCase() !== 'content-length') : kept;
    const socket = res.socket;
    try {
      // Cork so the head and the first burst of body leave in one write, yet nothing waits long.
      socket?.cork();
      res.writeHead(head.status || 502, head.statusText, flatten(outgoing));
      res.flushHeaders();
    } catch (err) {
      socket?.uncork();
      this.fail(
        'proxy-error',
        'invalid-response-head',
        `upstream sent a response head Node cannot forward: ${errorMessage(err)}`,
      );
      return false;
    }
    if (socket) setImmediate(() => socket.uncork());
    return true;
  }

  /**
   * Whether the client, which Node was about to send chunks, takes the upstream's chunked body as
   * it is: its chunks exactly as the upstream cut them (extensions and trailers too), and no
   * second framing of each piece on the way (a size line and two CRLFs, four writes, which over
   * TLS are copied into one record). Node then writes the bytes as given and ends with nothing.
   */
  private passFraming(): boolean {
    if (!this.res.chunkedEncoding) return false; // An HTTP/1.0 client: the body ends with the connection.
    this.res.chunkedEncoding = false;
    this.framingPassed = true;
    return true;
  }

  private readonly onUpstreamEnd = (): void => {
    const trailers = this.recordedTrailers ?? this.upstream?.response.trailers ?? [];
    if (trailers.length > 0) this.capture.onResponseTrailers(trailers, now());
    // Passed framing carried the trailers already, with the last chunk.
    if (trailers.length > 0 && !this.framingPassed) {
      this.res.addTrailers(trailers.map(([name, value]): [string, string] => [name, value]));
    }
    this.res.end();
  };

  private readonly onResponseDelivered = (): void => {
    this.close('completed');
  };

  private readonly onClientClose = (): void => {
    if (this.closed) return;
    if (this.breaking) {
      const { outcome, reason, detail } = this.breaking;
      this.close(outcome, reason, detail);
      return;
    }
    this.close('client-closed', 'client-closed', 'the client closed the connection before the response was complete');
  };

  onUpstreamError(err: NodeJS.ErrnoException): void {
    if (this.closed || this.ruleEnding) return;
    const code = err.code ?? 'ERROR';
    if (this.responded) {
      this.fail('upstream-reset', code, `upstream failed mid-response: ${err.message}`);
      return;
    }
    const reset = RESET_CODES.has(code) || err.message === 'socket hang up';
    if (this.retriedOnFreshConnection(reset)) return;
    const outcome: ExchangeOutcome = reset ? 'upstream-reset' : 'proxy-error';
    const detail = reset
      ? `upstream closed the connection without a response (${code})`
      : upstreamFailure(`could not get a response from ${hostHeader(this.target)}`, err);
    replyWithError(this.res, gatewayStatus(code), code, detail);
    this.close(outcome, code, detail);
  }

  stop(): void {
    if (this.closed) return;
    this.close('client-closed', STOPPED_REASON, STOPPED_DETAIL);
    this.res.destroy();
  }

  protected onIdle(): void {
    if (this.closed || this.breaking) return;
    const seconds = this.services.timeouts.idleMs / 1000;
    const detail = `no bytes moved in either direction for ${seconds} s`;
    replyWithError(this.res, 504, 'idle-timeout', detail);
    this.close('idle-timeout', 'idle-timeout', detail);
  }

  /** Ends the exchange so the client cannot mistake what it got for a complete response. */
  private fail(outcome: ExchangeOutcome, reason: string, detail: string): void {
    if (this.closed || this.breaking) return;
    if (cutAfterWritten(this.res)) {
      // Closed once the client's connection is, so the bytes still being written are recorded too.
      this.breaking = { outcome, reason, detail };
      this.upstream?.release();
      this.toClient?.stop();
      return;
    }
    this.close(outcome, reason, detail);
    replyWithError(this.res, 502, reason, detail);
  }

  private close(outcome: ExchangeOutcome, reason?: string, detail?: string): void {
    this.clearConnectTimer();
    // Back in its pool by now when the exchange went well; otherwise it cannot carry another request.
    this.upstream?.release();
    this.finish(outcome, reason, detail);
  }
}

/** The opened event of a request that came over HTTP/1.x. */
export function http1Opened(
  id: number,
  req: IncomingMessage,
  target: HttpTarget,
  headers: RawHeaders,
  at: number,
): ExchangeOpenedEvent {
  return {
    type: 'exchange-opened',
    id,
    t: at,
    wallTime: Date.now(),
    kind: 'http',
    intercepted: target.intercepted,
    clientAddress: req.socket.remoteAddress ?? '',
    request: {
      method: req.method ?? 'GET',
      url: `${target.scheme}://${hostHeader(target)}${target.path}`,
      httpVersion: req.httpVersion,
      headers,
    },
    ...(target.connectionId === undefined ? {} : { connectionId: target.connectionId }),
  };
}

/** Answers an HTTP/1.x client with a short text of ours; a response already under way is cut instead. */
export function replyWithError(res: ServerResponse, status: number, reason: string, detail: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `Sluice: ${detail}\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Sluice-Error': reason,
  });
  res.end(body);
}

/**
 * Ends a response that broke off mid-body: what was written to the client (the bytes the upstream
 * did send, some perhaps still corked or queued behind a slow reader) goes first, then the
 * connection is closed without the body's end (no last chunk, or fewer bytes than its length),
 * so the client cannot mistake it for complete. Destroyed at once, those bytes were lost. False,
 * and nothing done, when no response is under way on a live connection (its head not sent).
 */
export function cutAfterWritten(res: ServerResponse): boolean {
  const socket = res.socket;
  if (!res.headersSent || !socket || socket.destroyed) return false;
  const timer = setTimeout(() => socket.destroy(), CUT_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.destroySoon();
  return true;
}

export function hostHeader(target: UpstreamTarget): string {
  const host = bracketHost(target.host);
  const defaultPort = target.scheme === 'https' ? 443 : 80;
  return target.port === defaultPort ? host : `${host}:${target.port}`;
}

function timeoutError(code: string, ms: number): Error {
  return Object.assign(new Error(`${code.replace(/-/g, ' ')} after ${ms / 1000} s`), { code });
}

/** Whether a request's fields announce a body (RFC 9112 §6.3): a length above 0, or a transfer coding. */
function hasBody(pairs: RawHeaders): boolean {
  const length = headerValue(pairs, 'content-length');
  return headerValue(pairs, 'transfer-encoding') !== undefined || (length !== undefined && length.trim() !== '0');
}
