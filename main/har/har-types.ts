/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as Sluice writes it. Fields starting
 * with `_` are our extensions, which the spec allows: streaming detail a plain HAR cannot hold.
 * Times in HAR are milliseconds unless a field says otherwise; -1 means "does not apply".
 */
import type { CaptureLimitReason, RpcMessageEvent, RpcStatusEvent } from '../../app/proxy-events.js';

export interface Har {
  readonly log: HarLog;
}

export interface HarLog {
  readonly version: '1.2';
  readonly creator: HarCreator;
  readonly entries: readonly HarEntry[];
  readonly comment?: string;
}

export interface HarCreator {
  readonly name: string;
  readonly version: string;
}

export interface HarNameValue {
  readonly name: string;
  readonly value: string;
}

export interface HarCookie {
  readonly name: string;
  readonly value: string;
  readonly path?: string;
  readonly domain?: string;
  readonly expires?: string;
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
}

/** Marks on a body that was not captured whole. */
export interface HarBodyMarks {
  /** The capture stopped before the body ended (a cap, a failed spill): the bytes here are a prefix. */
  readonly _truncated?: true;
  /** Why it stopped: `body-cap`, `total-cap`, `spill-failed`, ... */
  readonly _truncatedReason?: string;
  /** Bytes captured, as they were on the wire (still content-encoded). */
  readonly _capturedBytes?: number;
  /** The Content-Encoding could not be undone; the text is the encoded bytes, in base64. */
  readonly _decodeError?: string;
}

export interface HarPostData extends HarBodyMarks {
  readonly mimeType: string;
  readonly text: string;
  /** HAR 1.2 has no encoding for request bodies; `base64` when the body is not text. */
  readonly _encoding?: 'base64';
  readonly comment?: string;
}

export interface HarContent extends HarBodyMarks {
  /** Decoded size of what was captured. */
  readonly size: number;
  /** Bytes saved by the Content-Encoding: `size` minus the encoded bytes captured. */
  readonly compression?: number;
  readonly mimeType: string;
  readonly text?: string;
  readonly encoding?: 'base64';
  readonly comment?: string;
}

export interface HarRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly cookies: readonly HarCookie[];
  readonly headers: readonly HarNameValue[];
  readonly queryString: readonly HarNameValue[];
  readonly postData?: HarPostData;
  /** -1: the proxy keeps parsed headers, not the head's bytes. */
  readonly headersSize: number;
  /** Body bytes forwarded (content-encoded), or -1 when unknown. */
  readonly bodySize: number;
  readonly comment?: string;
}

export interface HarResponse {
  /** 0 when no response head arrived (yet). */
  readonly status: number;
  readonly statusText: string;
  readonly httpVersion: string;
  readonly cookies: readonly HarCookie[];
  readonly headers: readonly HarNameValue[];
  readonly content: HarContent;
  readonly redirectURL: string;
  readonly headersSize: number;
  readonly bodySize: number;
  readonly comment?: string;
  /** Why the exchange failed, in words (Chrome writes the same field). */
  readonly _error?: string;
}

export interface HarTimings {
  readonly blocked: number;
  readonly dns: number;
  /** TCP connect, including `ssl` as HAR 1.2 requires. */
  readonly connect: number;
  readonly ssl: number;
  readonly send: number;
  readonly wait: number;
  readonly receive: number;
  readonly comment?: string;
}

/** One chunk as the proxy forwarded it; times in ms from the entry's `startedDateTime`. */
export interface HarChunk {
  readonly direction: 'request' | 'response';
  /** Position in the body, in bytes as forwarded (still content-encoded). */
  readonly offset: number;
  readonly size: number;
  readonly readAt: number;
  readonly flushedAt: number;
}

/** One Server-Sent Event, named as Chrome's DevTools protocol names them (`Network.eventSourceMessageReceived`). */
export interface HarEventSourceMessage {
  /** Seconds since the epoch, with fractions, like Chrome's `_webSocketMessages`. */
  readonly time: number;
  readonly eventName: string;
  readonly eventId: string;
  readonly data: string;
}

/**
 * One WebSocket message in the shape Chrome's DevTools writes `_webSocketMessages`: `data` is the
 * text, or base64 for a binary message (opcode 2). Fields with `_` are ours.
 */
export interface HarWebSocketMessage {
  /** `send`: client → server; `receive`: server → client. */
  readonly type: 'send' | 'receive';
  /** Seconds since the epoch, with fractions. */
  readonly time: number;
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  readonly opcode: number;
  /** Text, or base64 when binary; a close frame's reason. */
  readonly data: string;
  /** Base64 although the opcode is not 2 (a ping or pong with bytes that are not UTF-8, a compressed message). */
  readonly _binary?: true;
  /** Payload bytes, when `data` does not hold them all. */
  readonly _size?: number;
  /** `data` holds only the first part of the message (the display cap). */
  readonly _truncated?: true;
  /** Still permessage-deflate compressed: `data` is the compressed bytes, base64. */
  readonly _compressed?: true;
  /** A close frame's status code. */
  readonly _closeCode?: number;
  /** Its position among its direction's messages, when older ones were not kept (it is not its place here). */
  readonly _index?: number;
}

/**
 * One message of a gRPC, gRPC-Web or Connect call. No other tool writes these, so no field needs
 * a `_`; the shape follows Chrome's `_webSocketMessages` where the two meet (`type`, `time`, `data`).
 */
