import type { IncomingMessage, ServerResponse } from 'node:http';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { headerValue, type ExchangeOutcome, type RawHeaders } from '../../app/proxy-events.js';
import { isEventStream } from '../../app/http-headers.js';
import { now } from '../clock.js';
import { BodyPump } from './body-pump.js';
import { changesLength, type EndingAction } from '../rules/rule-set.js';
import { resetConnection } from '../rules/reset-connection.js';
import {
  ExchangeBase,
  gatewayStatus,
  STOPPED_DETAIL,
  STOPPED_REASON,
  upstreamFailure,
  type ExchangeServices,
} from './exchange-base.js';
import { h1ResponseHeaders, h2CodeName, h2RequestHeaders } from './h2-headers.js';
import type { H2SessionPool, H2UpstreamTarget } from './h2-sessions.js';
import { cutAfterWritten, hostHeader, http1Opened, replyWithError, type HttpTarget } from './http-exchange.js';
import type { EditedRequestHead } from '../../app/request-edit.js';
import { fieldsByName, flatten, toPairs, withoutContentLength } from './raw-headers.js';
import { errorMessage } from '../../app/error-message.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/**
 * An HTTP/1.1 request sent on as one HTTP/2 stream, for an upstream that speaks only HTTP/2 to a
 * client that offered only HTTP/1.1 (directly, the upstream would refuse its handshake). `Host`
 * becomes `:authority`, connection-specific fields stay behind, and the response comes back as
 * HTTP/1.1: status, fields, 1xx heads, the body as it arrives, trailers (chunked), and an upstream
 * reset as a cut connection, never as a whole response.
 */
export class H1OverH2Exchange extends ExchangeBase {
  private upstream: ClientHttp2Stream | undefined;
  private session: ClientHttp2Session | undefined;
  private release: (() => void) | undefined;
  private responded = false;
  private trailers: [string, string][] = [];
  private readonly requestHeaders: RawHeaders;
  /** The request head as the user edited it at a breakpoint, when they did. */
  private edited: EditedRequestHead | undefined;
  /** The upstream broke off the response under way: how the exchange ends once the client has what was written. */
  private breaking: { reason: string; detail: string } | undefined;

  constructor(
    services: ExchangeServices,
    private readonly pool: H2SessionPool,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly target: HttpTarget,
    private readonly h2Upstream: H2UpstreamTarget,
  ) {
    super(services, true);
    this.requestHeaders = toPairs(req.rawHeaders);
  }

  start(): void {
    const opened = http1Opened(this.id, this.req, this.target, this.requestHeaders, now());
    this.emit(opened);
    this.res.on('close', this.onClientClose);
    this.res.on('finish', this.onResponseDelivered);
    this.idle.start();
    const rules = this.matchRules({
      host: this.target.host,
      path: this.target.path,
      method: this.req.method ?? 'GET',
      protocol: 'http/1.1',
    });
    if (rules?.respond) {
      this.answerHttp1ByRule(this.req, this.res, rules.respond.rule, rules.respond.action);
      return;
    }
    const go = (edited?: EditedRequestHead): void => {
      this.edited = edited;
      void this.pool.acquire(this.h2Upstream).then(this.onSession, this.onSessionFailed);
    };
    if (rules?.holdRequest) {
      this.holdRequestThen(rules.holdRequest.rule, opened.request, this.req, go, () =>
        this.endWith(
          'proxy-error',
          502,
          'rule-dropped',
          'a stream rule’s breakpoint dropped the request before it went upstream',
        ),
      );
      return;
    }
    go();
  }

