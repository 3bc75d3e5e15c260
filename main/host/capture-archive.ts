import type { HostEvent } from '../../app/contract.js';
import type { Direction, RawHeaders, RequestHead } from '../../app/proxy-events.js';
import { now, type CapturedRange } from '../../proxy-core/index.js';
import type { CaptureStore, ExchangeRow, StoredBody } from '../store/capture-store.js';
import { packEvents, unpackEvents } from '../store/packed-events.js';
import { exchangesIn, type ExchangeEvents } from '../har/exchange-events.js';
import { heldForReplay } from './held-replay.js';
import { EventLog, type EventLogLimits, type TakenExchange } from './event-log.js';
import { closeRunStore, type RunStore } from './run-store.js';

/** Where bodies are while their exchange is in memory: the proxy's captures, or imported bodies. */
export interface LiveBodies {
  read(id: number, direction: Direction, start?: number, end?: number): Promise<CapturedRange | undefined>;
  /**
   * A body copied now, without waiting, when all of it is in memory and at most `max` bytes;
   * 'elsewhere' when it must be read (larger, or partly on disk); undefined when it is not held.
   */
  readHeld(id: number, direction: Direction, max: number): CapturedRange | 'elsewhere' | undefined;
  /** Frees the copies of these exchanges: the store has them now, or nobody can open them any more. */
  forget(ids: readonly number[]): void;
}

/**
 * Bodies up to this size move into the store with their exchange, so the capture that held them
 * is freed; a larger one stays where it is (memory, then its spill file) and the store row says
 * nothing about it. Most exchanges of a day of traffic are small; a few large downloads keep
 * their own file rather than passing through the store's worker twice.
 */
export const MAX_MOVED_BODY_BYTES = 1 << 20;

/**
 * Most time moving closed exchanges to the store may take before the event loop turns: traffic
 * waits meanwhile. 300 streams ending together, 50 moved a turn, held it for up to 63 ms.
 */
const MOVE_TURN_MS = 2;

/** A page of stored exchanges read at a time for a late window, an export or a search. */
const PAGE_ROWS = 500;
const PAGE_BYTES = 4 << 20;

const DIRECTIONS: readonly Direction[] = ['request', 'response'];

/**
 * The capture as the host keeps it: exchanges in progress in memory (the event log), finished ones
 * in the on-disk store, so a day of traffic costs disk, not memory. When an exchange closes its
 * events and (small) bodies move to the store and its memory is freed. Without a store (it could
 * not be opened) everything stays in the log, bounded by its caps, as before there was one.
 * Every read here answers from whichever of the two holds an exchange.
 */
export class CaptureArchive {
  private readonly log: EventLog;
  /**
   * Exchanges closed and on their way to the store: a move finds its id gone when a clear or a
   * removal came first, and then stores nothing.
   */
  private readonly moving = new Set<number>();
  /** Closed exchanges whose move has not begun, oldest first. */
  private readonly waiting: number[] = [];
  /** The moves under way, so closing waits for them: an exchange that ends as Sluice stops is kept too. */
  private draining: Promise<void> | undefined;

  private readonly store: CaptureStore | undefined;

  constructor(
    private readonly runStore: RunStore,
    private readonly live: LiveBodies,
    limits: EventLogLimits = {},
  ) {
    this.store = runStore.store;
    // Past the log's cap (only reached without a store) its oldest finished exchanges go whole.
    this.log = new EventLog(limits, (ids) => live.forget(ids));
  }

  /** Whether finished exchanges go to disk; false when the store could not be opened. */
  get onDisk(): boolean {
    return this.store !== undefined;
  }

  /** Keeps `event`; returns an event the log added of its own that live consumers must hear too. */
  append(event: HostEvent): HostEvent | undefined {
    const added = this.log.append(event);
    if (event.type === 'exchange-closed' && this.store && this.log.has(event.id)) {
      this.moving.add(event.id);
      this.waiting.push(event.id);
      this.draining ??= this.drain();
    }
    return added;
  }

