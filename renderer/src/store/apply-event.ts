import {
  WINDOW_MAX_EXCHANGES,
  type HarImportProgressEvent,
  type HostEvent,
  type ProxyStatus,
  type RulesState,
  type SystemProxyStatus,
} from '../../../app/contract.js';
import type { MocksState } from '../../../app/mocks.js';
import type { ClientErrorEvent, Direction } from '../../../app/proxy-events.js';
import { chunkFollows, mergeChunks } from '../../../app/proxy-events.js';
import { rpcCallOf } from '../../../app/rpc-calls.js';
import type { BodyView, ExchangeView } from '../model/exchange.js';
import { isDismissed, noticeKey } from './notices.js';

/** A note for the user that belongs to no exchange: host notices, refused client requests, drops. */
export interface Notice {
  readonly t: number;
  readonly level: 'info' | 'warning' | 'error';
  readonly message: string;
}

export interface TrafficLimits {
  /** Chunks kept per body; past it, new chunks merge into the last one (byte ranges stay exact). */
  readonly maxChunksPerBody: number;
  /** Exchanges kept; past it the oldest finished ones are forgotten. */
  readonly maxExchanges: number;
  /**
   * Server-Sent Events, WebSocket messages and RPC messages kept per exchange; past it the oldest
   * tenth is dropped (newest matter live): a window left open on a stream all day stays bounded.
   */
  readonly maxMessagesPerExchange?: number;
}

const MAX_MESSAGES = 50_000;

export const DEFAULT_LIMITS: TrafficLimits = {
  maxChunksPerBody: 200_000,
  maxExchanges: WINDOW_MAX_EXCHANGES,
  maxMessagesPerExchange: MAX_MESSAGES,
};

/**
 * Everything the renderer knows about traffic. Mutable on purpose: a flood brings thousands of
 * chunk events a second, and copying arrays per event would cost more than the events. Whoever
 * mutates bumps `revision` on the exchange and `listRevision` when the list itself changed
 * (rows added or removed, a status, a type or an ending arrived), so views can memoise.
 */
export interface Traffic {
  readonly exchanges: Map<number, ExchangeView>;
  /** Ids in arrival order. */
  order: number[];
  listRevision: number;
  status: ProxyStatus | undefined;
  /** The machine-wide proxy switch, as the host last said. */
  systemProxy: SystemProxyStatus | undefined;
  /** The stream rules in effect, as the host last said. */
  rules: RulesState | undefined;
  /** The mocks served and how they play, as the host last said. */
  mocks: MocksState | undefined;
  /** Streams held at a breakpoint now: breakpoint number → exchange id. */
  readonly breakpoints: Map<number, number>;
  notices: Notice[];
  clientErrors: ClientErrorEvent[];
  /** Display events the host dropped because this window fell behind, since the feed began. */
  droppedEvents: number;
  /** The latest progress of each HAR import, by import id, until the user dismisses it. */
  imports: Map<number, HarImportProgressEvent>;
}

export function emptyTraffic(): Traffic {
  return {
    exchanges: new Map(),
    order: [],
    listRevision: 0,
    status: undefined,
    systemProxy: undefined,
    rules: undefined,
    mocks: undefined,
    breakpoints: new Map(),
    notices: [],
    clientErrors: [],
    droppedEvents: 0,
    imports: new Map(),
  };
}

function emptyBody(direction: Direction): BodyView {
  return {
    direction,
    chunks: [],
    pauses: [],
    ruleHolds: [],
    bytes: 0,
    limited: undefined,
    framesStopped: undefined,
    rpcTotals: { frames: 0, messages: 0, wireBytes: 0, bytes: 0 },
    messageEndChunks: [],
  };
}

const MAX_NOTICES = 200;
/** What rules did to one exchange, kept in full up to this many; the rest are counted. */
const MAX_RULE_EVENTS = 1_000;

