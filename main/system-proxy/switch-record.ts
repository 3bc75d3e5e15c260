import { mkdir, readFile, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { OurProxy } from './types.js';
import { writeAtomic } from '../write-atomic.js';

/**
 * Crash safety for the system proxy switch. Before anything is changed, the previous settings are
 * written to the data dir; they are removed only after a clean restore. A record still there on the
 * next start means Sluice died while the system pointed at it, and the user's network is broken until
 * it is restored.
 */

export const SWITCH_RECORD_FILE = 'system-proxy-record.json';

/** What the switch needs from an OS adapter; S is that adapter's snapshot. */
export interface SwitchableAdapter<S> {
  readonly name: string;
  read(): Promise<S>;
  apply(ours: OurProxy): Promise<void>;
  restore(previous: S): Promise<void>;
  pointsAt(current: S, proxy: { host: string; port: number }): boolean;
  /** Refuses a damaged record instead of writing garbage into the user's settings. */
  isSnapshot(x: unknown): x is S;
}

export interface SwitchRecord<S> {
  version: 1;
  adapter: string;
  previous: S;
  proxy: { host: string; port: number };
  pid: number;
  at: string;
}

export class SwitchRecordStore {
  readonly path: string;
  constructor(readonly dataDir: string) {
    this.path = join(dataDir, SWITCH_RECORD_FILE);
  }

  async write<S>(record: SwitchRecord<S>): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.path, JSON.stringify(record, null, 2) + '\n', 0o600);
  }

  /** The record, null when there is none; throws on a file that is not valid JSON. */
  async read(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(text) as unknown;
  }

  async remove(): Promise<void> {
    await unlink(this.path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
}

function isRecordOf<S>(adapter: SwitchableAdapter<S>, x: unknown): x is SwitchRecord<S> {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Partial<SwitchRecord<S>>;
  return (
    r.version === 1 &&
    r.adapter === adapter.name &&
    typeof r.proxy?.host === 'string' &&
    Number.isInteger(r.proxy.port) &&
    adapter.isSnapshot(r.previous)
  );
}

/** Saves the previous settings, then points the system at our proxy. */
export async function switchOn<S>(
  adapter: SwitchableAdapter<S>,
  store: SwitchRecordStore,
  ours: OurProxy,
): Promise<void> {
  const existing = await store.read().catch(() => null);
  // Already on (say the port changed): keep the user's settings from the first switch, never ours.
  const previous = isRecordOf(adapter, existing) ? existing.previous : await adapter.read();
  await store.write<S>({
    version: 1,
    adapter: adapter.name,
    previous,
    proxy: { host: ours.host, port: ours.port },
    pid: process.pid,
    at: new Date().toISOString(),
  });
  try {
    await adapter.apply(ours);
  } catch (err) {
    // A half-applied switch must not be left behind; put back what was there, then report.
    await adapter.restore(previous).catch(() => undefined);
    await store.remove();
    throw err;
  }
}

/** Restores the saved settings and removes the record; nothing to do when there is none. */
export async function switchOff<S>(adapter: SwitchableAdapter<S>, store: SwitchRecordStore): Promise<boolean> {
  const record = await store.read();
  if (record === null) return false;
  if (!isRecordOf(adapter, record)) throw new Error(`The saved system proxy record ${store.path} is damaged.`);
  await adapter.restore(record.previous);
  await store.remove();
  return true;
}

/**
 * On start: a leftover record whose proxy no longer answers means an earlier Sluice crashed with the
 * system proxy on. Restore the user's settings and return a message to show them; null when there
 * was nothing to repair (no record, or the proxy is alive, i.e. another Sluice owns it).
 */
export async function recoverIfStale<S>(
  adapter: SwitchableAdapter<S>,
  store: SwitchRecordStore,
  isProxyAlive: (proxy: { host: string; port: number }) => Promise<boolean>,
): Promise<string | null> {
  let record: unknown;
  try {
    record = await store.read();
  } catch {
    return `The saved system proxy settings in ${store.path} could not be read; check your proxy settings (${adapter.name}).`;
  }
  if (record === null) return null;
  if (!isRecordOf(adapter, record)) {
    return `The saved system proxy settings in ${store.path} are damaged and were not applied; check your proxy settings (${adapter.name}).`;
  }
  if (await isProxyAlive(record.proxy)) return null;
  const where = `${record.proxy.host}:${record.proxy.port}`;
  const current = await adapter.read();
  if (!adapter.pointsAt(current, record.proxy)) {
    // The user has changed their settings since; theirs win over a stale copy.
    await store.remove();
    return `Sluice did not shut down cleanly last time, but your system proxy no longer points at it (${where}); it was left as it is.`;
  }
  await adapter.restore(record.previous);
  await store.remove();
  return `Sluice did not shut down cleanly last time and left your system proxy pointing at ${where}. Your previous proxy settings have been restored.`;
}

/** The default liveness check: does anything accept a TCP connection at the recorded address? */
export function tcpAnswers(proxy: { host: string; port: number }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: proxy.host, port: proxy.port });
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Temp file + fsync + rename: a crash leaves the old record or the new one, never half of one. */
