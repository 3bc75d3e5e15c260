import type { HostEvent } from '../../app/contract.js';
import type {
  BackpressurePausedEvent,
  BackpressureResumedEvent,
  CaptureLimitedEvent,
  ChunkEvent,
  ExchangeClosedEvent,
  ExchangeOpenedEvent,
  ResponseHeadEvent,
  RpcMessageEvent,
  RpcStatusEvent,
  RuleAppliedEvent,
  SseEvent,
  WebSocketMessageEvent,
} from '../../app/proxy-events.js';

/** What the host saw of one exchange, gathered from its events, for export. */
export interface ExchangeEvents {
  readonly opened: ExchangeOpenedEvent;
  responseHead: ResponseHeadEvent | undefined;
  closed: ExchangeClosedEvent | undefined;
  readonly chunks: ChunkEvent[];
  readonly backpressure: (BackpressurePausedEvent | BackpressureResumedEvent)[];
  readonly sse: SseEvent[];
  readonly messages: WebSocketMessageEvent[];
  /** A gRPC, gRPC-Web or Connect call's messages, both directions, in order. */
  readonly rpcMessages: RpcMessageEvent[];
  /** The call's outcome: the last status reported. */
  rpcStatus: RpcStatusEvent | undefined;
  readonly captureLimits: CaptureLimitedEvent[];
  readonly rules: RuleAppliedEvent[];
}

/**
 * The exchanges in a log's events, one at a time. The log gives each exchange's events together
 * and in order, so only one exchange is gathered at a time however long the log is.
 */
export function* exchangesIn(events: Iterable<HostEvent>): Generator<ExchangeEvents> {
  let current: ExchangeEvents | undefined;
  for (const event of events) {
    if (event.type === 'exchange-opened') {
      if (current) yield current;
      current = {
        opened: event,
        responseHead: undefined,
        closed: undefined,
        chunks: [],
        backpressure: [],
        sse: [],
        messages: [],
        rpcMessages: [],
        rpcStatus: undefined,
        captureLimits: [],
        rules: [],
      };
      continue;
    }
    if (!current || !('id' in event) || event.id !== current.opened.id) continue;
    switch (event.type) {
      case 'response-head':
        current.responseHead = event;
        break;
      case 'exchange-closed':
        current.closed = event;
        break;
      case 'chunk':
        current.chunks.push(event);
        break;
      case 'backpressure-paused':
      case 'backpressure-resumed':
        current.backpressure.push(event);
        break;
      case 'sse-event':
        current.sse.push(event);
        break;
      case 'websocket-message':
        current.messages.push(event);
        break;
      case 'rpc-message':
        current.rpcMessages.push(event);
        break;
      case 'rpc-status':
        current.rpcStatus = event;
        break;
      case 'capture-limited':
        current.captureLimits.push(event);
        break;
      case 'rule-applied':
        current.rules.push(event);
        break;
      default:
        break;
    }
  }
  if (current) yield current;
}
