import { request } from 'node:http';
import type { HostPort, OurProxy, SystemProxyAdapter } from './types.js';
import { PrivateJsonFile } from './private-json-file.js';

/**
 * Crash safety for the system proxy switch. Before anything is changed, the previous settings of
 * every adapter (GNOME and KDE on one Linux desktop, say) are written to the data dir; they are
 * removed only after a clean restore. A record still there on the next start means Sluice died
 * while the system pointed at it, and the user's network is broken until it is restored.
 */

export const SWITCH_RECORD_FILE = 'system-proxy-record.json';

/** What the switch needs from an adapter: everything but the availability check. */
export type SwitchableAdapter<S = unknown> = Omit<SystemProxyAdapter<S>, 'available'>;

export interface SwitchRecord {
  version: 1;
  /** The settings before Sluice changed them, by adapter name. */
  previous: Record<string, unknown>;
  proxy: HostPort;
  /** Set in PAC mode: the script URL the system was pointed at. */
  pacUrl?: string;
  /** The Sluice that switched on (one per host, so two in one process differ too); others leave it be. */
  owner: string;
  /** Its process, for the message that names it. */
  pid: number;
  at: string;
}

/** Where a data dir keeps its switch record. */
export class SwitchRecordStore extends PrivateJsonFile<SwitchRecord> {
  constructor(readonly dataDir: string) {
    super(dataDir, SWITCH_RECORD_FILE);
  }
}

/**
 * A record whose envelope is sound. Each adapter's snapshot is checked by that adapter when it is
 * used, so one damaged part never blocks restoring the others.
 */
export function isSwitchRecord(x: unknown): x is SwitchRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Partial<SwitchRecord>;
  return (
    r.version === 1 &&
    typeof r.previous === 'object' &&
    r.previous !== null &&
    !Array.isArray(r.previous) &&
    typeof r.proxy?.host === 'string' &&
    Number.isInteger(r.proxy.port) &&
    (r.pacUrl === undefined || typeof r.pacUrl === 'string') &&
    typeof r.owner === 'string' &&
    Number.isInteger(r.pid)
  );
}

export function recordedProxy(record: SwitchRecord): OurProxy {
  return { ...record.proxy, ...(record.pacUrl !== undefined ? { pacUrl: record.pacUrl } : {}) };
}

/**
 * Saves the previous settings, then points every adapter at our proxy. Returns the names of the
 * settings changed. When one adapter fails, every adapter is put back to the saved settings before
 * it throws; the record goes only if all of that worked, so a start later can finish the job.
 */
export async function switchOn(
  adapters: readonly SwitchableAdapter[],
  store: SwitchRecordStore,
  ours: OurProxy,
  owner = String(process.pid),
): Promise<string[]> {
  const existing = await store.read().catch(() => null);
  // Already on (say the port changed), or a record kept for a desktop not reachable now: keep the
  // user's settings from the first switch, never ours, and never drop another adapter's part.
  const previous: Record<string, unknown> = isSwitchRecord(existing) ? { ...existing.previous } : {};
  for (const adapter of adapters) {
    if (!adapter.isSnapshot(previous[adapter.name])) previous[adapter.name] = await adapter.read();
  }
  await store.write({
    version: 1,
    previous,
    proxy: { host: ours.host, port: ours.port },
    ...(ours.pacUrl !== undefined ? { pacUrl: ours.pacUrl } : {}),
    owner,
    pid: process.pid,
    at: new Date().toISOString(),
  });
  try {
    for (const adapter of adapters) await adapter.apply(ours);
  } catch (err) {
    // A half-applied switch must not be left behind. Every adapter, not only those changed now:
    // on a port change the others already point at the old port, which is about to be gone.
    const failed: string[] = [];
    for (const adapter of adapters) {
      await adapter
        .restore(previous[adapter.name])
        .catch((e: unknown) => failed.push(`${adapter.name}: ${(e as Error).message}`));
    }
    if (failed.length === 0) await store.remove();
    const detail =
      failed.length > 0
        ? ` Putting back your settings failed too (${failed.join('; ')}); they stay saved in ${store.path}.`
        : '';
    const said = (err as Error).message;
    const stop = detail && !/[.!?]$/.test(said) ? '.' : '';
    throw Object.assign(err as Error, { message: `${said}${stop}${detail}` });
  }
  return adapters.map((a) => a.name);
}

/** What a switch-off did: settings put back, and settings the user had changed meanwhile (kept). */
export interface SwitchOffResult {
  restored: string[];
  leftAlone: string[];
}

/** A part of a record that was not restored: no adapter for it here, a damaged snapshot, or an error. */
interface UnrestoredPart {
  readonly name: string;
  readonly snapshot: unknown;
  readonly kind: 'unreachable' | 'damaged' | 'failed';
  readonly message?: string;
}

/**
 * Puts back each part of a record whose settings still point at us. Settings that no longer do
 * were changed by the user while Sluice had them, and theirs win over the old copy.
 */
async function restoreRecord(
  adapters: readonly SwitchableAdapter[],
  record: SwitchRecord,
): Promise<SwitchOffResult & { unrestored: UnrestoredPart[] }> {
  const ours = recordedProxy(record);
  const result = { restored: [] as string[], leftAlone: [] as string[], unrestored: [] as UnrestoredPart[] };
  for (const [name, snapshot] of Object.entries(record.previous)) {
    const adapter = adapters.find((a) => a.name === name);
    if (!adapter) {
      result.unrestored.push({ name, snapshot, kind: 'unreachable' });
      continue;
    }
    if (!adapter.isSnapshot(snapshot)) {
      result.unrestored.push({ name, snapshot, kind: 'damaged' });
      continue;
    }
    try {
      if (adapter.pointsAt(await adapter.read(), ours)) {
        await adapter.restore(snapshot, ours);
        result.restored.push(name);
      } else {
        result.leftAlone.push(name);
      }
    } catch (err) {
      result.unrestored.push({ name, snapshot, kind: 'failed', message: (err as Error).message });
    }
  }
  return result;
}

