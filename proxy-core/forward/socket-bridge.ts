import type { Duplex } from 'node:stream';
import type { Direction, ExchangeKind, ExchangeOutcome, RequestHead, ResponseHead } from '../../app/proxy-events.js';
import type { ExchangeCapture } from '../capture/recorder.js';
import { now } from '../clock.js';
import { BodyPump, type PumpObserver } from './body-pump.js';
import type { ExchangeServices } from './http-exchange.js';
import { IdleTimer } from './idle-timer.js';

/**
 * Two sockets joined byte for byte: a raw CONNECT tunnel, or a WebSocket after its upgrade.
 * Frames and records pass untouched; each direction is a backpressured pump with chunk timing,
 * so tunnels show on the timeline like any other stream.
 */
export class SocketBridge implements PumpObserver {
  readonly id: number;
  private readonly capture: ExchangeCapture;
  private readonly idle: IdleTimer;
  private client: Duplex | undefined;
  private upstream: Duplex | undefined;
  private toUpstream: BodyPump | undefined;
  private toClient: BodyPump | undefined;
  private clientEnded = false;
  private upstreamEnded = false;
  private upstreamError: Error | undefined;
  private firstEnd: 'client' | 'upstream' | undefined;
  private closed = false;

  constructor(
    private readonly services: ExchangeServices,
    kind: ExchangeKind,
    request: RequestHead,
    clientAddress: string,
    intercepted: boolean,
    /** Raw tunnels keep TCP half-close (one side may finish sending and still read). */
    private readonly halfOpen = kind === 'tunnel',
  ) {
    this.id = services.nextId();
    this.capture = services.openCapture(this.id, { copyBodies: false });
    this.idle = new IdleTimer(services.timeouts.idleMs, () => this.isPaused(), this.onIdle);
    const { hub } = services;
    if (hub.active) {
      hub.emit({
        type: 'exchange-opened',
        id: this.id,
        t: now(),
        wallTime: Date.now(),
        kind,
        intercepted,
        clientAddress,
        request,
      });
    }
  }

  /** Reports the upstream's answer (the 101 of a WebSocket upgrade). */
  responded(response: ResponseHead): void {
    const { hub } = this.services;
    if (hub.active) {
      hub.emit({
        type: 'response-head',
        id: this.id,
        t: now(),
        response,
        timings: { dns: -1, connect: -1, ssl: -1 },
        requestSentAt: -1,
      });
    }
  }

  /** Starts moving bytes both ways. */
  attach(client: Duplex, upstream: Duplex): void {
    this.client = client;
    this.upstream = upstream;
    client.on('error', noop);
    upstream.on('error', this.onUpstreamError);
    client.on('close', this.onSocketClose);
    upstream.on('close', this.onSocketClose);
    this.toUpstream = new BodyPump(client, upstream, 'request', this, () => {
      this.clientEnded = true;
      this.firstEnd ??= 'client';
      upstream.end();
      if (!this.halfOpen) this.endBoth();
    });
    this.toClient = new BodyPump(upstream, client, 'response', this, () => {
      this.upstreamEnded = true;
      this.firstEnd ??= 'upstream';
      client.end();
      if (!this.halfOpen) this.endBoth();
    });
    this.idle.start();
  }

  /** Ends an exchange that never got as far as joining the sockets. */
  failed(outcome: ExchangeOutcome, reason: string, detail: string): void {
    this.close(outcome, reason, detail);
  }

  onRead(_direction: Direction, at: number): void {
    this.idle.touch(at);
  }

  onFlushed(
    direction: Direction,
    chunk: Buffer,
    index: number,
    offset: number,
    readAt: number,
    flushedAt: number,
  ): void {
    this.capture.onFlushed(direction, chunk, index, offset, readAt, flushedAt);
  }

  onPaused(direction: Direction, at: number, queuedBytes: number): void {
    const { hub } = this.services;
    if (hub.active) hub.emit({ type: 'backpressure-paused', id: this.id, direction, t: at, queuedBytes });
  }

  onResumed(direction: Direction, at: number, pausedAt: number, queuedBytes: number): void {
    this.idle.touch(at);
    const { hub } = this.services;
    if (hub.active) hub.emit({ type: 'backpressure-resumed', id: this.id, direction, t: at, pausedAt, queuedBytes });
  }

  private isPaused(): boolean {
    return (this.toUpstream?.paused ?? false) || (this.toClient?.paused ?? false);
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

  private readonly onIdle = (): void => {
    const detail = `no bytes moved in either direction for ${this.services.timeouts.idleMs / 1000} s`;
    this.close('idle-timeout', 'idle-timeout', detail);
    this.client?.destroy();
    this.upstream?.destroy();
  };

  private close(outcome: ExchangeOutcome, reason?: string, detail?: string): void {
    if (this.closed) return;
    this.closed = true;
    const at = now();
    this.idle.stop();
    const pausedMs = (this.toUpstream?.pausedMs(at) ?? 0) + (this.toClient?.pausedMs(at) ?? 0);
    this.toUpstream?.stop();
    this.toClient?.stop();
    this.capture.finish();
    const { hub } = this.services;
    if (hub.active) {
      hub.emit({
        type: 'exchange-closed',
        id: this.id,
        t: at,
        outcome,
        ...(reason === undefined ? {} : { reason }),
        ...(detail === undefined ? {} : { detail }),
        requestBytes: this.toUpstream?.bytes ?? 0,
        responseBytes: this.toClient?.bytes ?? 0,
        pausedMs,
      });
    }
  }
}

/** How long a side that was sent our FIN may take to close before we cut it. */
const END_GRACE_MS = 2_000;

function noop(): void {}
