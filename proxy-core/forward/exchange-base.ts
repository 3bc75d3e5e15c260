import {
  headerValue,
  type ConnectTimings,
  type Direction,
  type ExchangeOutcome,
  type ProxyEvent,
  type RawHeaders,
  type RequestHead,
  type ResponseHead,
} from '../../app/proxy-events.js';
import type { ExchangeCapture, FlushedChunk } from '../capture/recorder.js';
import { now } from '../clock.js';
import type { EventHub } from '../event-hub.js';
import type { TimeoutOptions } from '../options.js';
import type { RuleActionType } from '../../app/stream-rules.js';
import { drawMs } from '../../app/stream-rules.js';
import { framingOf, type EventFraming } from '../rules/event-bounds.js';
import type { EndingAction, RequestFacts, RequestMatch, RespondAction, RuleSet, ShapePlan } from '../rules/rule-set.js';
import { changesLength, matchResponse } from '../rules/rule-set.js';
import { ShapedSource, type BreakpointDecision } from '../rules/shaped-source.js';
import type { Breakpoints } from '../rules/breakpoints.js';
import { messageCodecFor } from '../rules/message-codec.js';
import { parseEditedHead, requestHeadText, type EditedRequestHead } from '../../app/request-edit.js';
import type { RpcSchema } from '../../app/protobuf-schema.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { BodyPump, type PumpObserver, type PumpSource } from './body-pump.js';
import { IdleTimer } from './idle-timer.js';
import type { Mock, MockBook } from '../mock/mock-book.js';
import { MockBody } from '../mock/mock-body.js';
import type { ResendMark, ResendMarks } from '../resend/resend-marks.js';
import type { UpstreamPool } from './upstream.js';

/** Connection set-up phases an exchange did not measure (a reused connection, HTTP/2, a rule's answer). */
export const NO_TIMINGS: ConnectTimings = { dns: -1, connect: -1, ssl: -1 };

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
  /** The stream rules in effect now. */
  rules(): RuleSet;
  /** The RPC schemas content rules read messages with, if the user gave any. */
  rpcSchema(): RpcSchema | undefined;
  readonly breakpoints: Breakpoints;
  /** Recorded responses served in the upstream's place. */
  readonly mocks: MockBook;
  /** Requests Sluice's own client sends again (proxy-core/resend/). */
  readonly resends: ResendMarks;
  /** The exchanges under way, by id, for the user to stop one (`SluiceProxy.stopExchange`). */
  readonly open: Map<number, ExchangeBase>;
}

/** Why an exchange the user stopped ended, in its `exchange-closed`. */
export const STOPPED_REASON = 'stopped';
export const STOPPED_DETAIL = 'stopped from Sluice: both sides were cut';

/**
 * How long a client may take to read what it was sent before a response that broke off mid-body
 * is cut anyway (the bytes the upstream did send go first; see each exchange's breaking off).
 */
export const CUT_GRACE_MS = 2_000;

const BREAKPOINT_WORDS: Record<BreakpointDecision['outcome'], string> = {
  released: 'released',
  edited: 'released, edited,',
  dropped: 'dropped',
  'released-all': 'released the stream from',
  gone: 'was still holding',
};

/** A `respond` rule's answer: its body, and its fields with a Content-Length when it gave none. */
export function ruleAnswer(action: RespondAction): { body: Buffer; headers: [string, string][] } {
  const body = Buffer.from(action.body ?? '', 'utf8');
  const headers: [string, string][] = Object.entries(action.headers ?? {});
  if (!headers.some(([name]) => name.toLowerCase() === 'content-length')) {
    headers.push(['Content-Length', String(body.length)]);
  }
  return { body, headers };
}

/** A response under rules: how long its head waits, and its body's shaped source. */
export interface ShapedResponse {
  readonly headDelayMs: number;
  readonly source: ShapedSource;
  readonly plan: ShapePlan;
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
  /** The rules whose request conditions held; undefined when none can apply. */
  protected ruleMatch: RequestMatch | undefined;
  /** The path the rules matched, which names an RPC's method (and so its message types). */
  private rulePath = '';
  /** An ending rule fired: what the upstream does after that is no news to the client. */
  protected ruleEnding: EndingAction | undefined;
  /** Made when a rule first matches: most exchanges meet none. */
  private reportedMatches: Set<string> | undefined;
  /** Breakpoints holding this exchange's streams now: held time is not idle time. */
  private holdsOpen = 0;
  private headerTimer: NodeJS.Timeout | undefined;
  private headDelayTimer: NodeJS.Timeout | undefined;
  /** Set when this exchange is a request sent again from Sluice (`SluiceProxy.resend`). */
  private resendOf: ResendMark | undefined;
  /** The mock this exchange is answered with, once its head is out; its body's schedule ends with the exchange. */
  private mockPlaying: { readonly mock: Mock; body: MockBody | undefined } | undefined;