  private readonly onSession = ({ session, release }: { session: ClientHttp2Session; release: () => void }): void => {
    this.release = release;
    this.session = session;
    if (this.closed) {
      release();
      return;
    }
    const { req, target, edited } = this;
    const raw = edited ? flatten(edited.headers) : req.rawHeaders;
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 section 6.3).
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    let upstream: ClientHttp2Stream;
    try {
      upstream = session.request(
        h2RequestHeaders(
          {
            method: edited?.method ?? req.method ?? 'GET',
            scheme: target.scheme,
            authority: headerValue(edited?.headers ?? this.requestHeaders, 'host') ?? hostHeader(target),
            path: edited?.path ?? target.path,
          },
          this.requestLengthChanges ? withoutContentLength(raw) : raw,
        ),
        { endStream: !hasBody, waitForTrailers: hasBody },
      );
    } catch (err) {
      release();
      this.endWith(
        'proxy-error',
        502,
        'invalid-request-head',
        `the request could not be sent upstream: ${errorMessage(err)}`,
      );
      return;
    }
    this.upstream = upstream;
    upstream.on('error', noop);
    upstream.on('close', this.onUpstreamClose);
    upstream.on('headers', this.onInformational);
    upstream.on('response', this.onResponse);
    upstream.on('trailers', (_t: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      this.trailers = h1ResponseHeaders(raw ?? []);
      this.capture.onResponseTrailers(this.trailers, now());
    });
    if (!hasBody) {
      req.resume();
      this.onRequestSent();
      return;
    }
    upstream.on('wantTrailers', () => upstream.sendTrailers(Object.fromEntries(lowercased(req.rawTrailers))));
    upstream.once('finish', this.onRequestSent);
    this.toUpstream = new BodyPump(this.shapeRequest(req, this.requestHeaders), upstream, 'request', this, () =>
      upstream.end(),
    );
  };

  private readonly onSessionFailed = (err: NodeJS.ErrnoException): void => {
    if (this.closed) return;
    const code = err.code ?? 'ERROR';
    this.endWith(
      'proxy-error',
      gatewayStatus(code),
      code,
      upstreamFailure(`could not open an HTTP/2 stream to ${hostHeader(this.target)}`, err),
    );
  };

  private readonly onRequestSent = (): void => {
    this.requestSent(this.responded, (ms) => {
      if (!this.responded) {
        this.endWith('proxy-error', 504, 'response-header-timeout', `response header timeout after ${ms / 1000} s`);
      }
    });
  };

  /** 100 and 103 have their own writers in Node's HTTP/1.1 server; other 1xx are not passed on. */
  private readonly onInformational = (headers: IncomingHttpHeaders, _flags: number, raw: string[]): void => {
    const status = Number(headers[':status']);
    if (this.res.headersSent) return;
    try {
      if (status === 100) this.res.writeContinue();
      else if (status === 103) this.res.writeEarlyHints(fieldsByName(h1ResponseHeaders(raw ?? [])));
    } catch {
      // A 1xx the client cannot take is not worth the exchange.
    }
  };

  private readonly onResponse = (headers: IncomingHttpHeaders, flags: number, raw: string[]): void => {
    if (this.closed || !this.upstream) return;
    this.responded = true;
    const rawHeaders = raw ?? [];
    const status = Number(headers[':status'] ?? 0);
    const responseHeaders = h1ResponseHeaders(rawHeaders);
    this.announceHead({ status, statusText: '', httpVersion: '2', headers: toPairs(rawHeaders) });
    const { res, upstream } = this;
    const contentType = headerValue(responseHeaders, 'content-type');
    const contentEncoding = headerValue(responseHeaders, 'content-encoding');
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    const shaped = endStream
      ? undefined
      : this.shapeResponse(upstream, contentType, contentEncoding, this.onRuleEnding);
    const writeHead = (): boolean => {
      res.sendDate = false;
      // A rule that ends the stream early makes a shorter body: its length can no longer be announced.
      const cut = shaped !== undefined && changesLength(shaped.plan);
      try {
        res.writeHead(status, flatten(cut ? withoutLength(responseHeaders) : responseHeaders));
        res.flushHeaders();
        return true;
      } catch (err) {
        shaped?.source.stop();
        this.endWith(
          'proxy-error',
          502,
          'invalid-response-head',
          `the response head could not be forwarded: ${errorMessage(err)}`,
        );
        return false;
      }
    };
    if (endStream) {
      if (writeHead()) res.end();
      return;
    }
    if (isEventStream(contentType)) this.capture.trackEventStream(contentEncoding);
    this.toClient = new BodyPump(shaped?.source ?? upstream, res, 'response', this, () => {
      // A stream reset by its peer may still 'end'; only a clean end (or a rule's) is passed on as one.
      if (upstream.rstCode && this.ruleEnding?.type !== 'end') return;
      if (this.trailers.length > 0) res.addTrailers(this.trailers);
      res.end();
    });
    if (!shaped) {
      writeHead();
      return;
    }
    this.afterHeadDelay(shaped, () => {
      if (writeHead()) shaped.source.open();
    });
  };

  /** An ending rule fired: the upstream stream is let go; the client's side ends as the rule says. */
  private readonly onRuleEnding = (action: EndingAction): void => {
    this.resetUpstream();
    if (action.type === 'reset') {
      const socket = this.res.socket;
      this.finish('proxy-error', 'rule-reset', 'a stream rule reset the connection');
      resetConnection(socket);
    }
  };

  private readonly onUpstreamClose = (): void => {
    this.release?.();
    const { upstream } = this;
    if (!upstream || this.closed || this.ruleEnding) return;
    const code = upstream.rstCode ?? NGHTTP2_NO_ERROR;
    if (code === NGHTTP2_NO_ERROR && upstream.readableEnded) return; // the response's delivery ends it
    if (code === NGHTTP2_NO_ERROR && !this.responded) {
      this.endWith('proxy-error', 502, 'ECONNRESET', 'the upstream closed the stream without a response');
      return;
    }
    const name = h2CodeName(code === NGHTTP2_NO_ERROR ? http2.constants.NGHTTP2_INTERNAL_ERROR : code);
    const detail =
      (this.session?.destroyed ?? true)
        ? `the upstream connection ended before the stream was complete (${name})`
        : `the upstream reset the stream with ${name} (0x${code.toString(16)})`;
    this.breakOff(name, detail);
  };

  /**
   * The response broke off after its head went out: the client's connection is closed once what
   * was written to it has gone (the bytes the upstream did send, some perhaps queued behind a slow
   * reader), still without the body's end; the exchange closes with it, so those bytes are
   * recorded too. Destroyed at once, they were lost.
   */
  private breakOff(reason: string, detail: string): void {
    if (!cutAfterWritten(this.res)) {
      this.endWith('upstream-reset', 502, reason, detail);
      return;
    }
    this.breaking = { reason, detail };
    this.toClient?.stop();
  }

  private readonly onResponseDelivered = (): void => {
    this.finish('completed');
  };

  private readonly onClientClose = (): void => {
    if (this.closed) return;
    if (this.breaking) {
      this.finish('upstream-reset', this.breaking.reason, this.breaking.detail);
      return;
    }
    this.finish('client-closed', 'client-closed', 'the client closed the connection before the response was complete');
    this.resetUpstream();
  };

  protected onIdle(): void {
    if (this.closed || this.breaking) return;
    const detail = `no bytes moved in either direction for ${this.services.timeouts.idleMs / 1000} s`;
    this.endWith('idle-timeout', 504, 'idle-timeout', detail);
  }

  stop(): void {
    if (this.closed) return;
    this.finish('client-closed', STOPPED_REASON, STOPPED_DETAIL);
    this.res.destroy();
    this.resetUpstream();
  }

  /**
   * Ends the exchange with an answer of ours (`status`), or with a cut connection once the
   * response is under way, so the client cannot mistake what it got for a whole response; the
   * upstream stream is reset.
   */
  private endWith(outcome: ExchangeOutcome, status: number, reason: string, detail: string): void {
    if (this.closed) return;
    replyWithError(this.res, status, reason, detail);
    this.finish(outcome, reason, detail);
    this.resetUpstream();
  }

  private resetUpstream(): void {
    const { upstream } = this;
    if (upstream && !upstream.closed && !upstream.destroyed) upstream.close(NGHTTP2_CANCEL);
  }
}

/** Raw name/value pairs with names lowercased, as HTTP/2 fields must be. */
function lowercased(raw: readonly string[]): [string, string][] {
  return toPairs(raw).map(([name, value]) => [name.toLowerCase(), value]);
}

function noop(): void {}

function withoutLength(headers: readonly [string, string][]): [string, string][] {
  return headers.filter(([name]) => name.toLowerCase() !== 'content-length');
}
