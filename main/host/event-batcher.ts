import type { EventBatch, HostEvent } from '../../app/contract.js';
import { chunkFollows, mergeChunks, type ChunkEvent } from '../../app/proxy-events.js';
import { now } from '../../proxy-core/index.js';

export interface EventBatcherOptions {
  /** Hands one batch to the consumer (IPC send, WebSocket send). Must not block. */
  readonly send: (batch: EventBatch) => void;
  /** Whether the consumer can take another batch now, e.g. a WebSocket's bufferedAmount is low. */
  readonly ready?: () => boolean;
  /** Least time between two timed flushes: one batch per animation frame. */
  readonly intervalMs?: number;
  /** Most events in one batch; this many queued are sent at once, without waiting for the interval. */
  readonly maxBatch?: number;
  /** Queue length past which display events are summarised, then dropped. */
  readonly maxQueued?: number;
  /**
   * Most chunk events of one body in one batch; past it, neighbours are merged. A window cannot
   * show more than a few hundred reads per frame, and a flood of tiny chunks (hundreds of
   * thousands a second) would otherwise cost the proxy's process more in encoding than in forwarding.
   */
  readonly maxChunksPerBodyPerBatch?: number;
}

export const DEFAULT_INTERVAL_MS = 16;
export const DEFAULT_MAX_BATCH = 2000;
export const DEFAULT_MAX_QUEUED = 20_000;
export const DEFAULT_MAX_CHUNKS_PER_BODY_PER_BATCH = 500;

/**
 * How expendable an event is when the queue overflows: chunks go first (they are the bulk of any
 * flood and the bytes stay readable through `body.read`), then parsed messages (SSE events,
 * WebSocket messages, gRPC, gRPC-Web and Connect messages), and only past the hard cap anything,
 * structural events included, oldest first. An RPC's status is structural: one per call, and the
 * list shows it.
 */
type Tier = 'chunk' | 'sse' | 'structural';

function tierOf(event: HostEvent): Tier {
  switch (event.type) {
    case 'chunk':
      return 'chunk';
    case 'sse-event':
    case 'sse-retry':
    case 'websocket-message':
    case 'rpc-message':
      return 'sse';
    default:
      return 'structural';
  }
}

/** One key per exchange and direction: chunks of different bodies never merge. */
function chunkKey(chunk: ChunkEvent): number {
  return chunk.id * 2 + (chunk.direction === 'response' ? 1 : 0);
}

/**
 * Carries host events to one renderer in batches: at most one timed batch per `intervalMs`, or
 * sooner when `maxBatch` events are waiting. The proxy never waits for the renderer: `push` only
 * appends to an array, and a consumer that cannot keep up (`ready()` false) costs it display
 * events, never time. Those are first summarised, then dropped; each batch after a drop starts
 * with one `events-dropped` event carrying how many were lost, so the renderer re-reads state.
 *
 * Summarising merges a body's queued chunk events into one covering their combined byte range
 * (offset and index of the first, sizes summed, `readAt` of the first, `flushedAt` of the last).
 * It loses only per-read granularity, which the gaps in `index` still reveal; byte totals and
 * ranges stay exact, so merged events are not counted as dropped and need no re-read. A chunk is
 * merged into the previous queued chunk of its body even across other events of the exchange:
 * every event still arrives after the bytes it refers to (an sse-event's `chunkRange` indexes fall
 * inside the merged chunk), which is all the display needs. Merges that would not be contiguous
 * (a chunk dropped in between) are not made.
 *
 * If merging is not enough, the oldest chunks go first, merged ones included, as the issue orders:
 * once anything is dropped the renderer re-reads state, so keeping one merged chunk over one SSE
 * event would buy nothing. Batches carry `seq` 0, 1, 2, ...
 */
export class EventBatcher {
  private readonly send: (batch: EventBatch) => void;
  private readonly ready: () => boolean;
  private readonly intervalMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly maxChunksPerBody: number;
  /** Never exceeded: past it even structural events go, oldest first. */
  readonly hardCap: number;
  /** Compaction frees at least this many slots, so its O(queue) cost is paid rarely. */
  private readonly slack: number;

