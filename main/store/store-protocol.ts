import type { Direction, RawHeaders, RequestHead } from '../../app/proxy-events.js';
import type { BodyRange, ExchangeRow, PageQuery, StoredPageRow } from './store-rows.js';

/**
 * What a `CaptureStore` says to its database and what comes back: the same messages whether the
 * database runs in a worker thread (posted, structured-cloned) or inline (passed as is).
 *
 * Writes are one-way: `put` carries a batch of rows, and the answer (`put-done` or `put-failed`)
 * only lets the client know the batch is settled. Calls carry a `seq` and get exactly one
 * `result` or `failed` with it. Messages are handled in the order sent, so a call sent after a
 * batch sees that batch's rows.
 */

/** The calls and what each answers. */
export type StoreCall =
  | { readonly op: 'open'; readonly path: string; readonly temporary: boolean; readonly kept: boolean }
  | { readonly op: 'keep'; readonly kept: boolean }
  | { readonly op: 'page'; readonly query: PageQuery }
  | { readonly op: 'headers'; readonly id: number; readonly direction: Direction }
  | { readonly op: 'request'; readonly id: number }
  | { readonly op: 'messages-not-kept'; readonly id: number }
  | {
      readonly op: 'read-body';
      readonly id: number;
      readonly direction: Direction;
      readonly start: number;
      readonly end: number | undefined;
    }
  | { readonly op: 'remove'; readonly ids: readonly number[] }
  | { readonly op: 'clear' }
  | { readonly op: 'close' };

export type StoreOp = StoreCall['op'];

/** What a store holds when it opens: the client keeps the ids and counts generations on from there. */
export interface OpenedStore {
  /** Every stored id, ascending. */
  readonly ids: Float64Array;
  /** The highest generation stored (0 when empty). */
  readonly generation: number;
}

export interface StoreResults {
  readonly open: OpenedStore;
  readonly keep: null;
  readonly page: StoredPageRow[];
  readonly headers: RawHeaders | undefined;
  readonly request: RequestHead | undefined;
  readonly 'messages-not-kept': number;
  readonly 'read-body': BodyRange | undefined;
  readonly remove: number[];
  readonly clear: null;
  readonly close: null;
}

export type StoreResult = StoreResults[StoreOp];

export type StoreRequest =
  /**
   * Rows to write in one transaction; row i has generation `firstGeneration + i`. `replacing`
   * lists the ids that were already stored (or put earlier) when put, whose old bodies must go.
   */
  | {
      readonly kind: 'put';
      readonly batch: number;
      readonly firstGeneration: number;
      readonly rows: readonly ExchangeRow[];
      readonly replacing: readonly number[];
    }
  | { readonly kind: 'call'; readonly seq: number; readonly call: StoreCall };

export type StoreReply =
  | { readonly kind: 'put-done'; readonly batch: number }
  | { readonly kind: 'put-failed'; readonly batch: number; readonly message: string }
  | { readonly kind: 'result'; readonly seq: number; readonly result: StoreResult }
  | { readonly kind: 'failed'; readonly seq: number; readonly message: string };

/** A reply with the buffers to move rather than copy (worker mode only). */
export interface OutgoingReply {
  readonly reply: StoreReply;
  readonly transfer: ArrayBuffer[];
}

/** Whether a view spans its whole (non-shared) buffer, so moving the buffer moves nothing else. */
export function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}
