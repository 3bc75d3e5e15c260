import type { Direction, ExchangeOutcome, ProxyEvent } from '../../app/proxy-events.js';
import type { ExchangeCapture, FlushedChunk } from '../capture/recorder.js';
import { now } from '../clock.js';
import type { EventHub } from '../event-hub.js';
import type { TimeoutOptions } from '../options.js';
import type { BodyPump, PumpObserver } from './body-pump.js';
import { IdleTimer } from './idle-timer.js';
import type { UpstreamPool } from './upstream.js';

/** The status a proxy answers when the upstream failed it: 504 for a timeout, else 502. */
export function gatewayStatus(code: string): 502 | 504 {
  return code.endsWith('-timeout') ? 504 : 502;
}

// OpenSSL's verdicts on a certificate chain Node could not verify (as opposed to a broken handshake).
const UNVERIFIED_CERTIFICATE =
  /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

/**
 * Why `what` failed, for a 502's body and the exchange's ending. A certificate Sluice cannot verify
 * says how to make Sluice trust it, since the user's own client would have been told the same.
 */
export function upstreamFailure(what: string, err: NodeJS.ErrnoException): string {
  const detail = `${what}: ${err.message}`;
  if (!UNVERIFIED_CERTIFICATE.test(err.code ?? '')) return detail;
  return (
    `${detail}. Sluice could not verify the upstream's certificate (${err.code}); if you trust this server, ` +
    `start Sluice with --upstream-ca FILE naming the CA that issued it`
  );
}

export interface ExchangeServices {
  readonly hub: EventHub;
  readonly upstream: UpstreamPool;
  readonly timeouts: TimeoutOptions;
  openCapture(id: number, options?: { copyBodies?: boolean }): ExchangeCapture;
  nextId(): number;
}

/**
 * What every exchange shares, whether HTTP or two joined sockets: an id, a capture, an idle
 * timer that ignores time paused for backpressure, the observe-path reporting of its two pumps,
 * and exactly one `exchange-closed` event.
 */
export abstract class ExchangeBase implements PumpObserver {
  readonly id: number;
  protected readonly capture: ExchangeCapture;
  protected readonly idle: IdleTimer;
  /** Client → upstream: the request body, or the client's half of a tunnel. */
  protected toUpstream: BodyPump | undefined;
  /** Upstream → client. */
  protected toClient: BodyPump | undefined;
  protected closed = false;
  /** When the whole request had been sent upstream; -1 until then (or when its response came first). */
  protected requestSentAt = -1;
  private headerTimer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly services: ExchangeServices,
    copyBodies: boolean,
  ) {
    this.id = services.nextId();
    this.capture = services.openCapture(this.id, { copyBodies });
    this.idle = new IdleTimer(
      services.timeouts.idleMs,
      () => (this.toUpstream?.paused ?? false) || (this.toClient?.paused ?? false),
      () => this.onIdle(),
    );
  }

  protected abstract onIdle(): void;

  /**
   * The request is all sent. Until the response head arrives, silence is the upstream thinking:
   * the response-header timeout governs that wait (`onTimeout`), and the idle timer takes over
   * again when the head comes (`responseHeadArrived`).
   */
  protected requestSent(responded: boolean, onTimeout: (ms: number) => void): void {
    this.requestSentAt = now();
    if (responded || this.closed) return;
    this.idle.stop();
    const ms = this.services.timeouts.responseHeaderMs;
    this.headerTimer = setTimeout(() => {
      if (!this.closed) onTimeout(ms);
    }, ms);
    this.headerTimer.unref();
  }

  /** The response head came: the header timeout's wait is over, and the idle timer's begins. */
  protected responseHeadArrived(at: number): void {
    this.clearHeaderTimer();
    this.idle.touch(at);
    this.idle.start();
  }

  protected clearHeaderTimer(): void {
    if (this.headerTimer !== undefined) clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
  }

  protected emit(event: ProxyEvent): void {
    // Every exchange announces its heads through here, so the capture learns them in one place.
    if (event.type === 'exchange-opened') this.capture.onRequestHead(event.request);
    else if (event.type === 'response-head') this.capture.onResponseHead(event.response, event.t);
    if (this.services.hub.active) this.services.hub.emit(event);
  }

  onRead(_direction: Direction, at: number): void {
    this.idle.touch(at);
  }

  onFlushed(chunk: FlushedChunk): void {
    this.capture.onFlushed(chunk);
  }

  onPaused(direction: Direction, at: number, queuedBytes: number): void {
    this.emit({ type: 'backpressure-paused', id: this.id, direction, t: at, queuedBytes });
  }

  onResumed(direction: Direction, at: number, pausedAt: number, queuedBytes: number): void {
    this.idle.touch(at);
    this.emit({ type: 'backpressure-resumed', id: this.id, direction, t: at, pausedAt, queuedBytes });
  }

  /** Records how the exchange ended, once; later calls are ignored. */
  protected finish(outcome: ExchangeOutcome, reason?: string, detail?: string): void {
    if (this.closed) return;
    this.closed = true;
    const at = now();
    this.clearHeaderTimer();
    this.idle.stop();
    const pausedMs = (this.toUpstream?.pausedMs(at) ?? 0) + (this.toClient?.pausedMs(at) ?? 0);
    if (outcome !== 'completed') {
      this.toUpstream?.stop();
      this.toClient?.stop();
    }
    this.capture.finish(outcome);
    this.emit({
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