  constructor(
    protected readonly services: ExchangeServices,
    copyBodies: boolean,
  ) {
    this.id = services.nextId();
    services.open.set(this.id, this);
    this.capture = services.openCapture(this.id, { copyBodies });
    this.idle = new IdleTimer(
      services.timeouts.idleMs,
      () => (this.toUpstream?.paused ?? false) || (this.toClient?.paused ?? false) || this.holdsOpen > 0,
      () => this.onIdle(),
    );
  }

  protected abstract onIdle(): void;

  /**
   * The user stopped this exchange: both sides are cut (the client cannot take what it got for a
   * whole answer) and it ends as `client-closed`, reason `stopped`: Sluice closed it for the client.
   */
  abstract stop(): void;

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

  /**
   * The response head came (or a rule made one): the wait for it is over, and every exchange
   * reports it the same way. Returns when.
   */
  protected announceHead(
    response: ResponseHead,
    timings: ConnectTimings = NO_TIMINGS,
    requestSentAt = this.requestSentAt,
  ): number {
    const at = now();
    this.responseHeadArrived(at);
    const mock = this.mockPlaying?.mock.id;
    this.emit({
      type: 'response-head',
      id: this.id,
      t: at,
      response,
      timings,
      requestSentAt,
      ...(mock === undefined ? {} : { mock }),
    });
    return at;
  }

  protected clearHeaderTimer(): void {
    if (this.headerTimer !== undefined) clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
  }

  /** Marks this exchange as a resend (before `start`): its opened event names the exchange it sends again. */
  resending(mark: ResendMark | undefined): this {
    this.resendOf = mark;
    return this;
  }

  protected emit(event: ProxyEvent): void {
    // Every exchange announces its heads through here, so the capture learns them in one place.
    if (event.type === 'exchange-opened') {
      this.capture.onRequestHead(event.request);
      if (this.resendOf) {
        const mark = this.resendOf;
        this.resendOf = undefined;
        if (this.services.hub.active) this.services.hub.emit({ ...event, resentFrom: mark.from });
        mark.opened(this.id);
        return;
      }
    } else if (event.type === 'response-head') this.capture.onResponseHead(event.response, event.t);
    if (this.services.hub.active) this.services.hub.emit(event);
  }

  /** Finds the rules that may apply to this request, and says which matched already. */
  protected matchRules(facts: RequestFacts): RequestMatch | undefined {
    this.ruleMatch = this.services.rules().matchRequest(facts);
    this.rulePath = facts.path;
    for (const rule of this.ruleMatch?.matched ?? []) this.reportMatch(rule);
    return this.ruleMatch;
  }

  /**
   * The response's body source under the rules that match it, or undefined when none does. The
   * source holds the body back (pausing the upstream) until `open`, which the caller calls once
   * the head, delayed `headDelayMs`, has gone to the client.
   */
  protected shapeResponse(
    source: PumpSource,
    contentType: string | undefined,
    contentEncoding: string | undefined,
    onEnding: (action: EndingAction) => void,
    /** A WebSocket's messages: its frames are the events, and its head is already out. */
    websocket = false,
  ): ShapedResponse | undefined {
    if (!this.ruleMatch) return undefined;
    const { plan, matched } = matchResponse(this.ruleMatch, contentType);
    for (const rule of matched) this.reportMatch(rule);
    if (!plan) return undefined;
    let headDelayMs = 0;
    for (const delay of plan.headDelays) {
      const ms = drawMs(delay.ms);
      this.reportRule(delay.rule, 'delay-head', 'response', `held the response head for ${Math.round(ms)} ms`, ms);
      headDelayMs += ms;
    }
    const framing = websocket ? 'websocket' : framingOf(contentType, contentEncoding);
    const ended = (action: EndingAction): void => {
      this.ruleEnding = action;
      onEnding(action);
    };
    const shaped = this.shaped('response', source, plan, framing, contentType, ended, !websocket);
    return { headDelayMs, source: shaped, plan };
  }

