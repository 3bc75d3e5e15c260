import type {
  BreakpointHeldEvent,
  CaptureLimitedEvent,
  ChunkEvent,
  Direction,
  ExchangeClosedEvent,
  ExchangeOpenedEvent,
  ResponseHeadEvent,
  RpcMessageEvent,
  RpcStatusEvent,
  RuleAppliedEvent,
  SseEvent,
  WebSocketMessageEvent,
} from '../../../app/proxy-events.js';
import type { RpcCall } from '../../../app/rpc-calls.js';

/** One backpressure pause: reads from the fast side stopped because the slow side's buffer was full. */
export interface PauseInterval {
  readonly direction: Direction;
  readonly start: number;
  /** Undefined while the pause lasts. */
  readonly end: number | undefined;
  /** Bytes waiting in the proxy for the slow side: at the start, then the most seen once it ended. */
  readonly queuedBytes: number;
}

/** A stretch a stream rule held this body back on purpose (a delay, a stall, the head held). */
export interface RuleHold {
  readonly start: number;
  readonly end: number;
  readonly rule: string;
}

/**
 * One body as the renderer knows it. Arrays grow in place as events arrive (copying a 100,000-chunk
 * array per event would cost more than the events), so views key their memos on the exchange's
 * `revision`, which the store bumps on every change.
 */
export interface BodyView {
  readonly direction: Direction;
  /** In body order; under a flood the host may have merged neighbours (see `mergeChunks`). */
  readonly chunks: ChunkEvent[];
  readonly pauses: PauseInterval[];
  /** Rule-made holds, in time order (the timeline draws them apart from backpressure pauses). */
  readonly ruleHolds: RuleHold[];
  /** Bytes forwarded so far (sum of chunk sizes), still content-encoded. */
  bytes: number;
  /** Set when the capture of this body gave way; the forwarded stream is unaffected. */
  limited: CaptureLimitedEvent | undefined;
  /**
   * Set when this direction's gRPC, gRPC-Web or Connect frames stopped making sense (`detail` says
   * where and why): no more messages come from it, though the stream was still forwarded whole.
   */
  framesStopped: CaptureLimitedEvent | undefined;
  /** This direction's RPC frames so far, trailer and end-of-stream frames included: true counts, never dropped. */
  readonly rpcTotals: RpcTotals;
  /**
   * The chunk each of this direction's RPC frames ended in (the last of its `chunkRange`, in
   * order), for the timeline's message boundaries; past the store's message cap the oldest go.
   */
  readonly messageEndChunks: number[];
}

export interface RpcTotals {
  frames: number;
  /** Frames that were messages: trailer frames and end-of-stream envelopes not counted. */
  messages: number;
  /** Payload bytes as they crossed the wire (compressed when they were). */
  wireBytes: number;
  /** Payload bytes once decompressed. */
  bytes: number;
}

export interface ExchangeView {
  readonly id: number;
  /**
   * The event as the host sent it: kind, request head (its `httpVersion` is `2` for HTTP/2), and
   * the client `connectionId` and HTTP/2 `streamId` when the core knew them.
   */
  readonly opened: ExchangeOpenedEvent;
  response: ResponseHeadEvent | undefined;
  closed: ExchangeClosedEvent | undefined;
  readonly requestBody: BodyView;
  readonly responseBody: BodyView;
  /** Parsed Server-Sent Events, in stream order; past the store's cap the oldest are dropped. */
  readonly sse: SseEvent[];
  /** Events dropped from the front of `sse` by the cap, so counts stay true. */
  sseDropped: number;
  /** The stream's first event, kept when it is dropped from `sse`: the stats time the stream from it. */
  sseFirst: SseEvent | undefined;
  /** The last `retry:` the stream asked for, in ms. */
  sseRetryMs: number | undefined;
  /** WebSocket messages in arrival order; past the store's cap the oldest are dropped. */
  readonly messages: WebSocketMessageEvent[];
  /** Messages dropped from the front of `messages` by the cap, so counts stay true. */
  messagesDropped: number;
  /** The gRPC, gRPC-Web or Connect call the request makes (`rpcCallOf`), read once when it opened. */
  readonly rpc: RpcCall | undefined;
  /** The call's frames, both directions in arrival order; past the store's cap the oldest are dropped. */
  readonly rpcMessages: RpcMessageEvent[];
  /** Frames dropped from the front of `rpcMessages` by the cap. */
  rpcMessagesDropped: number;
  /** How the call ended, as its server said; undefined until then (or when it never said). */
  rpcStatus: RpcStatusEvent | undefined;
  /**
   * Set once the host stopped keeping this exchange's messages (SSE, WebSocket or RPC) past its
   * cap: later ones reach the windows open as they come, not windows opened later or exports.
   */
  messageCapNote: CaptureLimitedEvent | undefined;
  /** What stream rules did to this exchange, in order (a rule that matched says so first). */
  readonly rules: RuleAppliedEvent[];
  /** Rule events past the store's cap, counted. */
  rulesDropped: number;
  /** A breakpoint holding this exchange's stream now, until the user decides. */
  breakpoint: BreakpointHeldEvent | undefined;
  /**
   * Set when the host's replay sent this exchange in short (`exchange-held`): how many of its
   * events it left out. Shown, it asks the host for them (`exchange.events`) and is swapped whole.
   */
  held: number | undefined;
  /** Bumped on every change to this exchange. */
  revision: number;
}