/** Applies one host event to `traffic` in place. Events for exchanges it does not know are ignored. */
export function applyEvent(traffic: Traffic, event: HostEvent, limits: TrafficLimits = DEFAULT_LIMITS): void {
  switch (event.type) {
    case 'exchange-opened': {
      if (traffic.exchanges.has(event.id)) return;
      traffic.exchanges.set(event.id, {
        id: event.id,
        opened: event,
        response: undefined,
        closed: undefined,
        requestBody: emptyBody('request'),
        responseBody: emptyBody('response'),
        sse: [],
        sseDropped: 0,
        sseFirst: undefined,
        sseRetryMs: undefined,
        messages: [],
        messagesDropped: 0,
        rpc: rpcCallOf(event.request),
        rpcMessages: [],
        rpcMessagesDropped: 0,
        rpcStatus: undefined,
        messageCapNote: undefined,
        rules: [],
        rulesDropped: 0,
        breakpoint: undefined,
        held: undefined,
        revision: 0,
      });
      traffic.order.push(event.id);
      traffic.listRevision++;
      // Trim to 90 % so the linear pass is paid once per many new exchanges, not on each.
      if (traffic.order.length > limits.maxExchanges) forgetOldest(traffic, Math.floor(limits.maxExchanges * 0.9));
      return;
    }
    case 'response-head':
      return touch(traffic, event.id, true, (x) => {
        x.response = event;
      });
    case 'exchange-held':
      // The list counts a call with more than one message as a stream.
      return touch(traffic, event.id, true, (x) => {
        x.held = event.held;
        x.requestBody.rpcTotals.messages = event.rpcMessages.request;
        x.responseBody.rpcTotals.messages = event.rpcMessages.response;
      });
    case 'chunk':
      return touch(traffic, event.id, false, (x) => {
        const body = bodyOf(x, event.direction);
        const last = body.chunks[body.chunks.length - 1];
        if (body.chunks.length >= limits.maxChunksPerBody && last && chunkFollows(last, event)) {
          body.chunks[body.chunks.length - 1] = mergeChunks(last, event);
        } else {
          body.chunks.push(event);
        }
        body.bytes = Math.max(body.bytes, event.offset + event.size);
      });
    case 'backpressure-paused':
      return touch(traffic, event.id, false, (x) => {
        bodyOf(x, event.direction).pauses.push({
          direction: event.direction,
          start: event.t,
          end: undefined,
          queuedBytes: event.queuedBytes,
        });
      });
    case 'backpressure-resumed':
      return touch(traffic, event.id, false, (x) => {
        const { pauses } = bodyOf(x, event.direction);
        const open = pauses.findLastIndex((p) => p.end === undefined);
        const interval = {
          direction: event.direction,
          start: event.pausedAt,
          end: event.t,
          queuedBytes: event.queuedBytes,
        };
        // A resume whose pause was dropped under load still shows as an interval.
        if (open >= 0) pauses[open] = interval;
        else pauses.push(interval);
      });
    case 'sse-event':
      return touch(traffic, event.id, false, (x) => {
        x.sseFirst ??= event;
        x.sseDropped += pushCapped(x.sse, event, limits);
      });
    case 'sse-retry':
      return touch(traffic, event.id, false, (x) => {
        x.sseRetryMs = event.retryMs;
      });
    case 'websocket-message':
      return touch(traffic, event.id, false, (x) => {
        x.messagesDropped += pushCapped(x.messages, event, limits);
      });
    case 'rpc-message':
      return touch(traffic, event.id, false, (x) => {
        x.rpcMessagesDropped += pushCapped(x.rpcMessages, event, limits);
        const body = bodyOf(x, event.direction);
        body.rpcTotals.frames++;
        if (event.kind === 'message') body.rpcTotals.messages++;
        body.rpcTotals.wireBytes += event.wireBytes;
        body.rpcTotals.bytes += event.size;
        pushCapped(body.messageEndChunks, event.chunkRange[1], limits);
      });
    case 'rule-applied':
      return touch(traffic, event.id, false, (x) => {
        // Per-event latency makes one of these per event: the first ones tell the story.
        if (x.rules.length < MAX_RULE_EVENTS) x.rules.push(event);
        else x.rulesDropped++;
        if (event.heldMs !== undefined && event.heldMs > 0) {
          pushCapped(
            bodyOf(x, event.direction).ruleHolds,
            { start: event.t, end: event.t + event.heldMs, rule: event.rule },
            limits,
          );
        }
      });
    case 'breakpoint-held':
      traffic.breakpoints.set(event.breakpoint, event.id);
      return touch(traffic, event.id, true, (x) => {
        x.breakpoint = event;
      });
    case 'breakpoint-resolved':
      traffic.breakpoints.delete(event.breakpoint);
      return touch(traffic, event.id, true, (x) => {
        if (x.breakpoint?.breakpoint === event.breakpoint) x.breakpoint = undefined;
      });
    case 'rpc-status':
      // The list shows the status.
      return touch(traffic, event.id, true, (x) => {
        x.rpcStatus = event;
      });
    case 'capture-limited':
      return touch(traffic, event.id, false, (x) => {
        if (event.reason === 'message-cap') {
          x.messageCapNote ??= event;
          return;
        }
        const body = bodyOf(x, event.direction);
        // Frames that stopped parsing are news of their own: the body's capture itself goes on.
        if (event.reason === 'rpc-frames') body.framesStopped ??= event;
        else body.limited ??= event;
      });
    case 'exchange-closed':
      return touch(traffic, event.id, true, (x) => {
        x.closed = event;
        // Pauses still open when the exchange ended ended with it.
        for (const body of [x.requestBody, x.responseBody]) {
          body.pauses.forEach((p, i) => {
            if (p.end === undefined) body.pauses[i] = { ...p, end: event.t };
          });
        }
      });
    case 'client-error':
      traffic.clientErrors.push(event);
      if (traffic.clientErrors.length > MAX_NOTICES)
        traffic.clientErrors.splice(0, traffic.clientErrors.length - MAX_NOTICES);
      return;
    case 'host-notice':
      addNotice(traffic, { t: event.t, level: event.level, message: event.message });
      return;
    case 'proxy-status':
      traffic.status = event.status;
      return;
    case 'system-proxy-status':
      traffic.systemProxy = event.status;
      return;
    case 'mocks-changed':
      if ((traffic.mocks?.revision ?? -1) <= event.state.revision) traffic.mocks = event.state;
      return;
    case 'rules-changed':
      // A late answer to rules.get must not undo a newer change.
      if ((traffic.rules?.revision ?? -1) <= event.state.revision) traffic.rules = event.state;
      return;
    case 'events-dropped':
      traffic.droppedEvents += event.count;
      return;
    case 'capture-cleared':
      clearExchanges(traffic);
      return;
    case 'exchanges-removed': {
      const gone = new Set(event.ids);
      for (const id of gone) traffic.exchanges.delete(id);
      traffic.order = traffic.order.filter((id) => !gone.has(id));
      traffic.listRevision++;
      return;
    }
    case 'har-import-progress':
      traffic.imports.set(event.importId, event);
      return;
  }
}