  /**
   * Runs `send`, which forwards the response head and opens `shaped`, once the rules' head delay
   * has passed (at once without one), unless the exchange ended first.
   */
  protected afterHeadDelay(shaped: ShapedResponse, send: () => void): void {
    const go = (): void => {
      this.headDelayTimer = undefined;
      if (!this.closed) send();
    };
    if (shaped.headDelayMs > 0) this.headDelayTimer = setTimeout(go, shaped.headDelayMs);
    else go();
  }

  /**
   * The request body's source under request-direction rules (a bandwidth cap, delays, content
   * rules and breakpoints on its events), else `source`. Its events are those of its content type
   * (`headers`), or a WebSocket's client messages.
   */
  protected shapeRequest(source: PumpSource, headers: RawHeaders | 'websocket'): PumpSource {
    const plan = this.ruleMatch?.request;
    if (!plan) return source;
    const contentType = headers === 'websocket' ? undefined : headerValue(headers, 'content-type');
    const framing: EventFraming =
      headers === 'websocket' ? 'websocket' : framingOf(contentType, headerValue(headers, 'content-encoding'));
    return this.shaped('request', source, plan, framing, contentType, () => undefined, false);
  }

  /**
   * One direction's body under its plan: what the rules did is told as this exchange's, a
   * breakpoint holds here, and RPC messages are read through the call's schema.
   */
  private shaped(
    direction: Direction,
    source: PumpSource,
    plan: ShapePlan,
    framing: EventFraming,
    contentType: string | undefined,
    ended: (action: EndingAction) => void,
    held: boolean,
  ): ShapedSource {
    const codec =
      framing === 'frames'
        ? messageCodecFor(this.services.rpcSchema(), this.rulePath, direction, contentType)
        : undefined;
    return new ShapedSource(
      source,
      plan,
      framing,
      {
        report: (rule, action, detail, heldMs, event) =>
          this.reportRule(rule, action, direction, detail, heldMs, event),
        ended,
        hold: (rule, event, bytes, text) => this.holdAt(direction, rule, event, bytes, text),
      },
      { held, codec },
    );
  }

  /** Request rules may change the body's length: its Content-Length must not go upstream. */
  protected get requestLengthChanges(): boolean {
    const plan = this.ruleMatch?.request;
    return plan !== undefined && changesLength(plan);
  }

  /**
   * A `respond` rule answers an HTTP/1.x client in the upstream's place: the request body is read
   * (and recorded, as if sent), then the rule's status, fields and body go to the client.
   */
  protected answerHttp1ByRule(req: IncomingMessage, res: ServerResponse, rule: string, action: RespondAction): void {
    const { body, headers } = ruleAnswer(action);
    this.readRequestThen(req, () => {
      const at = this.announceHead(
        { status: action.status, statusText: '', httpVersion: '1.1', headers },
        NO_TIMINGS,
        now(),
      );
      this.reportRule(rule, 'respond', 'response', `answered ${action.status} in the upstream's place`);
      res.sendDate = false;
      res.writeHead(action.status, headers.flat());
      res.end(body, () => {
        if (body.length > 0)
          this.onFlushed({ direction: 'response', bytes: body, index: 0, offset: 0, readAt: at, flushedAt: now() });
      });
    });
  }

  /** The mock that answers this request, if one does: the upstream is then never asked. */
  protected takeMock(method: string, url: string): Mock | undefined {
    return this.services.mocks.take(method, url);
  }

  /**
   * Answers with a recorded response: the request body is read (and recorded, as if sent) while,
   * after the recorded wait, `respond` gets the head and the body, which plays its pieces at their
   * recorded times (speed and jitter as the mocks' playback says). The answer does not wait for
   * the request's end: a client that streams its upload until it hears back (a bidi RPC) is
   * answered as its server answered it. `request` undefined: none to read.
   */
  protected playMock(
    mock: Mock,
    request: PumpSource | undefined,
    respond: (head: ResponseHead, body: MockBody, trailers: RawHeaders) => void,
  ): void {
    const playing: { readonly mock: Mock; body: MockBody | undefined } = { mock, body: undefined };
    this.mockPlaying = playing;
    if (request) this.readRequestThen(request, noop);
    this.requestSentAt = now();
    const schedule = this.services.mocks.schedule(mock);
    const go = (): void => {
      this.headDelayTimer = undefined;
      if (this.closed) return;
      playing.body = new MockBody(schedule.pieces, schedule.times);
      const head: ResponseHead = {
        status: mock.status,
        statusText: mock.statusText,
        httpVersion: mock.protocol === 'h2' ? '2' : '1.1',
        headers: mock.headers,
      };
      respond(head, playing.body, mock.trailers);
    };
    if (schedule.headMs > 0) this.headDelayTimer = setTimeout(go, schedule.headMs);
    else go();
  }

