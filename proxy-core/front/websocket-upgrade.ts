import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { headerValue, type RawHeaders, type ResponseHead } from '../../app/proxy-events.js';
import type { Mock } from '../mock/mock-book.js';
import { MockWebSocketPeer } from '../mock/mock-body.js';
import { now } from '../clock.js';
import { gatewayStatus, upstreamFailure, type ExchangeServices } from '../forward/exchange-base.js';
import { hostHeader, type HttpTarget } from '../forward/http-exchange.js';
import { endToEnd, flatten, toPairs } from '../forward/raw-headers.js';
import { requestHeadText } from '../forward/h1-request.js';
import { RawResponse } from '../forward/raw-response.js';
import { SocketBridge } from '../forward/socket-bridge.js';

/**
 * A WebSocket upgrade (direct, or inside an intercepted tunnel): a fresh upstream connection of
 * Sluice's own (read raw, TLS verified and resumed as every upstream connection), the request head
 * written as the client sent it, the upstream's `101` passed back, then the two sockets bridged.
 * Until the `101` arrives the upgrade is bounded by the connect and response-head timeouts, and a
 * client that leaves ends it.
 */
export class WebSocketUpgrade {
  private readonly bridge: SocketBridge;
  private readonly requestHeaders: RawHeaders;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  /** When the upgrade request was sent upstream, for the exchange's timings. */
  private requestSentAt = -1;
  private upstream: Duplex | undefined;
  /** The `101`, between its head being read and the read it came in being done. */
  private switching: ResponseHead | undefined;
  private readonly url: string;

  constructor(
    private readonly services: ExchangeServices,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly target: HttpTarget,
    connectionId: number,
  ) {
    this.requestHeaders = toPairs(req.rawHeaders);
    this.url = `${target.scheme === 'https' ? 'wss' : 'ws'}://${hostHeader(target)}${target.path}`;
    this.bridge = new SocketBridge(
      services,
      'websocket',
      {
        method: req.method ?? 'GET',
        url: this.url,
        httpVersion: req.httpVersion,
        headers: this.requestHeaders,
      },
      req.socket.remoteAddress ?? '',
      target.intercepted,
      undefined,
      connectionId,
    );
  }

  start(): void {
    const { socket, target, req } = this;
    socket.on('error', noop);
    const mock = this.services.mocks.take(req.method ?? 'GET', this.url);
    if (mock?.websocket) {
      this.answerByMock(mock, mock.websocket.closesItself);
      return;
    }
    // The HTTP server allows half-open sockets: a client that leaves may only 'end'.
    socket.once('close', this.onClientGone);
    socket.once('end', this.onClientGone);
    const upstream = this.services.upstream.connectHttp1(target, target.servername);
    this.upstream = upstream;
    upstream.on('error', this.onUpstreamError);
    upstream.once('close', this.onUpstreamClosed);
    RawResponse.attach(upstream, false, { onRawHead: this.onHead, onRawFailed: this.onUnreadable }, this.onAnswered);
    const ms = this.services.timeouts.upstreamConnectMs;
    this.arm(
      ms,
      'upstream-connect-timeout',
      `could not connect to ${hostHeader(target)}: no answer after ${ms / 1000} s`,
    );
    upstream.once(target.scheme === 'https' ? 'secureConnect' : 'connect', this.onUpstreamConnected);
    const head = requestHeadText({
      method: req.method ?? 'GET',
      path: target.path,
      headers: flatten(endToEnd(this.requestHeaders, { keepUpgrade: true })),
    });
    upstream.write(head, 'latin1', () => (this.requestSentAt = now()));
  }