export interface HarRpcMessage {
  /** `send`: client → server; `receive`: server → client. */
  readonly type: 'send' | 'receive';
  /** Seconds since the epoch, with fractions: when the chunk holding its last byte was forwarded. */
  readonly time: number;
  /** 0-based position among this direction's frames. */
  readonly index: number;
  /** `message`, `trailers` (a gRPC-Web trailer frame) or `end-stream` (a Connect end-of-stream envelope). */
  readonly kind: RpcMessageEvent['kind'];
  /** The payload, decompressed when it could be: text (JSON codecs, trailers), or base64 when `encoding` says so. */
  readonly data: string;
  readonly encoding?: 'base64';
  /** Payload bytes on the wire, the 5-byte prefix not counted. */
  readonly wireBytes: number;
  /** Payload bytes once decompressed. */
  readonly size: number;
  /** The sender set the compressed flag. */
  readonly compressed?: true;
  /** `data` holds only the first part of the payload (the display cap). */
  readonly truncated?: true;
  /** Why a compressed payload is in `data` as it came (unknown encoding, over the cap, corrupt). */
  readonly undecoded?: string;
  /**
   * The first and last chunks its bytes arrived in, counted among this direction's entries in
   * `_chunks` from 0 (an entry that stands for several reads counts once).
   */
  readonly chunkRange: readonly [first: number, last: number];
}

/** How a gRPC, gRPC-Web or Connect call ended, as its server said (`RpcStatusEvent`). */
export interface HarRpcStatus {
  /** Seconds since the epoch, with fractions. */
  readonly time: number;
  /** `grpc`, `grpc-web`, `grpc-web-text`, `connect` or `connect-unary`. */
  readonly protocol: RpcStatusEvent['protocol'];
  /** Where it came from: `trailers`, `trailers-only`, `trailer-frame`, `end-stream`, `unary-error`, `http-status`. */
  readonly source: RpcStatusEvent['source'];
  /** gRPC status code, 0 (OK) to 16. */
  readonly code: number;
  /** The code's name as gRPC spells it: `OK`, `NOT_FOUND`, ... */
  readonly name: string;
  /** `grpc-message` percent-decoded, or the Connect error's message. */
  readonly message?: string;
  /** `grpc-status-details-bin` (base64, as on the wire), or a Connect error's `details` as JSON text. */
  readonly details?: string;
  /** Every trailer (or end-of-stream metadata) field as received, status fields included. */
  readonly trailers: readonly HarNameValue[];
}

/**
 * A note that the capture of a body gave way in a way its `_truncated` marks do not say: its
 * framing (WebSocket, gRPC) stopped making sense, or its content decoding failed.
 */
export interface HarCaptureLimit {
  readonly direction: 'request' | 'response';
  /** Ms from `startedDateTime`. */
  readonly at: number;
  /** `rpc-frames`, `websocket-frames`, `decode-failed` or `message-cap`. */
  readonly reason: CaptureLimitReason;
  /** Body offset from which bytes were no longer parsed; -1 when not known. */
  readonly atOffset: number;
  readonly detail?: string;
}

/** What a stream rule did to the exchange (`action: "match"` when it matched); ms from `startedDateTime`. */
export interface HarRuleApplied {
  readonly rule: string;
  readonly action: string;
  readonly direction: 'request' | 'response';
  readonly at: number;
  readonly detail: string;
  /** How long the rule held the stream back from `at`. */
  readonly heldMs?: number;
  /** The event it made or changed, as the client got it (from 1). */
  readonly event?: number;
}

/** A stretch when the proxy paused reads because the other side was slow; ms from `startedDateTime`. */
export interface HarBackpressure {
  readonly direction: 'request' | 'response';
  readonly pausedAt: number;
  /** Absent while still paused at export. */
  readonly resumedAt?: number;
  /** The most bytes queued in the proxy while paused. */
  readonly queuedBytes: number;
}

export interface HarEntry {
  readonly startedDateTime: string;
  readonly time: number;
  readonly request: HarRequest;
  readonly response: HarResponse;
  readonly cache: Record<string, never>;
  readonly timings: HarTimings;
  /**
   * The client connection that carried the exchange, numbered per proxy from 1, as digits (HAR 1.2
   * makes it a string; Chrome writes its own connection ids the same way, Firefox the server port).
   */
  readonly connection?: string;
  readonly comment?: string;
  /** Sluice's exchange id, so a HAR entry can be matched with the UI and `--events ndjson`. */
  readonly _id: number;
  /** `http`, `websocket` or `tunnel`. */
  readonly _kind: string;
  /** The HTTP/2 stream id on the client's connection; absent for HTTP/1.x. */
  readonly _streamId?: number;
  /** The `_id` of the exchange this one sent again from Sluice (resend). */
  readonly _resentFrom?: number;
  /** The mock that answered in the upstream's place, by its id (app/mocks.ts). */
  readonly _mock?: number;
  /** Still open at export: written with what was seen so far. */
  readonly _incomplete?: true;
  /** How the exchange ended: `completed`, `client-closed`, `upstream-reset`, `idle-timeout`, `proxy-error`. */
  readonly _outcome?: string;
  readonly _outcomeReason?: string;
  /** Total ms reads were paused by backpressure, both directions. */
  readonly _pausedMs?: number;
  readonly _chunks: readonly HarChunk[];
  readonly _backpressure: readonly HarBackpressure[];
  readonly _eventSourceMessages?: readonly HarEventSourceMessage[];
  readonly _webSocketMessages?: readonly HarWebSocketMessage[];
  /** A gRPC, gRPC-Web or Connect call's messages, both directions, in the order they were forwarded. */
  readonly _rpcMessages?: readonly HarRpcMessage[];
  /** A gRPC, gRPC-Web or Connect call's outcome, when its server gave one (or its HTTP status stood for one). */
  readonly _rpcStatus?: HarRpcStatus;
  readonly _captureLimits?: readonly HarCaptureLimit[];
  /** Stream rules that changed this exchange on purpose, and what they did. */
  readonly _rules?: readonly HarRuleApplied[];
}