  /** Queued events are `items[head..]`: taking a batch moves `head`, never shifts the array. */
  private items: HostEvent[] = [];
  private head = 0;
  /** History replayed to a new consumer, sent before `items`; never merged or dropped. */
  private history: readonly HostEvent[] = [];
  private historyAt = 0;
  /** Pages of history still to come (from the capture store), read one at a time as batches go out. */
  private pages: AsyncIterator<readonly HostEvent[]> | undefined;
  private readingPage = false;
  private firstBatchPending = false;
  /** Queue length at which the next push compacts. */
  private compactAt: number;
  /** Queue length at which the next push asks for an early flush. */
  private earlyFlushAt: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private warned = false;

  private seq = 0;
  /** Dropped since the last batch that reported them. */
  private unreported = 0;
  private droppedTotal = 0;
  private mergedTotal = 0;

  constructor(options: EventBatcherOptions) {
    this.send = options.send;
    this.ready = options.ready ?? (() => true);
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
    this.maxQueued = Math.max(4, options.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.maxChunksPerBody = Math.max(1, options.maxChunksPerBodyPerBatch ?? DEFAULT_MAX_CHUNKS_PER_BODY_PER_BATCH);
    this.hardCap = 2 * this.maxQueued;
    this.slack = Math.max(1, Math.floor(this.maxQueued / 4));
    this.compactAt = this.maxQueued;
    this.earlyFlushAt = this.maxBatch;
  }

  /** Events waiting for the consumer. */
  get queued(): number {
    return this.items.length - this.head;
  }

  /** Events lost to overflow (or to a `send` that threw) since the start. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Chunk events folded into a neighbour since the start; not lost, so not in `dropped`. */
  get merged(): number {
    return this.mergedTotal;
  }

  /** Batches sent so far; also the `seq` the next batch will carry. */
  get batches(): number {
    return this.seq;
  }

  /** Called on the proxy's path for every event: appends, and rarely compacts. Never throws. */
  push(event: HostEvent): void {
    if (this.closed) return;
    this.items.push(event);
    let queued = this.items.length - this.head;
    if (queued > this.compactAt && !this.historyLeft && this.consumerReady()) {
      // Summarising or dropping is for a consumer that cannot keep up, not for one whose turn has
      // not come: the proxy records a loop turn's chunks together, after forwarding them, so a
      // burst (an LLM stream read in one go) can fill the queue between two flushes while the
      // consumer waits idle. It gets the events now instead.
      this.flush();
      queued = this.items.length - this.head;
    }
    if (queued > this.compactAt) {
      this.compact();
      queued = this.items.length - this.head;
    }
    if (queued >= this.earlyFlushAt) this.scheduleImmediate();
    else if (this.timer === undefined) this.scheduleTimer();
  }

  /**
   * Queues what happened before this consumer arrived (the host's event log, or pages of it read
   * from the capture store one at a time) ahead of everything pushed later. Sent in
   * `maxBatch`-sized batches as fast as the consumer is ready, and never merged or dropped: the log
   * holds these events anyway, so waiting costs no memory.
   */
  prime(history: readonly HostEvent[] | AsyncIterable<readonly HostEvent[]>): void {
    if (this.closed) return;
    if (isAsyncIterable(history)) {
      this.history = [];
      this.pages = history[Symbol.asyncIterator]();
    } else {
      this.history = history;
      this.pages = undefined;
    }
    this.historyAt = 0;
    // Even an empty history is one batch: seq 0 tells the consumer a new feed has begun.
    this.firstBatchPending = this.seq === 0;
    this.scheduleImmediate();
  }

  /** Sends what is queued now, as far as the consumer is ready; for tests and shutdown. */
  flushNow(): void {
    this.flush();
  }

  /** Stops the timers and forgets the queue; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.clearSchedule();
    this.items = [];
    this.head = 0;
    this.history = [];
    void this.pages?.return?.();
    this.pages = undefined;
  }

  /** Whether history is still to send; an empty primed history still owes its one batch. */
  private get historyLeft(): boolean {
    return this.historyAt < this.history.length || this.pages !== undefined || this.firstBatchPending;
  }

  private readonly flush = (): void => {
    this.clearSchedule();
    if (this.closed) return;
    while (this.historyLeft && this.consumerReady()) {
      if (this.historyAt === this.history.length && this.pages) {
        this.readPage();
        break;
      }
      if (!this.sendHistoryBatch()) break;
    }
    while (!this.historyLeft && (this.queued > 0 || this.unreported > 0) && this.consumerReady()) {
      if (!this.sendBatch()) break;
    }
    this.earlyFlushAt = this.queued + this.maxBatch;
    // Lower only: a flush that could not send must not let the queue grow past its bound.
    this.compactAt = Math.max(this.maxQueued, Math.min(this.compactAt, this.queued + this.slack));
    this.releaseSentPrefix();
    if (this.historyLeft || this.queued > 0 || this.unreported > 0) this.scheduleTimer();
  };

  /** Asks for the next page of history; the flush after it arrives sends it. */
  private readPage(): void {
    const pages = this.pages;
    if (this.readingPage || !pages) return;
    this.readingPage = true;
    pages.next().then(
      (result) => {
        this.readingPage = false;
        if (this.closed || this.pages !== pages) return;
        if (result.done) this.pages = undefined;
        else {
          this.history = result.value;
          this.historyAt = 0;
        }
        this.scheduleImmediate();
      },
      (err: unknown) => {
        // What was sent stays; the consumer goes on with live events rather than waiting forever.
        this.readingPage = false;
        if (this.pages === pages) this.pages = undefined;
        this.warnOnce(`history could not be read: ${String(err)}`);
        if (!this.closed) this.scheduleImmediate();
      },
    );
  }

  private sendHistoryBatch(): boolean {
    const end = Math.min(this.history.length, this.historyAt + this.maxBatch);
    const events = this.history.slice(this.historyAt, end);
    try {
      this.send({ seq: this.seq, events });
    } catch (err) {
      this.warnOnce(`event batch send failed: ${String(err)}`);
      return false;
    }
    this.seq++;
    this.historyAt = end;
    this.firstBatchPending = false;
    if (this.historyAt === this.history.length) {
      this.history = [];
      this.historyAt = 0;
    }
    return true;
  }

  /** False when `send` threw: the consumer is gone or broken, so try again on the next tick. */
  private sendBatch(): boolean {
    const reported = this.unreported;
    const events: HostEvent[] = [];
    if (reported > 0) events.push({ type: 'events-dropped', t: now(), count: reported });
    const end = Math.min(this.items.length, this.head + this.maxBatch - events.length);
    for (let i = this.head; i < end; i++) events.push(this.items[i]!);
    const taken = end - this.head;
    this.head = end;
    this.unreported = 0;
    this.mergedTotal += thinChunks(events, this.maxChunksPerBody);
    try {
      this.send({ seq: this.seq, events });
      this.seq++;
      return true;
    } catch (err) {
      // The consumer did not get them: count them as lost so the next batch says so.
      this.countDropped(taken);
      this.unreported += reported;
      this.warnOnce(`event batch send failed: ${String(err)}`);
      return false;
    }
  }

  private consumerReady(): boolean {
    try {
      return this.ready();
    } catch (err) {
      this.warnOnce(`event consumer ready() threw: ${String(err)}`);
      return false;
    }
  }

  /** Drops references to sent events once they are most of the array, so memory follows the queue. */
  private releaseSentPrefix(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > this.items.length / 2) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Brings the queue back under `maxQueued - slack`: merge chunks, then drop the oldest chunks,
   * then the oldest SSE events; structural events go only to stay under the hard cap. Runs at most
   * once per `slack` pushes, so its linear cost is constant per push.
   */
  private compact(): void {
    this.mergeQueuedChunks();
    const target = this.maxQueued - this.slack;
    this.dropOldest(this.queued - target, 'chunk');
    this.dropOldest(this.queued - target, 'sse');
    const overHardCap = this.queued - (this.hardCap - this.slack);
    if (overHardCap > 0) {
      this.head += overHardCap;
      this.countDropped(overHardCap);
      this.releaseSentPrefix();
    }
    this.compactAt = Math.max(this.maxQueued, this.queued + this.slack);
  }

  /** Folds each queued chunk into the previous queued chunk of the same body, in place. */
  private mergeQueuedChunks(): void {
    const { items } = this;
    const lastChunkAt = new Map<number, number>();
    let write = 0;
    for (let read = this.head; read < items.length; read++) {
      const event = items[read]!;
      if (event.type === 'chunk') {
        const key = chunkKey(event);
        const at = lastChunkAt.get(key);
        const previous = at === undefined ? undefined : (items[at] as ChunkEvent);
        if (previous && chunkFollows(previous, event)) {
          items[at!] = mergeChunks(previous, event);
          this.mergedTotal++;
          continue;
        }
        lastChunkAt.set(key, write);
      }
      items[write++] = event;
    }
    items.length = write;
    this.head = 0;
  }

  /** Removes up to `excess` events of exactly `tier`, oldest first, in place. */
  private dropOldest(excess: number, tier: Tier): void {
    if (excess <= 0) return;
    const { items } = this;
    let toDrop = excess;
    let write = this.head;
    for (let read = this.head; read < items.length; read++) {
      const event = items[read]!;
      if (toDrop > 0 && tierOf(event) === tier) {
        toDrop--;
        continue;
      }
      items[write++] = event;
    }
    items.length = write;
    this.countDropped(excess - toDrop);
  }

  private countDropped(count: number): void {
    this.unreported += count;
    this.droppedTotal += count;
  }

  private scheduleTimer(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(this.flush, this.intervalMs);
    // A renderer's queue must never keep the process alive on its own.
    this.timer.unref();
  }

  private scheduleImmediate(): void {
    if (this.immediate !== undefined || this.closed) return;
    // Not synchronously: push runs inside the proxy's data handler, and send may be costly. Not
    // unref'd: an idle loop with only unref'd immediates waits in its poll phase for the next
    // timer or I/O, so a new window's replay, page after page, crawled from wake-up to wake-up
    // (half a second a page on an idle host). It runs on the next turn, so it holds nothing open.
    this.immediate = setImmediate(this.flush);
  }

  private clearSchedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    process.emitWarning(`sluice: ${message}`);
  }
}

