import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HostNoticeEvent } from '../../app/contract.js';
import { createSluiceStore, type SluiceStore } from '../../renderer/src/store/store.js';
import { animationFrames } from './animation-frames.js';

const notice = (t: number, message: string): HostNoticeEvent => ({ type: 'host-notice', t, level: 'warning', message });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a new feed (seq 0) after a reconnect', () => {
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
    store
      .getState()
      .receive({ seq: 0, events: [notice(2, replaced), notice(40, 'the system proxy was switched off')] });
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