/**
 * Restores the saved settings of every adapter (where they still point at us) and removes the
 * record; null when there was none. If one restore fails the others still happen, the record stays
 * (the next start retries what still points at us) and the error names what failed.
 */
export async function switchOff(
  adapters: readonly SwitchableAdapter[],
  store: SwitchRecordStore,
): Promise<SwitchOffResult | null> {
  const record = await store.read();
  if (record === null) return null;
  if (!isSwitchRecord(record)) throw new Error(`The saved system proxy record ${store.path} is damaged.`);
  const { restored, leftAlone, unrestored } = await restoreRecord(adapters, record);
  if (unrestored.length > 0) {
    const why = unrestored.map(({ name, kind, message }) =>
      kind === 'unreachable'
        ? `${name}: its settings cannot be changed here`
        : kind === 'damaged'
          ? `${name}: the saved settings are damaged`
          : `${name}: ${message}`,
    );
    throw new Error(`Could not restore every system proxy setting (${why.join('; ')}); saved in ${store.path}.`);
  }
  await store.remove();
  return { restored, leftAlone };
}

/** Who holds a record: nobody (none, or stale), this switch, or another live Sluice. */
export type RecordOwner =
  { kind: 'none' } | { kind: 'self'; record: SwitchRecord } | { kind: 'other'; record: SwitchRecord };

/** Whether the Sluice that wrote a record still runs; see `instanceAnswers`. */
export type OwnerCheck = (holder: { proxy: HostPort; owner: string }) => Promise<boolean>;

export async function recordOwner(
  store: SwitchRecordStore,
  isOwnerAlive: OwnerCheck,
  owner = String(process.pid),
): Promise<RecordOwner> {
  const record = await store.read().catch(() => null);
  if (!isSwitchRecord(record)) return { kind: 'none' };
  if (record.owner === owner) return { kind: 'self', record };
  return (await isOwnerAlive(record)) ? { kind: 'other', record } : { kind: 'none' };
}

/**
 * On start: a leftover record whose Sluice no longer runs means it crashed with the system proxy
 * on. Restore the user's settings where they still point at the dead proxy and return a message to
 * show them; null when there was nothing to repair (no record, or its Sluice is alive).
 */
export async function recoverIfStale(
  adapters: readonly SwitchableAdapter[],
  store: SwitchRecordStore,
  isOwnerAlive: OwnerCheck,
): Promise<string | null> {
  let record: unknown;
  try {
    record = await store.read();
  } catch {
    return `The saved system proxy settings in ${store.path} could not be read; check your proxy settings.`;
  }
  if (record === null) return null;
  if (!isSwitchRecord(record)) {
    return `The saved system proxy settings in ${store.path} are damaged and were not applied; check your proxy settings.`;
  }
  if (await isOwnerAlive(record)) return null;
  const where = record.pacUrl ?? `${record.proxy.host}:${record.proxy.port}`;
  const { restored, leftAlone, unrestored } = await restoreRecord(adapters, record);
  const problems = unrestored.map(({ name, kind, message }) =>
    kind === 'unreachable'
      ? // Say, GNOME's settings from a shell without a session bus: kept for a start that can.
        `the ${name} settings cannot be changed from here, so they were not restored yet`
      : kind === 'damaged'
        ? `the saved ${name} settings are damaged and were not applied`
        : `${name}: ${message}`,
  );
  // A damaged part can never be applied; anything else may work on a later start, so only those
  // stay. Parts handled now leave the record, so a later switch-on never brings back an old copy.
  const retry = Object.fromEntries(unrestored.filter((p) => p.kind !== 'damaged').map((p) => [p.name, p.snapshot]));
  if (Object.keys(retry).length === 0) await store.remove();
  else await store.write({ ...record, previous: retry });
  const parts = [`Sluice did not shut down cleanly last time and left your system proxy pointing at ${where}.`];
  if (restored.length > 0) parts.push(`Your previous proxy settings have been restored (${restored.join(', ')}).`);
  if (leftAlone.length > 0) {
    parts.push(`Your ${leftAlone.join(', ')} proxy settings no longer point at it and were left as they are.`);
  }
  if (problems.length > 0) parts.push(`Check your proxy settings: ${problems.join('; ')}.`);
  return parts.join(' ');
}

/** Where a running Sluice answers with its switch's owner id (served by the proxy itself). */
export const INSTANCE_PATH = '/sluice-instance';

/**
 * The default owner check: does the recorded proxy answer as that very Sluice? A port taken over
 * by another program, or by this Sluice after a restart (a new owner id), is not the owner.
 */
export function instanceAnswers(
  { proxy, owner }: { proxy: HostPort; owner: string },
  timeoutMs = 1000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({
      host: proxy.host,
      port: proxy.port,
      path: INSTANCE_PATH,
      agent: false,
      timeout: timeoutMs,
      headers: { connection: 'close' },
    });
    const done = (alive: boolean): void => {
      req.destroy();
      resolve(alive);
    };
    req.once('timeout', () => done(false));
    req.once('error', () => done(false));
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 200) done(false);
      });
      res.once('end', () => done(res.statusCode === 200 && body.trim() === owner));
      res.once('error', () => done(false));
    });
    req.end();
  });
}