  /**
   * Everything kept, as pages of events for a consumer that arrives now: stored exchanges and those
   * in memory merged by id, each exchange's events together and in order, then the events that
   * belong to none. What is in memory and where the store stands are noted at once, so an
   * exchange that moves while the pages are read is sent once (its later events arrive live).
   * A page is a few hundred exchanges: memory holds one page, however long the capture. With
   * `held`, for a window, stored exchanges come in short (`heldForReplay`).
   */
  history(options: { newest?: number; held?: boolean } = {}): AsyncIterable<readonly HostEvent[]> {
    const held = options.held === true;
    // Rows stored in short are read so; one stored before that was (a kept capture) is made short here.
    const shorten = held ? heldForReplay : (events: readonly HostEvent[]) => events;
    const snapshot = this.log.snapshot();
    const store = this.store;
    // Rows stored after this are exchanges the snapshot holds: read only up to it, each is sent once.
    const upTo = store?.generation() ?? 0;
    return {
      async *[Symbol.asyncIterator]() {
        let next = 0;
        const skipped = store && (await oldestStoredToSkip(store, snapshot.exchanges.length, options.newest));
        let afterId = skipped ? skipped.afterId : 0;
        if (skipped) yield [skipped.notice];
        while (store) {
          const rows = await store.page({ afterId, upTo, maxRows: PAGE_ROWS, maxBytes: PAGE_BYTES, short: held });
          if (rows.length === 0) break;
          const page: HostEvent[] = [];
          for (const row of rows) {
            for (; next < snapshot.exchanges.length && snapshot.exchanges[next]!.id < row.id; next++) {
              pushAll(page, snapshot.exchanges[next]!.events);
            }
            pushAll(page, shorten(unpackEvents(row.eventsJson, row.id)));
          }
          afterId = rows[rows.length - 1]!.id;
          yield page;
        }
        const rest: HostEvent[] = [];
        for (; next < snapshot.exchanges.length; next++) pushAll(rest, snapshot.exchanges[next]!.events);
        pushAll(rest, snapshot.loose);
        yield rest;
      },
    };
  }

  /** Every kept exchange's events gathered, one at a time, for export. */
  async *exchanges(): AsyncGenerator<ExchangeEvents> {
    for await (const page of this.history()) yield* exchangesIn(page);
  }

  /** One kept exchange's events, from memory or the store; undefined when it is not kept. */
  async eventsOf(id: number): Promise<HostEvent[] | undefined> {
    const inMemory = this.log.eventsOf(id);
    if (inMemory) return inMemory;
    const json = await this.store?.eventsJson(id);
    return json === undefined ? undefined : unpackEvents(json, id);
  }

  /** The ids of the exchanges kept, the newest first. */
  async idsNewestFirst(): Promise<number[]> {
    const inMemory = this.log.idsNewestFirst().sort((a, b) => b - a);
    if (!this.store) return inMemory;
    const stored = await this.store.idsNewestFirst();
    return mergeDescending(inMemory, stored);
  }

  /** An exchange's request head, from memory or the store; undefined when it is not kept. */
  async requestOf(id: number): Promise<RequestHead | undefined> {
    const opened = this.log.openedOf(id);
    if (opened) return opened.request;
    return this.store?.has(id) ? this.store.request(id) : undefined;
  }

  /** The headers of a body, to know its Content-Encoding; undefined when the exchange is not kept. */
  async headersOf(id: number, direction: Direction): Promise<RawHeaders | undefined> {
    if (this.log.has(id)) return this.log.headersOf(id, direction);
    return this.store?.has(id) ? this.store.headers(id, direction) : undefined;
  }

  /** Body bytes from the store, or from the live captures when the store does not hold them. */
  async readBody(id: number, direction: Direction, start?: number, end?: number): Promise<CapturedRange | undefined> {
    if (this.store?.has(id)) {
      const stored = await this.store.readBody(id, direction, start, end);
      if (stored) return stored;
    }
    return this.live.read(id, direction, start, end);
  }

  /** Forgets these exchanges whole (the user removed them); returns the ids that were kept. */
  async remove(ids: readonly number[]): Promise<number[]> {
    const removed = new Set(this.log.remove(ids));
    for (const id of ids) if (this.moving.delete(id)) removed.add(id);
    if (this.store) for (const id of await this.store.remove(ids)) removed.add(id);
    const all = [...removed].sort((a, b) => a - b);
    if (all.length > 0) this.live.forget(all);
    return all;
  }

  async clear(): Promise<void> {
    this.waiting.length = 0;
    this.moving.clear();
    this.log.clear();
    await this.store?.clear();
  }

  /**
   * The keepCapture setting changed: a store that can outlast the run (the data folder's) is
   * written crash-safe from now on when kept, the cheaper way when not.
   */
  async keep(kept: boolean): Promise<void> {
    if (this.runStore.store && this.runStore.inDataDir) await this.runStore.store.keep(kept);
  }

  /**
   * Lets the moves under way finish, then closes the store: kept for the next start when `keep`
   * (and the store is the data folder's), removed otherwise.
   */
  async close(keep: boolean): Promise<void> {
    await this.draining;
    await closeRunStore(this.runStore, keep);
  }

