import type { CaptureLimitReason, RawHeaders } from '../../app/proxy-events.js';

/** One body as kept: the bytes captured, and why capture stopped, if it did. */
export interface StoredBody {
  readonly bytes: Uint8Array;
  /** Bytes of the body that were captured: `bytes.length`, unless the caller kept fewer. */
  readonly captured: number;
  readonly limited?: CaptureLimitReason | undefined;
}

/** One finished exchange, as the host puts it. */
export interface ExchangeRow {
  readonly id: number;
  /** JSON text of the exchange's HostEvent[] in replay order (chunks interleaved). Stored as is, never parsed by the store. */
  readonly eventsJson: string;
  /**
   * JSON text of the events a window's replay sends of it (`heldForReplay`), when that is not
   * all of them: read instead of `eventsJson`, a replay never parses a stream's every event.
   */
  readonly replayJson?: string | undefined;
  readonly requestHeaders: RawHeaders;
  readonly responseHeaders: RawHeaders | undefined;
  readonly messagesNotKept: number;
  /** Summary columns for the list and filters that later work will query. */
  readonly openedAt: number;
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly bodies: { readonly request?: StoredBody | undefined; readonly response?: StoredBody | undefined };
}

export interface StoredPageRow {
  readonly id: number;
  readonly eventsJson: string;
}

export interface PageQuery {
  /** Rows with a higher id than this. */
  readonly afterId: number;
  /** Rows put at or before this generation. */
  readonly upTo: number;
  readonly maxRows: number;
  /** Stop once this many characters of `eventsJson` are collected (bytes, for ASCII JSON). */
  readonly maxBytes: number;
  /** Each row's `replayJson` as its `eventsJson` where it has one. */
  readonly short?: boolean;
}

/** A range of a stored body, as the database gives it (the client hands out a Buffer over it). */
export interface BodyRange {
  readonly bytes: Uint8Array;
  readonly captured: number;
  readonly limited: CaptureLimitReason | undefined;
}
