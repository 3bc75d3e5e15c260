import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CaptureLimitReason, Direction, RawHeaders, RequestHead } from '../../app/proxy-events.js';
import { IdSet } from './id-set.js';
import {
  ownsWholeBuffer,
  type StoreCall,
  type StoreOp,
  type StoreReply,
  type StoreRequest,
  type StoreResults,
} from './store-protocol.js';
import type { ExchangeRow, PageQuery, StoredBody, StoredPageRow } from './store-rows.js';

export type { ExchangeRow, PageQuery, StoredBody, StoredPageRow } from './store-rows.js';

export interface CapturedBodyRange {
  readonly bytes: Buffer;
  readonly captured: number;
  readonly limited: CaptureLimitReason | undefined;
}

export interface CaptureStoreOptions {
  /**
   * 'worker' (the default when the compiled worker script exists next to this module) runs
   * SQLite in a worker thread; 'inline' runs it on this thread. Under vitest the sources are
   * TypeScript and no compiled worker exists, so the default there is inline.
   */
  readonly thread?: 'worker' | 'inline';
  /** Told once per failure of a background write (disk full, file removed); the store keeps going. */
  readonly onError?: (message: string) => void;
  /** Delete the file (and its -wal) on close. Default true. */
  readonly temporary?: boolean;
  /**
   * The capture is to outlast this run (the keepCapture setting): the file's rows are read at
   * open, and writes are crash-safe (`keep`). Otherwise the file starts empty. Default false; a
   * temporary store cannot be kept.
   */
  readonly kept?: boolean;
  /** The worker script (tests point this at one that misbehaves); `./store-worker.js` beside this module. */
  readonly workerScript?: URL;
}

/**
 * Rows are written in batches: whichever comes first of `rows` rows, `bodyBytes` of bodies, or
 * BATCH_DELAY_MS after the first row of a batch was put. Inline, a batch is written on the caller's
 * thread in one go, so its batches are small enough not to hold that thread up for long. Rows that
 * wait are young garbage that outlives V8's scavenges and is promoted (copied twice) instead:
 * at 4,000 exchanges a second, 50 ms and 500 rows cost the proxy's main thread 1.10–1.12 s of
 * collection pauses per 20,000 requests, 10 ms and 100 rows 0.89–0.95 s (`--trace-gc-nvp`).
 */
const BATCH_LIMITS = {
  worker: { rows: 100, bodyBytes: 8 << 20 },
  inline: { rows: 50, bodyBytes: 1 << 20 },
} as const;
const BATCH_DELAY_MS = 10;

const WORKER_URL = new URL('./store-worker.js', import.meta.url);

/** Where the requests go: a worker thread, or a `StoreServer` on this thread. */
interface Backend {
  send(request: StoreRequest, transfer: ArrayBuffer[]): void;
  /** Keeps the process alive while answers are awaited (worker only). */
  hold(busy: boolean): void;
  stop(): Promise<void>;
}

interface PendingCall {
  readonly resolve: (result: never) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The capture, kept in an SQLite file so memory stays flat however long the proxy runs
 * (docs/adr/0003-capture-store.md). `put` only queues: rows are written in batches, one
 * transaction each, by a worker thread, so the thread that forwards traffic pays a few
 * microseconds a row. Reads are sent after every row queued before them, so they see those rows.
 *
 * `put` takes the body bytes: in worker mode a body whose Uint8Array spans its whole ArrayBuffer
 * has that buffer moved to the worker (it is detached here), and other bodies are copied. Until
 * the batch is sent (at most BATCH_DELAY_MS), the caller must not change them.
 */
export class CaptureStore {
  private readonly ids = new IdSet();
  private lastGeneration = 0;
  private queue: ExchangeRow[] = [];
  private queueReplacing: number[] = [];
  private queueBodyBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextBatch = 0;
  /** Batches sent and not yet answered, with their ids and body bytes, oldest first. */
  private readonly inFlight = new Map<number, { readonly ids: number[]; readonly bodyBytes: number }>();
  private inFlightRows = 0;
  private inFlightBodyBytes = 0;
  private nextSeq = 0;
  private readonly pending = new Map<number, PendingCall>();
  /** Why the store no longer works (its worker stopped), once it does not. */
  private failure: string | undefined;
  private closing: Promise<void> | undefined;
  /** Set once open has answered: a failure before that rejects `open` and is not told to `onError`. */
  private opened = false;
  private readonly onError: (message: string) => void;

