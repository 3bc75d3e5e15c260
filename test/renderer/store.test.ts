import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostEvent, HostNoticeEvent } from '../../app/contract.js';
import { NO_FILTER } from '../../renderer/src/store/filter.js';
import { createSluiceStore, type SluiceStore } from '../../renderer/src/store/store.js';
import { chunkEvent, closedEvent, openedEvent, runningProxy as running } from '../helpers/host-events.js';
import { animationFrames } from './animation-frames.js';

const notice = (t: number, message: string): HostNoticeEvent => ({ type: 'host-notice', t, level: 'warning', message });

beforeEach(() => {
  // The store draws a list it held back on a timer; a test runs those by hand, and none outlives it.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the store', () => {
  it('applies what it receives at the next frame, at most 4,000 events a frame, asking for more frames while some wait', () => {
    const frames = animationFrames();
    // Frames far apart in time: the list is drawn in each (see the next test for frames close together).
    let clock = 0;
    const store = createSluiceStore({ now: () => (clock += 1000) });
    const opened = Array.from({ length: 9000 }, (_, i) => openedEvent(i + 1));
    store.getState().receive({ seq: 0, events: opened.slice(0, 5000) });
    store.getState().receive({ seq: 1, events: opened.slice(5000) });
    expect(store.getState().traffic.order).toHaveLength(0);
    // One frame asked for, however many batches came before it.
    expect(frames.waiting).toBe(1);

    const applied: number[] = [];
    while (frames.waiting > 0) {
      frames.run();
      applied.push(store.getState().traffic.order.length);
    }
    expect(applied).toEqual([4000, 8000, 9000]);
    expect(store.getState().tick).toBe(3);
    expect(store.getState().listRevision).toBe(store.getState().traffic.listRevision);
  });

  it('far behind (a long replay), takes slices until 24 ms have gone per frame, in order, then back to 4,000', () => {
    const frames = animationFrames();
    // Each look at the clock is 1 ms later: a slice of 4,000 "takes" 1 ms.
    let clock = 0;
    const store = createSluiceStore({ now: () => clock++ });
    const opened = Array.from({ length: 130_000 }, (_, i) => openedEvent(i + 1));
    store.getState().receive({ seq: 0, events: opened.slice(0, 100_000) });
    store.getState().receive({ seq: 1, events: opened.slice(100_000) });
    const applied: number[] = [];
    while (frames.waiting > 0) {
      frames.run();
      applied.push(store.getState().traffic.order.length);
    }
    // 130,000 waiting: 24 slices in the first frame; 34,000 left is not far behind.
    expect(applied.slice(0, 3)).toEqual([96_000, 100_000, 104_000]);
    expect(applied.at(-1)).toBe(130_000);
    expect(store.getState().traffic.order.slice(0, 3)).toEqual([1, 2, 3]);
    expect(store.getState().traffic.order.at(-1)).toBe(130_000);
  });

  it('catching up, draws the list at once, then at most every 250 ms, and a list held back once that time is up', () => {
    const frames = animationFrames();
    let clock = 0;
    const store = createSluiceStore({ now: () => clock });
    const drawn = (): boolean => store.getState().listRevision === store.getState().traffic.listRevision;
    let next = 1;
    const receive = (count: number): void => {
      const events = Array.from({ length: count }, () => openedEvent(next++));
      store.getState().receive({ seq: next === count + 1 ? 0 : 1, events });
    };

    // A replay's first page: its rows at once.
    receive(2000);
    frames.run();
    expect(drawn()).toBe(true);
    // The next pages 100 ms apart: applied (the exchanges are there, the toolbar's tick moves) but
    // the list waits, then is drawn once 250 ms have gone since it last was.
    clock = 100;
    receive(2000);
    const tick = store.getState().tick;
    frames.run();
    expect(store.getState().traffic.order).toHaveLength(4000);
    expect(store.getState().tick).toBe(tick + 1);
    expect(drawn()).toBe(false);
    clock = 200;
    receive(2000);
    frames.run();
    expect(drawn()).toBe(false);
    clock = 260;
    receive(2000);
    frames.run();
    expect(drawn()).toBe(true);
    // The replay's last few exchanges right after: held, and drawn by the timer 250 ms after the last draw.
    clock = 300;
    receive(3);
    frames.run();
    expect(drawn()).toBe(false);
    expect(frames.waiting).toBe(0);
    clock = 510;
    vi.advanceTimersByTime(250);
    expect(frames.waiting).toBe(1);
    frames.run();
    expect(drawn()).toBe(true);
    expect(store.getState().traffic.order).toHaveLength(8003);
    // Caught up: a new exchange at a person's pace is drawn in its own frame.
    clock = 900;
    receive(1);
    frames.run();
    expect(drawn()).toBe(true);
  });

  it('makes a held exchange whole a frame at a time, then swaps it in, in its place', () => {
    const frames = animationFrames();
    const store = createSluiceStore();
    const held: HostEvent = {
      type: 'exchange-held',
      t: 2,
      id: 2,
      held: 9000,
      rpcMessages: { request: 0, response: 0 },
    };
    store
      .getState()
      .receive({ seq: 0, events: [openedEvent(1), openedEvent(2), held, closedEvent(2), openedEvent(3)] });
    frames.runAll();
    expect(store.getState().traffic.exchanges.get(2)?.held).toBe(9000);

    const chunks = Array.from({ length: 9000 }, (_, index) => chunkEvent(2, index));
    store.getState().restore(2, [openedEvent(2), ...chunks, closedEvent(2)]);
    const seen: (number | undefined)[] = [];
    while (frames.waiting > 0) {
      frames.run();
      seen.push(store.getState().traffic.exchanges.get(2)?.held);
    }
    // 9,002 events, 4,000 a frame: held for two frames, whole in the third.
    expect(seen).toEqual([9000, 9000, undefined]);
    const whole = store.getState().traffic.exchanges.get(2)!;
    expect(whole.responseBody.chunks).toHaveLength(9000);
    expect(whole.responseBody.bytes).toBe(90_000);
    expect(store.getState().traffic.order).toEqual([1, 2, 3]);
    expect(store.getState().listRevision).toBe(store.getState().traffic.listRevision);
  });

  it('applies a body as it streams: the exchange changes, the list does not', () => {
    const frames = animationFrames();
    const store = createSluiceStore();
    store.getState().receive({ seq: 0, events: [openedEvent(1)] });
    frames.runAll();
    const listRevision = store.getState().listRevision;
    store.getState().receive({ seq: 1, events: [chunkEvent(1, 0), chunkEvent(1, 1)] });
    frames.runAll();
    const exchange = store.getState().traffic.exchanges.get(1)!;
    expect(exchange.responseBody.bytes).toBe(20);
    expect(store.getState().listRevision).toBe(listRevision);
  });

  it('lets go of the selected exchange once it is gone', () => {
    const frames = animationFrames();
    const store = createSluiceStore();
    store.getState().receive({ seq: 0, events: [openedEvent(1), closedEvent(1), openedEvent(2)] });
    frames.runAll();
    store.getState().select(1);
    store.getState().receive({ seq: 1, events: [{ type: 'exchanges-removed', t: 200, ids: [2] }] });
    frames.runAll();
    expect(store.getState().selectedId).toBe(1);
    store.getState().receive({ seq: 2, events: [{ type: 'capture-cleared', t: 201 }] });
    frames.runAll();
    expect(store.getState().selectedId).toBeUndefined();
    expect(store.getState().traffic.order).toEqual([]);
  });

  it('merges a filter change into the filter, and a status set by hand shows at once', () => {
    animationFrames();
    const store = createSluiceStore();
    store.getState().setFilter({ text: 'api' });
    store.getState().setFilter({ streamingOnly: true });
    expect(store.getState().filter).toEqual({ ...NO_FILTER, text: 'api', streamingOnly: true });
    const tick = store.getState().tick;
    store.getState().setStatus(running);
    expect(store.getState().traffic.status).toEqual(running);
    expect(store.getState().tick).toBe(tick + 1);
  });
});