  /**
   * Moves the waiting exchanges one after another, letting the event loop turn every
   * MOVE_TURN_MS: moving is background work, and a burst of closes (a HAR import, a flood of
   * small requests, many streams ending together) must not become one long task on the thread
   * that forwards traffic.
   */
  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      const started = now();
      while (this.waiting.length > 0 && now() - started < MOVE_TURN_MS) {
        const id = this.waiting.shift()!;
        if (!this.moveHeld(id)) await this.move(id);
      }
    }
    this.draining = undefined;
  }

  /**
   * Moves an exchange whose bodies are all in memory (most are small) at once, with no wait;
   * false when one must be read first (`move`).
   */
  private moveHeld(id: number): boolean {
    if (!this.moving.has(id)) return true;
    const bodies: { request?: StoredBody; response?: StoredBody } = {};
    for (const direction of DIRECTIONS) {
      const held = this.live.readHeld(id, direction, MAX_MOVED_BODY_BYTES);
      if (held === 'elsewhere') return false;
      if (held) bodies[direction] = held;
    }
    this.stored(id, bodies);
    return true;
  }

  /**
   * Reads the exchange's bodies, then hands it to the store and frees its memory. The bodies are
   * read first (a spilled body is on disk), so the events leave the log only once the row is
   * complete: until then every read finds the exchange where it was. An exchange removed or
   * cleared meanwhile is not in `moving` any more, and nothing is stored.
   */
  private async move(id: number): Promise<void> {
    if (!this.moving.has(id)) return;
    let bodies: ExchangeRow['bodies'] | undefined;
    try {
      bodies = await this.readMovableBodies(id);
    } catch {
      // A body that cannot be read stays where it is; the exchange stays in memory with it.
      this.moving.delete(id);
      return;
    }
    if (this.moving.has(id)) this.stored(id, bodies);
  }

  /** The exchange's row goes to the store and its events leave memory (its bodies too, when they went with it). */
  private stored(id: number, bodies: ExchangeRow['bodies'] | undefined): void {
    this.moving.delete(id);
    const taken = this.log.take(id);
    if (!taken) return;
    this.store!.put(rowOf(id, taken, bodies));
    if (bodies) this.live.forget([id]);
  }

  /** Both bodies when both are small enough to move; undefined when one must stay where it is. */
  private async readMovableBodies(id: number): Promise<ExchangeRow['bodies'] | undefined> {
    const bodies: { request?: StoredBody; response?: StoredBody } = {};
    for (const direction of DIRECTIONS) {
      // An empty read tells the size: a large body stays where it is without a byte being read.
      const size = await this.live.read(id, direction, 0, 0);
      if (!size) continue;
      if (size.captured > MAX_MOVED_BODY_BYTES) return undefined;
      const range = await this.live.read(id, direction, 0, MAX_MOVED_BODY_BYTES + 1);
      if (!range) continue;
      if (range.captured > MAX_MOVED_BODY_BYTES) return undefined;
      bodies[direction] = { bytes: range.bytes, captured: range.captured, limited: range.limited };
    }
    return bodies;
  }
}

/**
 * With more than `newest` exchanges kept, where the stored ones to send begin (after the oldest
 * ones past the limit; those in memory are all sent), and the notice that says so.
 */
async function oldestStoredToSkip(
  store: CaptureStore,
  inMemory: number,
  newest: number | undefined,
): Promise<{ afterId: number; notice: HostEvent } | undefined> {
  const total = store.size + inMemory;
  if (newest === undefined || total <= newest) return undefined;
  const skip = Math.min(store.size, total - newest);
  if (skip === 0) return undefined;
  const newestFirst = await store.idsNewestFirst();
  const message =
    `this window shows the newest ${newest.toLocaleString('en')} of ${total.toLocaleString('en')} exchanges; ` +
    'the older ones are kept (Export HAR writes them)';
  return {
    afterId: newestFirst[newestFirst.length - skip]!,
    notice: { type: 'host-notice', t: now(), level: 'info', message },
  };
}

function rowOf(id: number, taken: TakenExchange, bodies: ExchangeRow['bodies'] | undefined): ExchangeRow {
  const { events } = taken;
  const opened = events[0]?.type === 'exchange-opened' ? events[0] : undefined;
  const head = events.find((e) => e.type === 'response-head');
  const short = heldForReplay(events);
  return {
    id,
    eventsJson: packEvents(events),
    replayJson: short === events ? undefined : packEvents(short),
    requestHeaders: taken.requestHeaders,
    responseHeaders: taken.responseHeaders,
    messagesNotKept: taken.messagesNotKept,
    openedAt: opened?.t ?? 0,
    method: opened?.request.method ?? '',
    url: opened?.request.url ?? '',
    status: head?.type === 'response-head' ? head.response.status : undefined,
    bodies: bodies ?? {},
  };
}

/** `target.push(...items)` for any length: a long stream's events are more than a call takes arguments. */
function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

/** Two lists of distinct ids, each highest first, as one highest first. */
function mergeDescending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! > b[j]!)) out.push(a[i++]!);
    else if (i < a.length && a[i] === b[j]) {
      out.push(a[i++]!);
      j++;
    } else out.push(b[j++]!);
  }
  return out;
}