  private constructor(
    readonly path: string,
    readonly thread: 'worker' | 'inline',
    private readonly temporary: boolean,
    options: CaptureStoreOptions,
    private readonly backend: Backend,
  ) {
    this.onError = options.onError ?? ((message) => console.error(message));
  }

  /** Opens (creating) the database file; rejects with the path and the reason when it cannot. */
  static async open(path: string, options: CaptureStoreOptions = {}): Promise<CaptureStore> {
    const script = options.workerScript ?? WORKER_URL;
    const workerExists = existsSync(fileURLToPath(script));
    const thread = options.thread ?? (workerExists ? 'worker' : 'inline');
    if (thread === 'worker' && !workerExists) {
      throw new Error(`Cannot open the capture store at ${path}: its worker ${fileURLToPath(script)} is not built`);
    }
    const temporary = options.temporary ?? true;
    let deliver: (reply: StoreReply) => void = () => undefined;
    let stopped: (reason: string) => void = () => undefined;
    const backend =
      thread === 'worker'
        ? workerBackend(
            script,
            (reply) => deliver(reply),
            (reason) => stopped(reason),
          )
        : await inlineBackend((reply) => deliver(reply));
    const store = new CaptureStore(path, thread, temporary, options, backend);
    deliver = (reply) => store.receive(reply);
    stopped = (reason) => store.fail(reason);
    try {
      const opened = await store.call({ op: 'open', path, temporary, kept: options.kept ?? false });
      for (const id of opened.ids) store.ids.add(id);
      store.lastGeneration = opened.generation;
      store.opened = true;
    } catch (error) {
      store.closing = Promise.resolve();
      await backend.stop();
      throw error;
    }
    return store;
  }

  /**
   * Queues one finished exchange; a row with the same id is replaced. Never blocks, never
   * throws; a write that fails later is told to `onError`.
   */
  put(row: ExchangeRow): void {
    if (this.failure !== undefined || this.closing !== undefined) return;
    if (!Number.isSafeInteger(row.id) || row.id < 0) {
      this.onError(`Exchange ${row.id} was not stored: an id must be a whole number from 0`);
      return;
    }
    if (!this.ids.add(row.id)) this.queueReplacing.push(row.id);
    this.lastGeneration += 1;
    this.queue.push(row);
    this.queueBodyBytes += (row.bodies.request?.bytes.length ?? 0) + (row.bodies.response?.bytes.length ?? 0);
    const limits = BATCH_LIMITS[this.thread];
    if (this.queue.length >= limits.rows || this.queueBodyBytes >= limits.bodyBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_DELAY_MS).unref();
  }

  /** Rows put and not removed. */
  get size(): number {
    return this.ids.size;
  }

  /** Rows put and not yet written: queued here or being written. */
  get backlog(): number {
    return this.queue.length + this.inFlightRows;
  }

  /**
   * Body bytes put and not yet written. The worker writes bodies at 100–200 MB/s (each byte goes
   * to the WAL, then to the file); a host that captures faster than that can watch this and stop
   * keeping bodies rather than let memory grow.
   */
  get backlogBodyBytes(): number {
    return this.queueBodyBytes + this.inFlightBodyBytes;
  }

  /** A mark of everything put so far: rows put after it have a higher generation. */
  generation(): number {
    return this.lastGeneration;
  }

  /**
   * Rows with id > afterId put at or before `upTo` (a `generation()`; a row put again since has a
   * later one), ordered by id; stops after maxRows rows or once maxBytes of eventsJson are
   * collected, with at least one row if there is any.
   */
  page(query: PageQuery): Promise<StoredPageRow[]> {
    return this.call({ op: 'page', query });
  }

  /** A stored exchange's events, as the JSON they were put with; undefined when not stored. */
  async eventsJson(id: number): Promise<string | undefined> {
    if (!this.ids.has(id)) return undefined;
    const [row] = await this.page({ afterId: id - 1, upTo: this.lastGeneration, maxRows: 1, maxBytes: 1 });
    return row?.id === id ? row.eventsJson : undefined;
  }