describe('a new feed (seq 0) after a reconnect', () => {
  it("forgets the old feed's exchanges and drops its events still waiting, but keeps the statuses", () => {
    const frames = animationFrames();
    const store = createSluiceStore();
    const oldFeed: HostEvent[] = Array.from({ length: 4500 }, (_, i) => openedEvent(i + 1));
    store.getState().receive({ seq: 0, events: oldFeed });
    frames.run();
    store.getState().setStatus(running);
    store.getState().select(3);
    expect(store.getState().pending.size).toBe(500);

    const listRevision = store.getState().listRevision;
    store.getState().receive({ seq: 0, events: [openedEvent(9000)] });
    expect(store.getState().pending.size).toBe(1);
    frames.runAll();
    const { traffic, selectedId } = store.getState();
    expect(traffic.order).toEqual([9000]);
    expect([...traffic.exchanges.keys()]).toEqual([9000]);
    expect(traffic.status).toEqual(running);
    expect(selectedId).toBeUndefined();
    // Views memoised on the old list see a new revision even if the counts happen to match.
    expect(store.getState().listRevision).toBeGreaterThan(listRevision);
  });

  it('shows the notices the host replays, each once, though the host stamps some anew for each feed', () => {
    const frames = animationFrames();
    const store = createSluiceStore();
    // The host tells each new window how much of a long capture it leaves out, at that window's time.
    const windowed = 'this window shows the newest 200,000 of 250,000 exchanges';
    const settings = 'settings.json could not be read and was replaced';
    store.getState().receive({ seq: 0, events: [notice(10, windowed), notice(2, settings)] });
    frames.runAll();
    expect(messages(store)).toEqual([windowed, settings]);

    store.getState().receive({ seq: 0, events: [notice(90, windowed), notice(2, settings)] });
    frames.runAll();
    expect(messages(store)).toEqual([windowed, settings]);
  });

  it("shows a restarted host's notices, not the old host's beside them", () => {
    const frames = animationFrames();
    const store = createSluiceStore();
    const replaced = 'settings.json could not be read and was replaced';
    const switchedOff = 'the system proxy was switched off';
    store.getState().receive({ seq: 0, events: [notice(2, replaced), notice(40, switchedOff)] });
    frames.runAll();
    // The new host process has its own clock: the same words come at a new time.
    store.getState().receive({ seq: 0, events: [notice(3, replaced)] });
    frames.runAll();
    expect(store.getState().traffic.notices).toEqual([{ t: 3, level: 'warning', message: replaced }]);
  });
});

function messages(store: SluiceStore): string[] {
  return store.getState().traffic.notices.map((n) => n.message);
}
