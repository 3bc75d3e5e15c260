import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { Direction } from '../../app/proxy-events.js';
import type { CapturedRange } from '../../proxy-core/index.js';
import { CaptureArchive, MAX_MOVED_BODY_BYTES, type LiveBodies } from '../../main/host/capture-archive.js';
import type { EventLogLimits } from '../../main/host/event-log.js';
import { openRunStore, type RunStore } from '../../main/host/run-store.js';
import { chunkEvent, closedEvent, openedEvent, responseHeadEvent, sseEvent } from '../helpers/host-events.js';

const opened = (id: number): HostEvent => openedEvent(id, { method: 'POST' });
const head = (id: number, encoding?: string): HostEvent =>
  responseHeadEvent(id, encoding ? [['Content-Encoding', encoding]] : []);
const chunk = chunkEvent;
const closed = closedEvent;

/** Stands in for the proxy's captures: bodies by id, and which ids were freed. */
class FakeLiveBodies implements LiveBodies {
  readonly bodies = new Map<string, Buffer>();
  readonly forgotten: number[] = [];

  set(id: number, direction: Direction, bytes: Buffer): void {
    this.bodies.set(`${id}/${direction}`, bytes);
  }

  async read(id: number, direction: Direction, start = 0, end?: number): Promise<CapturedRange | undefined> {
    const bytes = this.bodies.get(`${id}/${direction}`);
    if (!bytes) return undefined;
    return { bytes: bytes.subarray(start, end ?? bytes.length), captured: bytes.length, limited: undefined };
  }

  /** Ids whose bodies are partly in a spill file: they must be read, not copied at once. */
  readonly spilled = new Set<number>();

  readHeld(id: number, direction: Direction, max: number): CapturedRange | 'elsewhere' | undefined {
    const bytes = this.bodies.get(`${id}/${direction}`);
    if (!bytes) return undefined;
    if (this.spilled.has(id) || bytes.length > max) return 'elsewhere';
    return { bytes: Buffer.from(bytes), captured: bytes.length, limited: undefined };
  }

  forget(ids: readonly number[]): void {
    for (const id of ids) {
      this.forgotten.push(id);
      this.bodies.delete(`${id}/request`);
      this.bodies.delete(`${id}/response`);
    }
  }
}