  /**
   * Reads the request body to its end, recorded as if sent but going nowhere, then runs `then`:
   * a rule answers in the upstream's place.
   */
  protected readRequestThen(source: PumpSource, then: () => void): void {
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    this.toUpstream = new BodyPump(source, discard, 'request', this, then);
  }

  /**
   * A request breakpoint holds the request (its body paused) until the user decides: `go` sends
   * it on, as the user edited its head when they did, a drop calls `drop` (which answers the
   * client). The held text is the request head; an edit that cannot go (another origin, a line
   * that is not a field) is said, and the request goes as it came.
   */
  protected holdRequestThen(
    rule: string,
    request: RequestHead,
    body: { pause(): unknown; resume(): unknown },
    go: (edited?: EditedRequestHead) => void,
    drop: () => void,
  ): void {
    body.pause();
    void this.holdAt('request', rule, 0, Buffer.from(requestHeadText(request), 'utf8')).then((decision) => {
      if (this.closed || decision.outcome === 'gone') return;
      body.resume();
      if (decision.outcome === 'dropped') return drop();
      if (decision.outcome !== 'edited') return go();
      const edited = parseEditedHead(decision.bytes.toString('utf8'), request);
      if (typeof edited === 'string') {
        this.reportRule(rule, 'breakpoint', 'request', `sent the request as it came: the edit ${edited}`);
        return go();
      }
      this.reportRule(rule, 'breakpoint', 'request', `sent the request as edited: ${edited.method} ${edited.path}`);
      go(edited);
    });
  }

  /** A breakpoint stops this exchange's stream before `event` (0: its request): says so, and waits for the user. */
  private holdAt(
    direction: Direction,
    rule: string,
    event: number,
    bytes: Buffer,
    /** What the user sees and edits, when it is not the bytes themselves. */
    view?: string,
  ): Promise<BreakpointDecision> {
    return new Promise((resolve) => {
      const heldAt = now();
      this.holdsOpen++;
      const breakpoint = this.services.breakpoints.open(this.id, (decision) => {
        this.holdsOpen--;
        const at = now();
        this.idle.touch(at);
        this.emit({ type: 'breakpoint-resolved', id: this.id, t: at, breakpoint, outcome: decision.outcome });
        this.reportRule(
          rule,
          'breakpoint',
          direction,
          `${BREAKPOINT_WORDS[decision.outcome]} ${event === 0 ? 'the request' : `event ${event}`}`,
          at - heldAt,
        );
        resolve(decision);
      });
      const text = view ?? bytes.toString('utf8');
      const isText =
        view !== undefined || (Buffer.byteLength(text, 'utf8') === bytes.length && !text.includes('\uFFFD'));
      this.emit({
        type: 'breakpoint-held',
        id: this.id,
        t: heldAt,
        breakpoint,
        rule,
        direction,
        event,
        ...(isText ? { text } : { base64: bytes.toString('base64') }),
      });
    });
  }

  protected reportRule(
    rule: string,
    action: RuleActionType | 'match',
    direction: Direction,
    detail: string,
    heldMs?: number,
    event?: number,
  ): void {
    this.emit({
      type: 'rule-applied',
      id: this.id,
      t: now(),
      rule,
      action,
      direction,
      detail,
      ...(heldMs === undefined ? {} : { heldMs }),
      ...(event === undefined ? {} : { event }),
    });
  }

  private reportMatch(rule: string): void {
    this.reportedMatches ??= new Set();
    if (this.reportedMatches.has(rule)) return;
    this.reportedMatches.add(rule);
    this.services.rules().countMatch(rule);
    this.reportRule(rule, 'match', 'response', 'matched');
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
    this.services.open.delete(this.id);
    const at = now();
    this.clearHeaderTimer();
    if (this.headDelayTimer !== undefined) clearTimeout(this.headDelayTimer);
    this.mockPlaying?.body?.destroy();
    this.idle.stop();
    // A stream held at a breakpoint is let go with its exchange (the UI hears it is gone).
    this.services.breakpoints.endExchange(this.id);
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

function noop(): void {}
