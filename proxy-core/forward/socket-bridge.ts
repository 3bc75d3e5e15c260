import type { Duplex } from 'node:stream';
import {
  headerValue,
  type Direction,
  type ExchangeKind,
  type ExchangeOutcome,
  type RequestHead,
  type ResponseHead,
} from '../../app/proxy-events.js';
import { now } from '../clock.js';
import { BodyPump } from './body-pump.js';
import type { EndingAction } from '../rules/rule-set.js';
import { resetConnection } from '../rules/reset-connection.js';
import { ExchangeBase, STOPPED_DETAIL, STOPPED_REASON, type ExchangeServices } from './exchange-base.js';

/**
 * Two sockets joined byte for byte: a raw CONNECT tunnel, or a WebSocket after its upgrade.
 * Frames and records pass untouched; each direction is a backpressured pump with chunk timing,
 * so tunnels show on the timeline like any other stream.
 */
export class SocketBridge extends ExchangeBase {
  private client: Duplex | undefined;
  private upstream: Duplex | undefined;
  private clientEnded = false;
  private upstreamEnded = false;
  private upstreamError: Error | undefined;
  private firstEnd: 'client' | 'upstream' | undefined;

  constructor(
    services: ExchangeServices,
    kind: ExchangeKind,
    request: RequestHead,
    clientAddress: string,
    intercepted: boolean,
    /** Raw tunnels keep TCP half-close (one side may finish sending and still read). */
    private readonly halfOpen = kind === 'tunnel',
    connectionId?: number,
  ) {
    super(services, false);
    this.emit({
      type: 'exchange-opened',
      id: this.id,
      t: now(),
      wallTime: Date.now(),
      kind,
      intercepted,
      clientAddress,
      request,
      ...(connectionId === undefined ? {} : { connectionId }),
    });
    // A WebSocket's server-to-client frames are events for stream rules; a raw tunnel is opaque.
    if (kind === 'websocket') {
      const url = new URL(request.url);
      this.matchRules({
        host: url.hostname.replace(/^\[|\]$/g, ''),
        path: `${url.pathname}${url.search}`,
        method: request.method,
        protocol: 'http/1.1',
      });
    }
  }

  /**
   * Reports the upstream's answer (the 101 of a WebSocket upgrade); `requestSentAt` is when the
   * request that it answers was sent, -1 when there was none to send.
   */
  responded(response: ResponseHead, requestSentAt = -1, mock?: number): void {
    this.emit({
      type: 'response-head',
      id: this.id,
      t: now(),
      response,
      timings: { dns: -1, connect: -1, ssl: -1 },
      requestSentAt,
      ...(mock === undefined ? {} : { mock }),
    });
    if (response.status === 101) this.capture.trackWebSocket(headerValue(response.headers, 'sec-websocket-extensions'));
  }

  /**
   * Bytes that came with the upgrade and were written before the pumps started (`head` of either
   * side): the frame parser must see them first. Observe path only; they were already written.
   */
  forwardedEarly(direction: Direction, bytes: Buffer): void {
    if (bytes.length > 0) this.capture.onWebSocketBytes(direction, bytes, now());
  }