/**
 * Merges runs of neighbouring chunks of any body that has more than `maxPerBody` chunk events in
 * `events`, in place, so that it has at most about `maxPerBody`. Each merged chunk stays where its
 * first member was; byte ranges stay exact. Returns how many chunk events were folded away.
 */
export function thinChunks(events: HostEvent[], maxPerBody: number): number {
  const counts = new Map<number, number>();
  for (const event of events) {
    if (event.type === 'chunk') counts.set(chunkKey(event), (counts.get(chunkKey(event)) ?? 0) + 1);
  }
  const factors = new Map<number, number>();
  for (const [key, count] of counts) if (count > maxPerBody) factors.set(key, Math.ceil(count / maxPerBody));
  if (factors.size === 0) return 0;
  const groups = new Map<number, { at: number; members: number }>();
  let write = 0;
  for (let read = 0; read < events.length; read++) {
    const event = events[read]!;
    if (event.type === 'chunk') {
      const key = chunkKey(event);
      const factor = factors.get(key);
      if (factor !== undefined) {
        const group = groups.get(key);
        const previous = group ? (events[group.at] as ChunkEvent) : undefined;
        if (group && previous && group.members < factor && chunkFollows(previous, event)) {
          events[group.at] = mergeChunks(previous, event);
          group.members++;
          continue;
        }
        groups.set(key, { at: write, members: 1 });
      }
    }
    events[write++] = event;
  }
  const folded = events.length - write;
  events.length = write;
  return folded;
}

function isAsyncIterable<T>(value: object): value is AsyncIterable<T> {
  return Symbol.asyncIterator in value;
}
