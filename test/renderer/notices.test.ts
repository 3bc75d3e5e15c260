import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostNoticeEvent } from '../../app/contract.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import { dismissNotice } from '../../renderer/src/store/notices.js';

/** The page's sessionStorage, which Node lacks: it outlives a reload of the tab, as here a fresh Traffic. */
class MemoryStorage {
  private readonly items = new Map<string, string>();
  getItem = (key: string): string | null => this.items.get(key) ?? null;
  setItem = (key: string, value: string): void => void this.items.set(key, value);
}

const warning = (t: number, message: string): HostNoticeEvent => ({
  type: 'host-notice',
  t,
  level: 'warning',
  message,
});

describe('notices', () => {
  beforeEach(() => {
    Object.assign(globalThis, { sessionStorage: new MemoryStorage() });
  });
  afterEach(() => {
    Reflect.deleteProperty(globalThis, 'sessionStorage');
  });

  it('a notice that arrives twice is shown once', () => {
    const traffic = emptyTraffic();
    const saved = warning(12.5, 'KDE proxy settings were saved, but running KDE programs could not be told');
    applyEvent(traffic, saved);
    applyEvent(traffic, saved);
    expect(traffic.notices.map((n) => n.message)).toEqual([saved.message]);
    // The same words later are a new notice.
    applyEvent(traffic, { ...saved, t: 40 });
    expect(traffic.notices).toHaveLength(2);
  });

  it('a dismissed notice is gone, and stays gone when the host replays it after a reload', async () => {
    const first = warning(1, 'settings.json could not be read and was replaced');
    const second = warning(2, 'The system proxy was switched off because the proxy stopped.');
    const traffic = emptyTraffic();
    applyEvent(traffic, first);
    applyEvent(traffic, second);
    dismissNotice(traffic, traffic.notices[0]!);
    expect(traffic.notices.map((n) => n.message)).toEqual([second.message]);
    applyEvent(traffic, first);
    expect(traffic.notices.map((n) => n.message)).toEqual([second.message]);

    // A reload: fresh modules, only sessionStorage carries over.
    vi.resetModules();
    const page = await import('../../renderer/src/store/apply-event.js');
    const reloaded = page.emptyTraffic();
    page.applyEvent(reloaded, first);
    page.applyEvent(reloaded, second);
    expect(reloaded.notices.map((n) => n.message)).toEqual([second.message]);
  });

  it('without sessionStorage (a sandbox that refuses it) dismissing still works for this page', () => {
    Reflect.deleteProperty(globalThis, 'sessionStorage');
    const traffic = emptyTraffic();
    const notice = warning(3, 'HAR import of a.har: entry 2 has no request');
    applyEvent(traffic, notice);
    dismissNotice(traffic, traffic.notices[0]!);
    applyEvent(traffic, notice);
    expect(traffic.notices).toEqual([]);
  });
});