  /** Stored ids, newest (highest id) first. */
  async idsNewestFirst(): Promise<number[]> {
    if (this.failure !== undefined) throw new Error(this.failure);
    return this.ids.descending();
  }

  /**
   * Whether the capture is to outlast this run: kept, it is written crash-safe (a write-ahead
   * log); otherwise in the cheaper way a capture nobody reads after a crash can be
   * (`CaptureDb.keep`). Resolves once the file is written that way.
   */
  async keep(kept: boolean): Promise<void> {
    await this.call({ op: 'keep', kept });
  }

  has(id: number): boolean {
    return this.ids.has(id);
  }

  headers(id: number, direction: Direction): Promise<RawHeaders | undefined> {
    return this.call({ op: 'headers', id, direction });
  }

  /** A stored exchange's request head (without its HTTP version); undefined when not stored. */
  request(id: number): Promise<RequestHead | undefined> {
    return this.call({ op: 'request', id });
  }

  /** 0 when the exchange is not stored. */
  messagesNotKept(id: number): Promise<number> {
    return this.call({ op: 'messages-not-kept', id });
  }

  /**
   * A body's bytes [start, end) (to its end when `end` is absent), with how many bytes were
   * captured and why capture stopped, if it did; undefined when the exchange or that body is not
   * stored. Only the parts of the body in the range are read.
   */
  async readBody(id: number, direction: Direction, start = 0, end?: number): Promise<CapturedBodyRange | undefined> {
    const range = await this.call({ op: 'read-body', id, direction, start, end });
    if (range === undefined) return undefined;
    const bytes = Buffer.from(range.bytes.buffer, range.bytes.byteOffset, range.bytes.byteLength);
    return { bytes, captured: range.captured, limited: range.limited };
  }

  /** Removes these ids; resolves with those that were stored. */
  remove(ids: readonly number[]): Promise<number[]> {
    for (const id of ids) this.ids.delete(id);
    return this.call({ op: 'remove', ids: [...ids] });
  }

  clear(): Promise<void> {
    this.dropQueue();
    this.ids.clear();
    return this.call({ op: 'clear' }).then(() => undefined);
  }

  /** Writes what is queued, closes, and (temporary) deletes the files. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    try {
      if (this.failure === undefined) {
        this.flush();
        await this.send({ op: 'close' });
      } else if (this.temporary) {
        // The worker is gone; its files are not in use any more.
        for (const file of [this.path, `${this.path}-wal`, `${this.path}.lock`]) {
          rmSync(file, { recursive: true, force: true });
        }
      }
    } finally {
      await this.backend.stop();
    }
  }

  private call<K extends StoreOp>(call: Extract<StoreCall, { op: K }>): Promise<StoreResults[K]> {
    if (this.closing !== undefined) return Promise.reject(new Error(`The capture store at ${this.path} is closed`));
    return this.send(call);
  }

  private send<K extends StoreOp>(call: Extract<StoreCall, { op: K }>): Promise<StoreResults[K]> {
    if (this.failure !== undefined) return Promise.reject(new Error(this.failure));
    this.flush();
    const seq = ++this.nextSeq;
    return new Promise<StoreResults[K]>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (result: never) => void, reject });
      this.backend.hold(true);
      this.backend.send({ kind: 'call', seq, call }, []);
    });
  }

  /** Sends the queued rows as one batch. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0 || this.failure !== undefined) return;
    const rows = this.queue;
    const replacing = this.queueReplacing;
    const bodyBytes = this.queueBodyBytes;
    this.dropQueue();
    const batch = ++this.nextBatch;
    const firstGeneration = this.lastGeneration - rows.length + 1;
    this.inFlight.set(batch, { ids: rows.map((row) => row.id), bodyBytes });
    this.inFlightRows += rows.length;
    this.inFlightBodyBytes += bodyBytes;
    this.backend.hold(true);
    const transfer: ArrayBuffer[] = [];
    const sent = this.thread === 'worker' ? rows.map((row) => movable(row, transfer)) : rows;
    try {
      this.backend.send({ kind: 'put', batch, firstGeneration, rows: sent, replacing }, transfer);
    } catch (error) {
      this.receive({ kind: 'put-failed', batch, message: `Could not send exchanges to the capture store: ${error}` });
    }
  }

  /** Forgets the rows queued and not sent, and the timer that would send them. */
  private dropQueue(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.queueReplacing = [];
    this.queueBodyBytes = 0;
  }