  /**
   * Starts moving bytes both ways. `fromUpstream`: bytes the upstream sent with its answer (a
   * WebSocket's first frames, read with the 101), which go to the client first.
   */
  attach(client: Duplex, upstream: Duplex, fromUpstream: Buffer = Buffer.alloc(0)): void {
    this.client = client;
    this.upstream = upstream;
    client.on('error', noop);
    upstream.on('error', this.onUpstreamError);
    client.on('close', this.onSocketClose);
    upstream.on('close', this.onSocketClose);
    // Rules on the client's messages (`direction: "request"`) apply from its first frame after the 101.
    this.toUpstream = new BodyPump(this.shapeRequest(client, 'websocket'), upstream, 'request', this, () => {
      this.clientEnded = true;
      this.firstEnd ??= 'client';
      upstream.end();
      if (!this.halfOpen) this.endBoth();
    });
    // The 101 is out: rules on the server's frames apply from the first frame after it.
    const shaped = this.shapeResponse(upstream, undefined, undefined, this.onRuleEnding, true);
    if (!shaped && fromUpstream.length > 0) {
      client.write(fromUpstream);
      this.forwardedEarly('response', fromUpstream);
    }
    this.toClient = new BodyPump(shaped?.source ?? upstream, client, 'response', this, () => {
      this.upstreamEnded = true;
      this.firstEnd ??= 'upstream';
      client.end();
      if (!this.halfOpen) this.endBoth();
    });
    // Under rules the first frames are events like the rest: they go through the rules and the pump.
    shaped?.source.feed(fromUpstream);
    this.idle.start();
    // A side that went away before we joined them has no 'close' left to tell us.
    if (client.destroyed || upstream.destroyed) this.onSocketClose();
  }

  /** An ending rule fired on the server's frames: the upstream is let go, the client ends as the rule says. */
  private readonly onRuleEnding = (action: EndingAction): void => {
    this.upstream?.destroy();
    if (action.type === 'reset') {
      const client = this.client;
      this.close('proxy-error', 'rule-reset', 'a stream rule reset the connection');
      resetConnection(client);
    }
    // `end`: the shaped source ends, and the client's socket is ended after what went before.
  };

  /** Ends an exchange that never got as far as joining the sockets. */
  failed(outcome: ExchangeOutcome, reason: string, detail: string): void {
    this.close(outcome, reason, detail);
  }

  private readonly onUpstreamError = (err: Error): void => {
    this.upstreamError ??= err;
  };

  /**
   * A WebSocket has no half-open state worth keeping: once one side has said goodbye, finish
   * both, and do not wait for ever on a peer that never answers the FIN.
   */
  private endBoth(): void {
    this.client?.end();
    this.upstream?.end();
    setTimeout(() => {
      this.client?.destroy();
      this.upstream?.destroy();
    }, END_GRACE_MS).unref();
  }

  private readonly onSocketClose = (): void => {
    if (this.closed) return;
    // A rule hangs the stream: the upstream is gone, and the client waits until it gives up.
    if (this.ruleEnding?.type === 'hang' && this.client && !this.client.destroyed) return;
    if (this.upstreamError) {
      const code = (this.upstreamError as NodeJS.ErrnoException).code ?? 'ECONNRESET';
      this.close('upstream-reset', code, `upstream connection failed: ${this.upstreamError.message}`);
    } else if (this.firstEnd === 'upstream' || (this.clientEnded && this.upstreamEnded && this.halfOpen)) {
      this.close('completed');
    } else if (this.firstEnd === 'client') {
      this.close('client-closed', 'client-closed', 'the client closed the connection');
    } else if (this.upstream?.destroyed && !this.client?.destroyed) {
      this.close('upstream-reset', 'ECONNRESET', 'the upstream connection closed without ending its stream');
    } else {
      this.close('client-closed', 'client-closed', 'the client closed the connection');
    }
    this.client?.destroy();
    this.upstream?.destroy();
  };

  stop(): void {
    this.close('client-closed', STOPPED_REASON, STOPPED_DETAIL);
    this.client?.destroy();
    this.upstream?.destroy();
  }

  protected onIdle(): void {
    const detail = `no bytes moved in either direction for ${this.services.timeouts.idleMs / 1000} s`;
    this.close('idle-timeout', 'idle-timeout', detail);
    this.client?.destroy();
    this.upstream?.destroy();
  }

  private close(outcome: ExchangeOutcome, reason?: string, detail?: string): void {
    // A bridge's pumps are done whatever the outcome: both sockets are going away.
    this.toUpstream?.stop();
    this.toClient?.stop();
    this.finish(outcome, reason, detail);
  }
}

/** How long a side that was sent our FIN may take to close before we cut it. */
const END_GRACE_MS = 2_000;

function noop(): void {}
