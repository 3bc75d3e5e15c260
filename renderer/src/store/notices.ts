import type { Notice, Traffic } from './apply-event.js';

/**
 * Notices the user dismissed. The host replays its notices to every new feed (a reconnect, a
 * reload of the tab), so a dismissed one would come straight back: its key is remembered for this
 * page, and in sessionStorage so that a reload keeps it dismissed. The host's time is part of the
 * key, so the same words said again later are a new notice.
 */
const STORAGE_KEY = 'sluice.dismissed-notices';
/** As many as the page keeps notices; older keys belong to notices long gone. */
const REMEMBERED = 200;
const dismissedHere = new Set<string>();

export function noticeKey(notice: Notice): string {
  return `${notice.t}|${notice.level}|${notice.message}`;
}

export function isDismissed(notice: Notice): boolean {
  const key = noticeKey(notice);
  return dismissedHere.has(key) || storedKeys().includes(key);
}

/** Takes the notice off the page; the caller re-renders. */
export function dismissNotice(traffic: Traffic, notice: Notice): void {
  const key = noticeKey(notice);
  traffic.notices = traffic.notices.filter((n) => noticeKey(n) !== key);
  dismissedHere.add(key);
  storeKeys([...storedKeys().filter((k) => k !== key), key].slice(-REMEMBERED));
}

interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** The tab's session storage; typed here because tests run this module under Node's types too. */
function sessionStore(): KeyValueStore | undefined {
  return (globalThis as { sessionStorage?: KeyValueStore }).sessionStorage;
}

// A page may be refused storage (a sandboxed frame, storage disabled): then only this page remembers.
function storedKeys(): string[] {
  try {
    const parsed: unknown = JSON.parse(sessionStore()?.getItem(STORAGE_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

function storeKeys(keys: readonly string[]): void {
  try {
    sessionStore()?.setItem(STORAGE_KEY, JSON.stringify(keys));
  } catch {
    // Remembered in dismissedHere for this page.
  }
}