  private receive(reply: StoreReply): void {
    switch (reply.kind) {
      case 'put-done':
        this.settleBatch(reply.batch);
        break;
      case 'put-failed': {
        const ids = this.settleBatch(reply.batch);
        // Those rows are not stored, unless a later batch (or the queue) puts them again.
        const later = new Set(this.queue.map((row) => row.id));
        for (const sent of this.inFlight.values()) for (const id of sent.ids) later.add(id);
        for (const id of ids) if (!later.has(id)) this.ids.delete(id);
        this.onError(reply.message);
        break;
      }
      case 'result':
      case 'failed': {
        const call = this.pending.get(reply.seq);
        this.pending.delete(reply.seq);
        this.release();
        if (reply.kind === 'result') call?.resolve(reply.result as never);
        else call?.reject(new Error(reply.message));
        break;
      }
    }
  }

  private settleBatch(batch: number): number[] {
    const sent = this.inFlight.get(batch);
    if (sent === undefined) return [];
    this.inFlight.delete(batch);
    this.inFlightRows -= sent.ids.length;
    this.inFlightBodyBytes -= sent.bodyBytes;
    this.release();
    return sent.ids;
  }

  private release(): void {
    if (this.pending.size === 0 && this.inFlight.size === 0) this.backend.hold(false);
  }

  /** The worker stopped: nothing more can be written or read. */
  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = `The capture store at ${this.path} stopped (${reason}); the capture can no longer be read or written`;
    this.dropQueue();
    this.inFlight.clear();
    this.inFlightRows = 0;
    this.inFlightBodyBytes = 0;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(new Error(this.failure));
    if (this.opened && this.closing === undefined) this.onError(this.failure);
  }
}

/**
 * The row as it can be posted: each body's buffer is moved when the body spans all of it, and
 * copied otherwise (a view into a larger buffer, such as a Buffer from Node's shared pool, would
 * post the whole buffer, and moving it would take it from everyone else using it).
 */
function movable(row: ExchangeRow, transfer: ArrayBuffer[]): ExchangeRow {
  const { request, response } = row.bodies;
  if (request === undefined && response === undefined) return row;
  return { ...row, bodies: { request: movableBody(request, transfer), response: movableBody(response, transfer) } };
}

function movableBody(body: StoredBody | undefined, transfer: ArrayBuffer[]): StoredBody | undefined {
  if (body === undefined) return undefined;
  const bytes = body.bytes;
  if (bytes.byteLength > 0 && ownsWholeBuffer(bytes) && !transfer.includes(bytes.buffer as ArrayBuffer)) {
    transfer.push(bytes.buffer as ArrayBuffer);
    return body;
  }
  const copy = new Uint8Array(bytes);
  transfer.push(copy.buffer);
  return { ...body, bytes: copy };
}

function workerBackend(script: URL, deliver: (reply: StoreReply) => void, stopped: (reason: string) => void): Backend {
  // No inherited flags: the worker needs none, and some that a host may run with (--input-type,
  // say) make a worker thread fail to start.
  const worker = new Worker(script, { name: 'sluice-capture-store', execArgv: [] });
  let stopping = false;
  let lastError: Error | undefined;
  worker.unref();
  worker.on('message', deliver);
  worker.on('messageerror', (error) => stopped(`a reply could not be read: ${error.message}`));
  worker.on('error', (error) => (lastError = error));
  worker.on('exit', (code) => {
    if (!stopping) stopped(lastError === undefined ? `its worker exited with code ${code}` : lastError.message);
  });
  return {
    send: (request, transfer) => worker.postMessage(request, transfer),
    hold: (busy) => (busy ? worker.ref() : worker.unref()),
    stop: async () => {
      stopping = true;
      await worker.terminate();
    },
  };
}

/**
 * Loaded only here: importing the server instantiates SQLite's WASM module, about 20 MiB that the
 * forwarding thread would otherwise carry for nothing when the worker holds the database.
 */
async function inlineBackend(deliver: (reply: StoreReply) => void): Promise<Backend> {
  const { StoreServer } = await import('./store-server.js');
  const server = new StoreServer();
  return {
    send: (request) => deliver(server.receive(request).reply),
    hold: () => undefined,
    stop: async () => undefined,
  };
}
