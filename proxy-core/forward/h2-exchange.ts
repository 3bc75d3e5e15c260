import http2, {
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { headerValue, type ExchangeOutcome, type ResponseHead } from '../../app/proxy-events.js';
import { isEventStream } from '../../app/http-headers.js';
import { now } from '../clock.js';
import { BodyPump, type PumpSink, type PumpSource } from './body-pump.js';
import { changesLength, type EndingAction, type RespondAction } from '../rules/rule-set.js';
import { RULE_RESET_CODES } from '../../app/stream-rules.js';
import { bracketHost } from './connect-target.js';
import {
  CUT_GRACE_MS,
  ExchangeBase,
  gatewayStatus,
  ruleAnswer,
  STOPPED_DETAIL,
  STOPPED_REASON,
  upstreamFailure,
  type ExchangeServices,
} from './exchange-base.js';
import { forwardableHeaders, h1RequestHeaders, h2CodeName, h2ResponseHeaders } from './h2-headers.js';
import type { Mock } from '../mock/mock-book.js';
import { NotH2Error, type H2SessionPool, type H2UpstreamTarget } from './h2-sessions.js';
import type { EditedRequestHead } from '../../app/request-edit.js';
import { flatten, toPairs, withoutContentLength } from './raw-headers.js';
import type { H1Connections } from './h1-connections.js';
import type { H1Request, H1RequestOwner } from './h1-request.js';
import type { RawResponse } from './raw-response.js';
import { errorMessage } from '../../app/error-message.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } =
  http2.constants;

/** Where the streams of one client HTTP/2 connection go, and how they arrived. */
export interface H2Route extends H2UpstreamTarget {
  readonly intercepted: boolean;
  readonly connectionId: number;
  readonly clientAddress: string;
  /**
   * The upstream answered ALPN with HTTP/1.1 though the client would speak only h2: each stream
   * is translated to an HTTP/1.1 request on these connections (the first made at CONNECT).
   */
  readonly http1?: H1Connections | undefined;
}

/** Methods whose request content has a meaning: sent over HTTP/1.1 with their length, even 0. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** How often a stream the upstream refused unprocessed is sent again before the refusal is passed on. */
const MAX_RETRIES = 2;

/**
 * The error code of a GOAWAY each client session sent us, so its streams' upstream halves are
 * reset with the same code when the connection goes (rather than a generic CANCEL).
 */
export const clientGoawayCodes = new WeakMap<import('node:http2').Http2Session, number>();

/** Which side a reset came from, for the exchange's ending. */
type Side = 'client' | 'upstream';

/**
 * One HTTP/2 stream from a client, forwarded as one stream to the upstream: headers (pseudo
 * first, order kept), every DATA frame's bytes as they arrive through a backpressured pump each
 * way (a paused pump stops reading its stream, so its WINDOW_UPDATEs are withheld and only that
 * stream waits), 1xx heads, trailers both ways, and RST_STREAM mirrored with its code.
 */
export class H2Exchange extends ExchangeBase {
  private upstream: ClientHttp2Stream | undefined;
  /** The HTTP/1.1 request, when this stream is translated for an upstream without HTTP/2. */
  private http1: H1Request | undefined;
  private upstreamSession: import('node:http2').ClientHttp2Session | undefined;
  private release: (() => void) | undefined;
  private responded = false;
  private requestTrailers: OutgoingHttpHeaders | undefined;
  private responseTrailers: OutgoingHttpHeaders | undefined;
  /** A reset we sent, so its echo on the other stream's close is not taken for the peer's. */
  private resetting: Side | undefined;
  /** The whole response (END_STREAM, or trailers) has been handed to the client's stream. */
  private responseEnded = false;
  /** Times the request was sent again after an upstream refused it unprocessed (REFUSED_STREAM). */
  private retries = 0;
  /** The client's request body has ended (seen by a pump; on a retry it will not end again). */
  private requestEnded = false;
  /** The request body's source: the client's stream, or it shaped by a rule. */
  private requestSource: PumpSource | undefined;
  /** Kept here: a stream forgets its session once it is closed, which is when we ask. */
  private readonly clientSession: import('node:http2').Http2Session | undefined;
  /** The request head as the user edited it at a breakpoint, when they did. */
  private edited: EditedRequestHead | undefined;
  /** The upstream broke off the response under way: how the exchange ends once the client has what was written. */
  private breaking: { reason: string; detail: string } | undefined;

  constructor(
    services: ExchangeServices,
    private readonly pool: H2SessionPool,
    private readonly client: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    private readonly rawHeaders: readonly string[],
    private readonly flags: number,
    private readonly route: H2Route,
  ) {
    super(services, true);
    this.clientSession = client.session;
  }

  start(): void {
    const { client, headers, route } = this;
    const method = String(headers[':method'] ?? 'GET');
    const request = { method, url: this.url(), httpVersion: '2', headers: toPairs(this.rawHeaders) };
    this.emit({
      type: 'exchange-opened',
      id: this.id,
      t: now(),
      wallTime: Date.now(),
      kind: 'http',
      intercepted: route.intercepted,
      clientAddress: route.clientAddress,
      request,
      connectionId: route.connectionId,
      streamId: client.id ?? 0,
    });
    client.on('error', noop);
    client.on('close', this.onClientClose);
    client.on('trailers', (trailers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      this.requestTrailers = forwardableHeaders(raw ?? [], trailers);
    });
    if (method === 'CONNECT') {
      this.respondWithError(501, 'h2-connect', 'Sluice does not tunnel CONNECT inside HTTP/2');
      return;
    }
    const rules = this.matchRules({
      host: hostOf(String(headers[':authority'] ?? route.host)),
      path: String(headers[':path'] ?? '/'),
      method,
      protocol: 'h2',
    });
    this.idle.start();
    if (rules?.respond) {
      this.answerByRule(rules.respond.rule, rules.respond.action);
      return;
    }
    const mock = this.takeMock(method, request.url);
    if (mock) {
      this.answerByMock(mock);
      return;
    }
    const go = (edited?: EditedRequestHead): void => {
      this.edited = edited;
      if (route.http1) this.sendOverHttp1(route.http1);
      else this.pool.acquire(route).then(this.onSession, this.onSessionFailed);
    };
    if (rules?.holdRequest) {
      this.holdRequestThen(rules.holdRequest.rule, request, client, go, () =>
        this.respondWithError(
          502,
          'rule-dropped',
          'a stream rule’s breakpoint dropped the request before it went upstream',
        ),
      );
      return;
    }
    go();
  }

  /**
   * The request's fields as they go upstream: as the user edited them at a breakpoint, and
   * without Content-Length when rules change the body's length.
   */
  private get upstreamRaw(): readonly string[] {
    const raw = this.edited ? this.editedRaw(this.edited) : this.rawHeaders;
    return this.requestLengthChanges ? withoutContentLength(raw) : raw;
  }

  /** An edited head as HTTP/2 fields: its method and path, the client's scheme and authority. */
  private editedRaw(edited: EditedRequestHead): string[] {
    const raw = [':method', edited.method, ':path', edited.path];
    for (const name of [':scheme', ':authority']) {
      const value = this.headers[name];
      if (value !== undefined) raw.push(name, String(value));
    }
    for (const [name, value] of edited.headers) raw.push(name.toLowerCase(), value);
    return raw;
  }

  /** The method that goes upstream. */
  private get upstreamMethod(): string {
    return this.edited?.method ?? String(this.headers[':method'] ?? 'GET');
  }

  private url(): string {
    const scheme = String(this.headers[':scheme'] ?? this.route.scheme);
    const authority = String(this.headers[':authority'] ?? `${bracketHost(this.route.host)}:${this.route.port}`);
    return `${scheme}://${authority}${String(this.headers[':path'] ?? '/')}`;
  }

  private readonly onSession = ({
    session,
    release,
  }: {
    session: import('node:http2').ClientHttp2Session;
    release: () => void;
  }): void => {
    this.release = release;
    this.upstreamSession = session;
    if (this.closed) {
      release();
      return;
    }
    const endStream = this.requestBodyDone;
    let upstream: ClientHttp2Stream;
    try {
      upstream = session.request(forwardableHeaders(this.upstreamRaw, this.headers), {
        endStream,
        waitForTrailers: !endStream,
      });
    } catch (err) {
      release();
      this.respondWithError(
        502,
        'invalid-request-head',
        `the request could not be sent upstream: ${errorMessage(err)}`,
      );
      return;
    }
    this.upstream = upstream;
    upstream.on('error', this.onUpstreamError);
    upstream.on('close', this.onUpstreamClose);
    upstream.on('headers', this.onInformational);
    upstream.on('response', this.onResponse);
    upstream.on('trailers', (trailers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      this.responseTrailers = forwardableHeaders(raw ?? [], trailers);
      this.capture.onResponseTrailers(toPairs(raw ?? []), now());
    });
    // Not after a reset: the stream is going, and trailers would end it as if complete.
    upstream.on('wantTrailers', () => {
      if (this.resetting === undefined) upstream.sendTrailers(this.requestTrailers ?? {});
    });
    if (endStream) this.onRequestSent();
    else {
      upstream.once('finish', this.onRequestSent);
      this.sendRequestBody(upstream, () => upstream.end());
    }
  };

  /** No request body is left to send: none was announced, or a retry comes after it ended. */
  private get requestBodyDone(): boolean {
    return (this.flags & NGHTTP2_FLAG_END_STREAM) !== 0 || this.requestEnded;
  }

  /** Passes the client's request body on to `sink` (an HTTP/2 stream or an HTTP/1.1 request), then `end`s it. */
  private sendRequestBody(sink: PumpSink, end: () => void): void {
    // A stream reset by its peer may still 'end'; only a clean end is passed on as one.
    this.requestSource ??= this.shapeRequest(this.client, toPairs(this.rawHeaders));
    this.toUpstream = new BodyPump(this.requestSource, sink, 'request', this, () => {
      this.requestEnded = true;
      if (!this.client.rstCode) end();
    });
    // A retry paused the client's stream while it had no pump.
    if (this.retries > 0) this.client.resume();
  }

  private readonly onSessionFailed = (err: NodeJS.ErrnoException): void => {
    if (this.closed) return;
    if (err instanceof NotH2Error) {
      this.sendOverHttp1(undefined);
      return;
    }
    const code = err.code ?? 'ERROR';
    this.respondWithError(
      gatewayStatus(code),
      code,
      upstreamFailure(`could not open an HTTP/2 stream to ${this.route.host}`, err),
    );
  };

  private readonly onRequestSent = (): void => {
    this.requestSent(this.responded, (ms) => {
      if (this.responded) return;
      this.respondWithError(504, 'response-header-timeout', `response header timeout after ${ms / 1000} s`);
      this.resetUpstream(NGHTTP2_CANCEL);
    });
  };

  /** 1xx heads (100 Continue, 103 Early Hints) go to the client as they come. */
  private readonly onInformational = (headers: IncomingHttpHeaders, _flags: number, raw: string[]): void => {
    const status = Number(headers[':status']);
    if (status < 100 || status >= 200 || this.client.headersSent || this.client.destroyed) return;
    try {
      this.client.additionalHeaders(forwardableHeaders(raw ?? [], headers));
    } catch {
      // A 1xx the client cannot take is not worth the exchange.
    }
  };

  private readonly onResponse = (headers: IncomingHttpHeaders, flags: number, raw: string[]): void => {
    if (this.closed || !this.upstream) return;
    const rawHeaders = raw ?? [];
    const status = Number(headers[':status'] ?? 0);
    this.headArrived({ status, statusText: '', httpVersion: '2', headers: toPairs(rawHeaders) });
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    this.responseEnded = endStream;
    const { upstream } = this;
    const respond = (dropLength = false): boolean =>
      this.respondHead(forwardableHeaders(rawHeaders, headers), endStream, dropLength);
    if (endStream) {
      respond();
      return;
    }
    this.respondThenBody(
      respond,
      upstream,
      headers['content-type'],
      headers['content-encoding'],
      () => this.ruleEnding?.type === 'end' || !upstream.rstCode,
    );
  };

  /**
   * Forwards a response head to the client: without its length when a rule changes the body's,
   * ending the stream when there is no body. False (and the exchange failed) when Node refuses it.
   */
  private respondHead(forwarded: OutgoingHttpHeaders, endStream: boolean, dropLength: boolean): boolean {
    if (dropLength) delete forwarded['content-length'];
    try {
      this.client.respond(forwarded, {
        endStream,
        waitForTrailers: !endStream,
        sendDate: false,
      } as import('node:http2').ServerStreamResponseOptions);
      return true;
    } catch (err) {
      this.fail(
        'proxy-error',
        'invalid-response-head',
        `the response head could not be forwarded: ${errorMessage(err)}`,
      );
      return false;
    }
  }

  /**
   * Sends the response head (`respond`, false when it failed) and then the body from `source`:
   * at once, or under rules after the head's delay and through a shaped source.
   */
  private respondThenBody(
    respond: (dropLength?: boolean) => boolean,
    source: PumpSource,
    contentType: string | string[] | undefined,
    contentEncoding: string | string[] | undefined,
    endedCleanly: () => boolean,
  ): void {
    const type = typeof contentType === 'string' ? contentType : undefined;
    const encoding = typeof contentEncoding === 'string' ? contentEncoding : undefined;
    const shaped = this.shapeResponse(source, type, encoding, this.onRuleEnding);
    if (!shaped) {
      if (respond()) this.sendResponseBody(source, type, encoding, endedCleanly);
      return;
    }
    this.afterHeadDelay(shaped, () => {
      // A rule that changes the body's length makes its announced length wrong (and HTTP/2 checks it).
      if (!respond(changesLength(shaped.plan))) {
        shaped.source.stop();
        return;
      }
      this.sendResponseBody(shaped.source, type, encoding, endedCleanly);
      shaped.source.open();
    });
  }

  /** An ending rule fired: the upstream is let go; the client's stream ends as the rule says. */
  private readonly onRuleEnding = (action: EndingAction): void => {
    this.http1?.destroy();
    const { upstream } = this;
    if (upstream && !upstream.closed && !upstream.destroyed) upstream.close(NGHTTP2_CANCEL);
    if (action.type === 'reset') {
      const code = RULE_RESET_CODES[action.code ?? 'CANCEL'];
      this.finish('proxy-error', 'rule-reset', `a stream rule reset the stream with ${h2CodeName(code)}`);
      this.afterWritten(() => this.resetClient(code));
    }
    // `end`: the shaped source ends to its pump, which ends the stream cleanly. `hang`: nothing
    // more is sent, and the client waits until it gives up (or the idle timeout ends it).
  };

  /** A `respond` rule answers in the upstream's place; the request body is read and recorded. */
  private answerByRule(rule: string, action: RespondAction): void {
    const answered = ruleAnswer(action);
    const { body } = answered;
    // HTTP/2 field names are lowercase.
    const headers = answered.headers.map(([name, value]): [string, string] => [name.toLowerCase(), value]);
    const answer = (): void => {
      const at = now();
      this.headArrived({ status: action.status, statusText: '', httpVersion: '2', headers });
      this.reportRule(rule, 'respond', 'response', `answered ${action.status} in the upstream's place`);
      this.responseEnded = true;
      try {
        this.client.respond({ ':status': action.status, ...Object.fromEntries(headers) }, {
          sendDate: false,
        } as import('node:http2').ServerStreamResponseOptions);
        this.client.end(body, () => {
          if (body.length > 0) {
            this.onFlushed({ direction: 'response', bytes: body, index: 0, offset: 0, readAt: at, flushedAt: now() });
          }
        });
      } catch (err) {
        this.fail('proxy-error', 'rule-respond', `the rule's answer could not be sent: ${errorMessage(err)}`);
      }
    };
    if (this.requestBodyDone) answer();
    else this.readRequestThen(this.client, answer);
  }

  /** A mock answers in the upstream's place, at its recorded pace; the request body is read and recorded. */
  private answerByMock(mock: Mock): void {
    this.playMock(mock, this.requestBodyDone ? undefined : this.client, (head, body, trailers) => {
      this.headArrived(head);
      if (trailers.length > 0) this.responseTrailers = h2ResponseHeaders(undefined, flatten(trailers));
      const forwarded = h2ResponseHeaders(head.status, flatten(head.headers));
      if (mock.pieces.length === 0 && trailers.length === 0) {
        // No body (a HEAD, a 204, a 304): the head ends the stream, its Content-Length as recorded.
        body.destroy();
        this.responseEnded = this.respondHead(forwarded, true, false);
        return;
      }
      const respond = (dropLength = false): boolean => this.respondHead(forwarded, false, dropLength);
      const type = headerValue(head.headers, 'content-type');
      this.respondThenBody(respond, body, type, headerValue(head.headers, 'content-encoding'), () => {
        if (trailers.length > 0) this.capture.onResponseTrailers(trailers, now());
        return true;
      });
    });
  }

  /** The response head came: the header timeout's wait is over and the idle timer's begins. */
  private headArrived(response: ResponseHead): void {
    this.responded = true;
    this.announceHead(response);
  }

  /**
   * Passes the response body from `source` to the client (whose head went out waiting for
   * trailers), parsing an event stream on the side; the end goes on only if `endedCleanly`.
   */
  private sendResponseBody(
    source: PumpSource,
    contentType: string | undefined,
    contentEncoding: string | undefined,
    endedCleanly: () => boolean,
  ): void {
    if (isEventStream(contentType)) this.capture.trackEventStream(contentEncoding);
    const { client } = this;
    client.on('wantTrailers', () => {
      if (this.resetting === undefined) client.sendTrailers(this.responseTrailers ?? {});
    });
    this.toClient = new BodyPump(source, client, 'response', this, () => {
      if (!endedCleanly()) return;
      this.responseEnded = true;
      client.end();
    });
  }

  private readonly onUpstreamError = (): void => {
    // The stream's 'close' follows with its code; that is where the ending is decided.
  };

  private readonly onUpstreamClose = (): void => {
    this.release?.();
    const upstream = this.upstream;
    if (!upstream || this.closed) return;
    const code = upstream.rstCode ?? NGHTTP2_NO_ERROR;
    if (this.resetting === 'upstream' || this.ruleEnding) return;
    if (code === NGHTTP2_NO_ERROR && upstream.readableEnded) return; // the client's close ends it
    if (code === NGHTTP2_REFUSED_STREAM && this.mayRetry()) {
      this.retry();
      return;
    }
    if (code === NGHTTP2_NO_ERROR && !this.responded) {
      this.respondWithError(502, 'ECONNRESET', 'the upstream closed the stream without a response');
      return;
    }
    // A reset from the upstream (or its connection gone): the client gets the same code, so a
    // REFUSED_STREAM past our retries tells it the request may be sent again.
    const mirrored = code === NGHTTP2_NO_ERROR ? NGHTTP2_INTERNAL_ERROR : code;
    const name = h2CodeName(mirrored);
    const goneAway = this.upstreamSession?.destroyed ?? true;
    const detail = goneAway
      ? `the upstream connection ended before the stream was complete (${name})`
      : `the upstream reset the stream with ${name} (0x${code.toString(16)})`;
    this.breakOff(mirrored, name, detail);
  };

  private readonly onClientClose = (): void => {
    this.clearHeaderTimer();
    if (this.closed) {
      this.resetUpstream(NGHTTP2_CANCEL);
      return;
    }
    const code = this.client.rstCode ?? NGHTTP2_NO_ERROR;
    if (this.resetting === 'client') return;
    if (this.breaking) {
      this.finish('upstream-reset', this.breaking.reason, this.breaking.detail);
      return;
    }
    if (code === NGHTTP2_NO_ERROR && this.responseEnded) {
      this.finish('completed');
      return;
    }
    // The client reset the stream (the upstream hears the same code, NO_ERROR included), or its
    // connection went (the upstream hears CANCEL).
    const connectionGone = this.clientSession === undefined || this.clientSession.destroyed;
    const goaway = this.clientSession ? clientGoawayCodes.get(this.clientSession) : undefined;
    const mirrored = connectionGone ? goaway || NGHTTP2_CANCEL : code;
    this.resetUpstream(mirrored);
    const name = h2CodeName(mirrored);
    this.finish(
      'client-closed',
      name,
      connectionGone
        ? 'the client connection closed before the response was complete'
        : `the client reset the stream with ${name} (0x${code.toString(16)}) before the response was complete`,
    );
  };

  /**
   * The stream as an HTTP/1.1 request, for an upstream that does not speak HTTP/2: `:authority`
   * becomes `Host`, split `cookie` fields are joined (RFC 9113 section 8.2.3), a body of unknown
   * length goes chunked (with the request's trailers after it), and the response comes back with
   * its status, headers less the connection-specific ones, 1xx heads, body and trailers.
   */
  private sendOverHttp1(connections: H1Connections | undefined): void {
    const { headers, route } = this;
    const authority = String(headers[':authority'] ?? headers.host ?? `${bracketHost(route.host)}:${route.port}`);
    const fields = h1RequestHeaders(this.upstreamRaw, authority);
    const method = this.upstreamMethod;
    if (headerValue(fields, 'content-length') === undefined) {
      if (!this.requestBodyDone) fields.push(['transfer-encoding', 'chunked']);
      // RFC 9110 §8.6: a request whose method gives content a meaning says its length, even 0.
      else if (BODY_METHODS.has(method)) fields.push(['content-length', '0']);
    }
    const request = this.services.upstream.sendHttp1(
      route,
      { method, path: this.edited?.path ?? String(headers[':path'] ?? '/'), headers: flatten(fields) },
      this.http1Owner(),
      { servername: route.servername, connections },
    );
    this.http1 = request;
    if (this.requestBodyDone) request.end();
    else this.sendRequestBody(request, () => request.end(headerPairs(this.requestTrailers ?? {})));
  }

  /** What the HTTP/1.1 request tells this exchange. */
  private http1Owner(): H1RequestOwner {
    return {
      onRawHead: this.onHttp1Head,
      onRawFailed: this.onHttp1Failed,
      onRawInformation: this.onHttp1Information,
      onRequestSent: this.onRequestSent,
      onUpstreamError: this.onHttp1Error,
    };
  }

  private readonly onHttp1Information = (info: ResponseHead): void => {
    if (this.client.headersSent || this.client.destroyed) return;
    try {
      this.client.additionalHeaders(h2ResponseHeaders(info.status, flatten(info.headers)));
    } catch {
      // A 1xx the client cannot take is not worth the exchange.
    }
  };

  private readonly onHttp1Head = (head: ResponseHead, body: RawResponse): void => {
    if (this.closed) {
      this.http1?.destroy();
      return;
    }
    const { status } = head;
    this.headArrived(head);
    const raw = flatten(head.headers);
    const bodiless = this.upstreamMethod === 'HEAD' || status === 204 || status === 304;
    const respond = (dropLength = false): boolean => {
      if (this.respondHead(h2ResponseHeaders(status, raw), bodiless, dropLength)) return true;
      this.http1?.destroy();
      return false;
    };
    if (bodiless) {
      if (respond()) this.responseEnded = true;
      return;
    }
    const contentType = headerValue(head.headers, 'content-type');
    const contentEncoding = headerValue(head.headers, 'content-encoding');
    this.respondThenBody(respond, body, contentType, contentEncoding, () => {
      if (body.trailers.length > 0) {
        this.responseTrailers = h2ResponseHeaders(undefined, flatten(body.trailers));
        this.capture.onResponseTrailers(body.trailers, now());
      }
      return true;
    });
  };

  private readonly onHttp1Failed = (message: string): void => {
    if (this.closed || this.resetting === 'upstream' || this.ruleEnding) return;
    if (this.responded) {
      this.breakOff(NGHTTP2_INTERNAL_ERROR, 'ECONNRESET', `upstream failed mid-response: ${message}`);
      return;
    }
    this.respondWithError(502, 'invalid-response', `upstream sent a response Sluice cannot read: ${message}`);
  };

  private readonly onHttp1Error = (err: NodeJS.ErrnoException): void => {
    if (this.closed || this.resetting === 'upstream' || this.ruleEnding) return;
    const code = err.code ?? 'ERROR';
    if (this.responded) {
      this.breakOff(NGHTTP2_INTERNAL_ERROR, code, `upstream failed mid-response: ${err.message}`);
      return;
    }
    this.respondWithError(
      gatewayStatus(code),
      code,
      upstreamFailure(`could not get a response from ${this.route.host}`, err),
    );
  };

  /**
   * REFUSED_STREAM means the upstream did not process the stream (RFC 9113 section 8.7), so it may
   * go again, on a session with room, as long as no request body byte has been passed on yet.
   */
  private mayRetry(): boolean {
    return !this.responded && this.retries < MAX_RETRIES && (this.toUpstream?.bytes ?? 0) === 0;
  }

  private retry(): void {
    this.retries += 1;
    // No pump for a moment: paused, so no byte of the request body flows to no one.
    this.client.pause();
    this.toUpstream?.stop();
    this.toUpstream = undefined;
    this.upstream = undefined;
    this.release = undefined;
    this.clearHeaderTimer();
    // The response-header timer is gone with the old stream; silence is the idle timer's again.
    this.idle.start();
    this.pool.acquire(this.route).then(this.onSession, this.onSessionFailed);
  }

  stop(): void {
    if (this.closed) return;
    this.resetClient(NGHTTP2_CANCEL);
    this.resetUpstream(NGHTTP2_CANCEL);
    this.finish('client-closed', STOPPED_REASON, STOPPED_DETAIL);
  }

  protected onIdle(): void {
    if (this.closed || this.breaking) return;
    const detail = `no bytes moved in either direction for ${this.services.timeouts.idleMs / 1000} s`;
    if (this.client.headersSent) this.resetClient(NGHTTP2_CANCEL);
    else this.respondWithError(504, 'idle-timeout', detail, 'idle-timeout');
    this.resetUpstream(NGHTTP2_CANCEL);
    this.finish('idle-timeout', 'idle-timeout', detail);
  }

  private fail(outcome: ExchangeOutcome, reason: string, detail: string): void {
    this.resetClient(NGHTTP2_INTERNAL_ERROR);
    this.resetUpstream(NGHTTP2_CANCEL);
    this.finish(outcome, reason, detail);
  }

  /** Answers the client ourselves (no upstream response to forward) and ends the exchange. */
  private respondWithError(
    status: number,
    reason: string,
    detail: string,
    outcome: ExchangeOutcome = 'proxy-error',
  ): void {
    if (!respondText(this.client, status, detail, reason)) this.resetClient(NGHTTP2_INTERNAL_ERROR);
    this.resetUpstream(NGHTTP2_CANCEL);
    this.finish(outcome, reason, detail);
  }

  /**
   * The upstream broke off a response under way (a reset, its connection gone, an HTTP/1.1 body
   * that failed): what was written to the client's stream goes first, then the client hears the
   * reset with `code`, so it gets every byte the upstream did send (a reset drops what is still
   * queued); a client that takes nothing for CUT_GRACE_MS is reset then. The exchange closes with
   * the reset, so those last bytes are recorded too.
   */
  private breakOff(code: number, reason: string, detail: string): void {
    if (this.breaking) return;
    if (!this.client.headersSent) {
      this.resetClient(code);
      this.finish('upstream-reset', reason, detail);
      return;
    }
    this.breaking = { reason, detail };
    this.toClient?.stop();
    const reset = (): void => {
      clearTimeout(timer);
      if (this.closed) return;
      this.resetClient(code);
      this.finish('upstream-reset', reason, detail);
    };
    const timer = setTimeout(reset, CUT_GRACE_MS).unref();
    this.afterWritten(reset);
  }

  /**
   * Calls `then` once what was written to the client's stream has been handed to the session,
   * which a reset would otherwise drop.
   */
  private afterWritten(then: () => void): void {
    if (!this.client.writable) {
      then();
      return;
    }
    this.client.write(Buffer.alloc(0), () => setImmediate(then));
  }

  /**
   * RST_STREAM to the client. Node's close() ends a writable side still open first, but every
   * response we forward waits for trailers, so that end is no END_STREAM: the client can never
   * take a cut response for a whole one.
   */
  private resetClient(code: number): void {
    if (this.client.closed || this.client.destroyed) return;
    this.resetting ??= 'client';
    this.client.close(code);
  }

  private resetUpstream(code: number): void {
    if (this.http1) {
      if (this.http1.over) return;
      this.resetting ??= 'upstream';
      this.http1.destroy();
      return;
    }
    const { upstream } = this;
    if (!upstream || upstream.closed || upstream.destroyed) return;
    this.resetting ??= 'upstream';
    upstream.close(code);
  }
}

/** Answers a stream with a short text of ours; false when the stream can no longer take one. */
export function respondText(stream: ServerHttp2Stream, status: number, detail: string, reason?: string): boolean {
  if (stream.headersSent || stream.destroyed || stream.closed) return false;
  const body = `Sluice: ${detail}\n`;
  try {
    stream.respond(
      {
        ':status': status,
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        ...(reason === undefined ? {} : { 'x-sluice-error': reason }),
      },
      { sendDate: false } as import('node:http2').ServerStreamResponseOptions,
    );
    stream.end(body);
    return true;
  } catch {
    return false;
  }
}

/** A header block's fields as name/value pairs, a repeated field once per value. */
function headerPairs(headers: OutgoingHttpHeaders): [string, string][] {
  return Object.entries(headers).flatMap(([name, value]): [string, string][] =>
    value === undefined ? [] : Array.isArray(value) ? value.map((v) => [name, v]) : [[name, String(value)]],
  );
}

function noop(): void {}

/** The host of an `:authority` (`[::1]:8443` gives `::1`). */
function hostOf(authority: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(authority);
  if (bracketed) return bracketed[1]!;
  return authority.replace(/:\d+$/, '');
}