/**
 * Applies `event` to `traffic` when it is one of exchange `id`'s: a held exchange (see
 * `ExchangeView.held`) is made whole so in a copy, a frame's worth at a time, then `replaceExchange`.
 */
export function applyOwnEvent(traffic: Traffic, id: number, event: HostEvent): void {
  if ('id' in event && event.id === id) applyEvent(traffic, event);
}

/** Puts `whole` where the exchange with its id is; false when that exchange is gone. */
export function replaceExchange(traffic: Traffic, whole: ExchangeView): boolean {
  const old = traffic.exchanges.get(whole.id);
  if (!old) return false;
  whole.revision = old.revision + 1;
  traffic.exchanges.set(whole.id, whole);
  traffic.listRevision++;
  return true;
}

export function clearExchanges(traffic: Traffic): void {
  traffic.exchanges.clear();
  traffic.breakpoints.clear();
  traffic.order = [];
  traffic.clientErrors = [];
  traffic.droppedEvents = 0;
  traffic.listRevision++;
}

export function addNotice(traffic: Traffic, notice: Notice): void {
  // One notice (its time, level and words) is one banner, however often it arrives.
  const key = noticeKey(notice);
  if (isDismissed(notice) || traffic.notices.some((n) => noticeKey(n) === key)) return;
  traffic.notices.push(notice);
  if (traffic.notices.length > MAX_NOTICES) traffic.notices.splice(0, traffic.notices.length - MAX_NOTICES);
}

/**
 * Appends `item` to a list kept to the message cap; past it the oldest tenth goes, so the splice
 * is paid once per many items. Returns how many were dropped, for counts that stay true.
 */
function pushCapped<T>(list: T[], item: T, limits: TrafficLimits): number {
  list.push(item);
  const max = limits.maxMessagesPerExchange ?? MAX_MESSAGES;
  if (list.length <= max) return 0;
  const excess = list.length - Math.floor(max * 0.9);
  list.splice(0, excess);
  return excess;
}

function bodyOf(x: ExchangeView, direction: Direction): BodyView {
  return direction === 'request' ? x.requestBody : x.responseBody;
}

function touch(traffic: Traffic, id: number, listChanged: boolean, change: (x: ExchangeView) => void): void {
  const x = traffic.exchanges.get(id);
  if (!x) return;
  change(x);
  x.revision++;
  if (listChanged) traffic.listRevision++;
}

function forgetOldest(traffic: Traffic, max: number): void {
  const excess = traffic.order.length - max;
  let removed = 0;
  const kept: number[] = [];
  for (const id of traffic.order) {
    const x = traffic.exchanges.get(id);
    if (removed < excess && x?.closed) {
      traffic.exchanges.delete(id);
      removed++;
    } else {
      kept.push(id);
    }
  }
  traffic.order = kept;
}