  /**
   * A recorded WebSocket answers in the upstream's place: the recorded `101` (its accept key made
   * for this client's key; no extension, since the frames are played uncompressed) after the
   * recorded wait, then the server's frames at their times, through the same bridge (capture,
   * rules) as a live one.
   */
  private answerByMock(mock: Mock, closesItself: boolean): void {
    const { socket, head, bridge } = this;
    const schedule = this.services.mocks.schedule(mock);
    const key = headerValue(this.requestHeaders, 'sec-websocket-key') ?? '';
    // A subprotocol is chosen from what this client offered: the recording's, only if it is among them.
    const offered = (headerValue(this.requestHeaders, 'sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    const headers: [string, string][] = mock.headers
      .filter(([name, value]) => {
        const lower = name.toLowerCase();
        if (lower === 'sec-websocket-protocol') return offered.includes(value.trim());
        return lower !== 'sec-websocket-accept' && lower !== 'sec-websocket-extensions';
      })
      .map(([name, value]) => [name, value]);
    headers.push(['Sec-WebSocket-Accept', webSocketAccept(key)]);
    const gone = (): void => {
      if (!this.settle()) return;
      bridge.failed('client-closed', 'client-closed', 'the client went away before the mock answered');
    };
    socket.once('close', gone);
    socket.once('end', gone);
    const answer = (): void => {
      this.timer = undefined;
      socket.off('close', gone);
      socket.off('end', gone);
      if (socket.destroyed) {
        gone();
        return;
      }
      this.settled = true;
      const sentAt = now();
      // As sent: a recording with no reason phrase (an HTTP/2 one) gets the usual one.
      const sent = { status: 101, statusText: mock.statusText || 'Switching Protocols', httpVersion: '1.1', headers };
      bridge.responded(sent, sentAt, mock.id);
      socket.write(responseHeadText(sent));
      const peer = new MockWebSocketPeer(schedule.pieces, schedule.times, closesItself);
      if (head.length > 0) peer.write(head);
      bridge.forwardedEarly('request', head);
      bridge.attach(socket, peer);
    };
    if (schedule.headMs > 0) {
      this.timer = setTimeout(answer, schedule.headMs);
      this.timer.unref();
    } else answer();
  }

  /** Ends an upgrade still waiting for the upstream, or for a mock's recorded wait (the proxy is closing). */
  abort(): void {
    if (this.settled) return;
    // The client first: it is cut, not answered. A mock still waiting to answer hears its client
    // go (the socket's close) and ends the exchange.
    this.socket.destroy();
    if (this.upstream) {
      this.failUpstream(Object.assign(new Error('Sluice is shutting down'), { code: 'proxy-closing' }));
    }
  }

  private readonly onUpstreamConnected = (): void => {
    if (this.settled) return;
    const ms = this.services.timeouts.responseHeaderMs;
    this.arm(ms, 'response-header-timeout', `the upstream did not answer the upgrade within ${ms / 1000} s`);
  };

  private arm(ms: number, code: string, message: string): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.failUpstream(Object.assign(new Error(message), { code })), ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.clearTimer();
    this.socket.off('close', this.onClientGone);
    this.socket.off('end', this.onClientGone);
    return true;
  }

  private readonly onClientGone = (): void => {
    if (!this.settle()) return;
    this.upstream?.destroy();
    this.bridge.failed(
      'client-closed',
      'client-closed',
      'the client went away before the upstream answered the upgrade',
    );
  };

  /** The upstream's final head: a `101` waits for the end of its read (`onAnswered`); anything else is a refusal. */
  private readonly onHead = (head: ResponseHead, body: RawResponse): void => {
    if (head.status === 101) this.switching = head;
    else this.onRefused(head, body);
  };

  private readonly onAnswered = (_reusable: boolean, _hint: string | undefined, rest: Buffer): void => {
    const switched = this.switching;
    const upstream = this.upstream;
    if (!switched || !upstream) return;
    if (!this.settle()) {
      upstream.destroy();
      return;
    }
    const { socket, head, bridge } = this;
    bridge.responded(switched, this.requestSentAt);
    socket.write(responseHeadText(switched));
    if (head.length > 0) upstream.write(head);
    bridge.forwardedEarly('request', head);
    // The upstream's first frames, if they came with the 101, go out through the bridge (and any
    // rules); copied, since the read buffer they lie in is read into again.
    bridge.attach(socket, upstream, Buffer.from(rest));
  };

  /** The upstream refused the upgrade: relay its answer as it is, and close. */
  private onRefused(answered: ResponseHead, body: RawResponse): void {
    const upstream = this.upstream!;
    if (!this.settle()) {
      upstream.destroy();
      return;
    }
    const { socket, bridge } = this;
    bridge.responded(answered, this.requestSentAt);
    const kept = endToEnd(answered.headers, { keepTransferEncoding: false });
    kept.push(['Connection', 'close']);
    socket.write(responseHeadText({ ...answered, headers: kept }));
    let complete = false;
    body.on('data', (piece: Buffer) => {
      if (!socket.write(Buffer.from(piece))) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    });
    body.on('end', () => {
      complete = true;
      this.refusalCut = undefined;
      upstream.destroy();
      socket.end();
      bridge.failed('completed', 'upgrade-refused', `upstream answered ${answered.status}`);
    });
    // Cut short either way: the client must not take a partial answer for a whole one, and the
    // upstream connection must not wait on a reader that left.
    this.refusalCut = () => {
      this.refusalCut = undefined;
      socket.destroy();
      bridge.failed(
        'upstream-reset',
        'ECONNRESET',
        'the upstream closed the connection before its answer was complete',
      );
    };
    socket.once('close', () => {
      if (complete) return;
      upstream.destroy();
      bridge.failed('client-closed', 'client-closed', 'the client went away before the answer was complete');
    });
  }

  /** Set while a refusal's body is relayed: the upstream cut it short. */
  private refusalCut: (() => void) | undefined;

  /** The upstream's bytes are not an HTTP/1.x answer, or it closed in the middle of one. */
  private readonly onUnreadable = (message: string): void => {
    if (this.refusalCut) {
      this.refusalCut();
      return;
    }
    this.failUpstream(
      Object.assign(new Error(`the upstream sent an answer Sluice cannot read: ${message}`), {
        code: 'invalid-response',
      }),
    );
  };

  /** Closed before it answered (or while a refusal was relayed). */
  private readonly onUpstreamClosed = (): void => {
    if (this.refusalCut) this.refusalCut();
    else this.failUpstream(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  };

  /** Ends the upgrade with `err` as the upstream's failure, and lets the connection go. */
  private failUpstream(err: NodeJS.ErrnoException): void {
    this.onUpstreamError(err);
    this.upstream?.destroy();
  }

  private readonly onUpstreamError = (err: NodeJS.ErrnoException): void => {
    if (!this.settle()) return;
    const code = err.code ?? 'ERROR';
    const detail = upstreamFailure('could not open the WebSocket upstream', err);
    this.bridge.failed('proxy-error', code, detail);
    if (!this.socket.destroyed) {
      const status = gatewayStatus(code) === 504 ? '504 Gateway Timeout' : '502 Bad Gateway';
      this.socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\nX-Sluice-Error: ${code}\r\n\r\n`,
      );
    }
  };
}

function responseHeadText(head: ResponseHead): string {
  let text = `HTTP/${head.httpVersion} ${head.status || 502} ${head.statusText}\r\n`;
  for (const [name, value] of head.headers) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

/** RFC 6455 section 4.2.2: the key the client sent, with the protocol's GUID, hashed. */
function webSocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function noop(): void {}