const open: CaptureArchive[] = [];
const storeErrors: string[] = [];
const dataDirs: string[] = [];
afterEach(async () => {
  for (const archive of open.splice(0)) await archive.close(false);
  for (const dir of dataDirs.splice(0)) await rm(dir, { recursive: true, force: true });
  expect(storeErrors.splice(0)).toEqual([]);
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-archive-test-'));
  dataDirs.push(dir);
  return dir;
}

async function archiveWith(
  live: LiveBodies,
  dir?: string,
  keep = false,
  limits?: EventLogLimits,
): Promise<{ archive: CaptureArchive; runStore: RunStore }> {
  const runStore = await openRunStore(dir ?? (await dataDir()), keep, (message) => storeErrors.push(message));
  if (!runStore.store) throw new Error(runStore.problem);
  const archive = new CaptureArchive(runStore, live, limits);
  open.push(archive);
  return { archive, runStore };
}

async function everything(archive: CaptureArchive): Promise<HostEvent[]> {
  const all: HostEvent[] = [];
  for await (const page of archive.history()) for (const event of page) all.push(event);
  return all;
}

/** Resolves once the archive no longer holds `id` in memory (its move to the store finished). */
async function stored(runStore: RunStore, id: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!runStore.store?.has(id)) {
    if (Date.now() > deadline) throw new Error(`exchange ${id} never reached the store`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const idOf = (e: HostEvent): number => ('id' in e ? e.id : -1);

describe('the capture archive: finished exchanges on disk, the rest in memory', () => {
  it.each([
    ['in memory', false],
    ['partly on disk', true],
  ])(
    'moves a finished exchange with its bodies (%s) to the store, frees the copies, and reads them back',
    async (_, spilled) => {
      const live = new FakeLiveBodies();
      if (spilled) live.spilled.add(1);
      const { archive, runStore } = await archiveWith(live);
      live.set(1, 'request', Buffer.from('question'));
      live.set(1, 'response', Buffer.from('answer, in full'));
      for (const e of [opened(1), head(1, 'identity'), chunk(1, 0), closed(1)]) archive.append(e);
      await stored(runStore, 1);

      expect(live.forgotten).toEqual([1]);
      expect(live.bodies.size).toBe(0);
      const range = await archive.readBody(1, 'response', 8);
      expect(range?.bytes.toString()).toBe('in full');
      expect(range?.captured).toBe(15);
      expect((await archive.readBody(1, 'request'))?.bytes.toString()).toBe('question');
      expect(await archive.headersOf(1, 'response')).toEqual([['Content-Encoding', 'identity']]);
      expect((await everything(archive)).map((e) => e.type)).toEqual([
        'exchange-opened',
        'response-head',
        'chunk',
        'exchange-closed',
      ]);
    },
  );

  it('leaves a body too large to move where it is, and still reads it', async () => {
    const live = new FakeLiveBodies();
    const { archive, runStore } = await archiveWith(live);
    const large = Buffer.alloc(MAX_MOVED_BODY_BYTES + 10, 7);
    live.set(2, 'response', large);
    for (const e of [opened(2), head(2), closed(2)]) archive.append(e);
    await stored(runStore, 2);

    expect(live.forgotten).toEqual([]);
    const range = await archive.readBody(2, 'response', MAX_MOVED_BODY_BYTES);
    expect(range?.bytes.length).toBe(10);
    expect(range?.captured).toBe(large.length);
  });

  it('replays stored and open exchanges merged by id, each whole, then the loose events; an exchange moving meanwhile is sent once', async () => {
    const live = new FakeLiveBodies();
    const { archive, runStore } = await archiveWith(live);
    archive.append(opened(1)); // stays open: a long stream
    for (let id = 2; id <= 5; id++) for (const e of [opened(id), chunk(id, 0), closed(id)]) archive.append(e);
    archive.append(opened(6));
    archive.append(chunk(6, 0));
    archive.append({ type: 'host-notice', t: 1, level: 'info', message: 'hello' });
    for (let id = 2; id <= 5; id++) await stored(runStore, id);

    const history = archive.history();
    // 6 finishes and moves after the history was taken: it is in it once, with what it had then.
    archive.append(closed(6));
    await stored(runStore, 6);
    const replayed: HostEvent[] = [];
    for await (const page of history) replayed.push(...page);
    expect(replayed.map(idOf)).toEqual([1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, -1]);
    expect(replayed.filter((e) => idOf(e) === 6).map((e) => e.type)).toEqual(['exchange-opened', 'chunk']);

    // A consumer arriving now finds 6 whole, in the store.
    const now = await everything(archive);
    expect(now.filter((e) => idOf(e) === 6).map((e) => e.type)).toEqual([
      'exchange-opened',
      'chunk',
      'exchange-closed',
    ]);
    expect(await archive.idsNewestFirst()).toEqual([6, 5, 4, 3, 2, 1]);
    const exported: number[] = [];
    for await (const exchange of archive.exchanges()) exported.push(exchange.opened.id);
    expect(exported).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('sends a window only the newest exchanges it can keep, and says how many it left out; export writes them all', async () => {
    const { archive, runStore } = await archiveWith(new FakeLiveBodies());
    for (let id = 1; id <= 5; id++) for (const e of [opened(id), closed(id)]) archive.append(e);
    archive.append(opened(6));
    for (let id = 1; id <= 5; id++) await stored(runStore, id);

    const sent: HostEvent[] = [];
    for await (const page of archive.history({ newest: 3 })) sent.push(...page);
    const notice = sent[0];
    expect(notice?.type === 'host-notice' && notice.message).toBe(
      'this window shows the newest 3 of 6 exchanges; the older ones are kept (Export HAR writes them)',
    );
    expect([...new Set(sent.slice(1).map(idOf))]).toEqual([4, 5, 6]);
    expect((await everything(archive)).filter((e) => e.type === 'exchange-opened')).toHaveLength(6);
    const exported: number[] = [];
    for await (const exchange of archive.exchanges()) exported.push(exchange.opened.id);
    expect(exported).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('replays an exchange with more events than a call takes arguments (a long SSE stream), in memory and stored', async () => {
    const events = 150_000;
    // The log keeps 20,000 messages per exchange by default: raised, to keep more than a call takes arguments.
    const { archive, runStore } = await archiveWith(new FakeLiveBodies(), undefined, false, {
      maxMessagesPerExchange: events,
    });
    archive.append(opened(1));
    for (let index = 0; index < events; index++) {
      archive.append(sseEvent(1, index, { data: '', chunkRange: [0, 0] }));
    }
    const count = async (): Promise<number> => (await everything(archive)).filter((e) => e.type === 'sse-event').length;
    expect(await count()).toBe(events);
    archive.append(closed(1));
    await stored(runStore, 1);
    expect(await count()).toBe(events);
  });

  it('sends a window a stored stream in short and gives its whole events when asked; an open one whole', async () => {
    const { archive, runStore } = await archiveWith(new FakeLiveBodies());
    const sse = (id: number, index: number): HostEvent =>
      sseEvent(id, index, { event: 'delta', data: `token ${index}` });
    const streamed: HostEvent[] = [opened(1), head(1)];
    for (let index = 0; index < 40; index++) streamed.push(chunk(1, index), sse(1, index));
    streamed.push(closed(1));
    for (const event of streamed) archive.append(event);
    archive.append(opened(2));
    archive.append(chunk(2, 0));
    archive.append(sse(2, 0));
    await stored(runStore, 1);

    const replay: HostEvent[] = [];
    for await (const page of archive.history({ held: true })) replay.push(...page);
    const first = replay.filter((e) => 'id' in e && e.id === 1);
    expect(first.map((e) => e.type)).toEqual([
      'exchange-opened',
      'exchange-held',
      'response-head',
      'chunk',
      'chunk',
      'chunk',
      'exchange-closed',
    ]);
    expect(first[1]).toMatchObject({ held: 40 + 37, rpcMessages: { request: 0, response: 0 } });
    // The chunks kept cover the body exactly: 40 reads, 400 bytes, first and last where they were.
    const chunks = first.filter((e) => e.type === 'chunk');
    expect(chunks.map((c) => [c.offset, c.size, c.reads ?? 1])).toEqual([
      [0, 10, 1],
      [10, 380, 38],
      [390, 10, 1],
    ]);
    // The open exchange (in memory) comes whole, its SSE event too.
    expect(replay.filter((e) => 'id' in e && e.id === 2).map((e) => e.type)).toEqual([
      'exchange-opened',
      'chunk',
      'sse-event',
    ]);
    // Export (no `held`) and a window's question for the exchange get every event.
    expect((await everything(archive)).filter((e) => 'id' in e && e.id === 1)).toEqual(streamed);
    expect(await archive.eventsOf(1)).toEqual(streamed);
    expect((await archive.eventsOf(2))?.map((e) => e.type)).toEqual(['exchange-opened', 'chunk', 'sse-event']);
    expect(await archive.eventsOf(3)).toBeUndefined();
  });

  it('removes and clears in memory and on disk alike', async () => {
    const live = new FakeLiveBodies();
    const { archive, runStore } = await archiveWith(live);
    for (let id = 1; id <= 3; id++) for (const e of [opened(id), closed(id)]) archive.append(e);
    archive.append(opened(4));
    for (let id = 1; id <= 3; id++) await stored(runStore, id);

    expect(await archive.remove([2, 4, 9])).toEqual([2, 4]);
    expect((await everything(archive)).map(idOf)).toEqual([1, 1, 3, 3]);
    await archive.clear();
    expect(await everything(archive)).toEqual([]);
    expect(await archive.readBody(1, 'request')).toBeUndefined();
  });

  it('removes its folder on close unless the capture is kept, and a kept one comes back whole', async () => {
    const dir = await dataDir();
    const live = new FakeLiveBodies();
    live.set(1, 'response', Buffer.from('kept body'));
    const first = await archiveWith(live, dir, true);
    if (!first.runStore.store) throw new Error('no store');
    expect(first.runStore.dir).toBe(join(dir, 'capture'));
    for (const e of [opened(1), closed(1)]) first.archive.append(e);
    // Closing waits for the move under way: an exchange that ends as Sluice stops is kept too.
    await first.archive.close(true);
    open.splice(open.indexOf(first.archive), 1);
    await access(first.runStore.dir);

    const again = await archiveWith(new FakeLiveBodies(), dir, true);
    expect((await everything(again.archive)).map((e) => e.type)).toEqual(['exchange-opened', 'exchange-closed']);
    expect((await again.archive.readBody(1, 'response'))?.bytes.toString()).toBe('kept body');
    await again.archive.close(false);
    open.splice(open.indexOf(again.archive), 1);
    await expect(access(join(dir, 'capture'))).rejects.toThrow();

    const fresh = await archiveWith(new FakeLiveBodies(), dir, true);
    expect(await everything(fresh.archive)).toEqual([]);
  });

  it('starts empty when the capture is not kept, whatever the folder holds', async () => {
    const dir = await dataDir();
    const live = new FakeLiveBodies();
    const first = await archiveWith(live, dir, true);
    for (const e of [opened(1), closed(1)]) first.archive.append(e);
    await stored(first.runStore, 1);
    await first.archive.close(true);
    open.splice(open.indexOf(first.archive), 1);
    const second = await archiveWith(live, dir, false);
    expect(await everything(second.archive)).toEqual([]);
  });

  it('keeps everything in memory when there is no store', async () => {
    const live = new FakeLiveBodies();
    const archive = new CaptureArchive({ problem: 'no disk' }, live);
    live.set(1, 'response', Buffer.from('kept'));
    for (const e of [opened(1), closed(1)]) archive.append(e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(archive.onDisk).toBe(false);
    expect((await everything(archive)).map((e) => e.type)).toEqual(['exchange-opened', 'exchange-closed']);
    expect((await archive.readBody(1, 'response'))?.bytes.toString()).toBe('kept');
    expect(live.forgotten).toEqual([]);
  });
});
