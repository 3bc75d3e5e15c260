import { constants } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Settings, TimeoutSettings } from '../../app/contract.js';
import { parseStreamRules, type StreamRule } from '../../app/stream-rules.js';
import { DEFAULT_TIMEOUTS } from '../../proxy-core/index.js';
import { writeAtomic } from '../write-atomic.js';
import { errorMessage } from '../../app/error-message.js';

/**
 * Settings persisted as `<dataDir>/settings.json`.
 *
 * Decisions, so the user never loses what they wrote:
 * - A bad value costs only that value: every valid field is kept and only the invalid ones take
 *   their defaults. One typo in the port should not also throw away a pass-through list. Only a
 *   file we cannot interpret at all (not JSON, not an object, another version) uses all defaults.
 * - A file with any problem is copied aside byte for byte as `settings.json.corrupt-<time>`, then
 *   the repaired settings are written over it at once, so the next start is quiet and the kept
 *   values survive even if the user never changes a setting. Copy-then-replace (rather than a
 *   rename) means there is never a moment without a settings.json, and the copy refuses to
 *   overwrite an earlier one.
 * - A missing field is not a problem: a hand-written file may hold only what it changes, and may
 *   leave out `version` too (`{"keepCapture": true}` is read as version 1).
 * - Unknown fields (top level and inside `timeouts`) are ignored but written back untouched, so a
 *   newer Sluice sharing the data dir does not lose its settings when this one saves.
 * - A file we cannot read, or could not copy aside, is never overwritten: this run uses the
 *   settings in memory, and says that changes will not survive a restart.
 */

export const SETTINGS_FILE = 'settings.json';

export const DEFAULT_SETTINGS: Settings = deepFreeze({
  version: 1,
  proxyHost: '127.0.0.1',
  proxyPort: 8080,
  captureEnabled: true,
  keepCapture: false,
  passThroughHosts: [],
  insecureUpstream: false,
  timeouts: { ...DEFAULT_TIMEOUTS },
  rules: [],
});

/** What `update` accepts: any subset of the user-editable fields. */
export type SettingsPatch = Partial<Omit<Settings, 'version' | 'timeouts'>> & { timeouts?: Partial<TimeoutSettings> };

/** An update that would store an invalid value; nothing was changed or written. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Largest delay Node's timers honour; a bigger one silently fires after 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const TIMEOUT_KEYS = Object.keys(DEFAULT_TIMEOUTS) as (keyof TimeoutSettings)[];
const PATCH_KEYS = [
  'proxyHost',
  'proxyPort',
  'captureEnabled',
  'keepCapture',
  'passThroughHosts',
  'insecureUpstream',
  'timeouts',
  'rules',
];
const SETTINGS_KEYS = ['version', ...PATCH_KEYS];

type Json = Record<string, unknown>;

/**
 * Checks any value against the Settings shape. Invalid fields take their defaults and each is
 * named in `problems`; missing fields take their defaults silently.
 */
export function validateSettings(value: unknown): { settings: Settings; problems: string[] } {
  if (!isObject(value)) {
    return { settings: DEFAULT_SETTINGS, problems: [`the file holds ${describeValue(value)}, not an object`] };
  }
  // A hand-written file may leave the version out like any other field: there has only been 1.
  if ('version' in value && value['version'] !== 1) {
    return {
      settings: DEFAULT_SETTINGS,
      problems: [
        `version is ${describeValue(value['version'])}, but this Sluice reads version 1, so every setting uses its default`,
      ],
    };
  }
  const problems: string[] = [];
  const field = <T>(key: keyof Settings, check: (v: unknown) => v is T, expected: string): T => {
    const fallback = DEFAULT_SETTINGS[key] as T;
    if (!(key in value)) return fallback;
    const found = value[key];
    if (check(found)) return found;
    problems.push(`${key} is ${describeValue(found)} (expected ${expected})`);
    return fallback;
  };
  const settings: Settings = {
    version: 1,
    proxyHost: field('proxyHost', isNonEmptyString, 'a non-empty address'),
    proxyPort: field('proxyPort', isPort, 'an integer from 0 to 65535'),
    captureEnabled: field('captureEnabled', isBoolean, 'true or false'),
    keepCapture: field('keepCapture', isBoolean, 'true or false'),
    passThroughHosts: validateHosts(value['passThroughHosts'], problems),
    insecureUpstream: field('insecureUpstream', isBoolean, 'true or false'),
    timeouts: validateTimeouts(value['timeouts'], problems),
    rules: validateRules(value['rules'], problems),
  };
  return { settings: deepFreeze(settings), problems };
}

/** Keeps the good entries of a pass-through list; one bad entry should not cost the rest. */
function validateHosts(value: unknown, problems: string[]): readonly string[] {
  if (value === undefined) return DEFAULT_SETTINGS.passThroughHosts;
  if (!Array.isArray(value)) {
    problems.push(`passThroughHosts is ${describeValue(value)} (expected a list of host names)`);
    return DEFAULT_SETTINGS.passThroughHosts;
  }
  return value.filter((host, i) => {
    if (isNonEmptyString(host)) return true;
    problems.push(`passThroughHosts[${i}] is ${describeValue(host)} (expected a non-empty host name)`);
    return false;
  });
}

/** Keeps the good rules: one rule with an error should not cost the others. */
function validateRules(value: unknown, problems: string[]): readonly StreamRule[] {
  if (value === undefined) return DEFAULT_SETTINGS.rules;
  if (!Array.isArray(value)) {
    problems.push(`rules is ${describeValue(value)} (expected a list of stream rules)`);
    return DEFAULT_SETTINGS.rules;
  }
  const kept: StreamRule[] = [];
  value.forEach((rule, i) => {
    try {
      const [parsed] = parseStreamRules({ rules: [rule] });
      if (kept.some((k) => k.name === parsed!.name)) {
        problems.push(`rules[${i}].name: "${parsed!.name}" is taken by an earlier rule`);
        return;
      }
      kept.push(parsed!);
    } catch (err) {
      problems.push(errorMessage(err).replace(/^rules\[0\]/, `rules[${i}]`));
    }
  });
  return kept;
}

function validateTimeouts(value: unknown, problems: string[]): TimeoutSettings {
  if (value === undefined) return DEFAULT_SETTINGS.timeouts;
  if (!isObject(value)) {
    problems.push(`timeouts is ${describeValue(value)} (expected an object of millisecond values)`);
    return DEFAULT_SETTINGS.timeouts;
  }
  const timeouts = { ...DEFAULT_SETTINGS.timeouts };
  for (const key of TIMEOUT_KEYS) {
    if (!(key in value)) continue;
    const ms = value[key];
    if (isTimeoutMs(ms)) timeouts[key] = ms;
    else
      problems.push(
        `timeouts.${key} is ${describeValue(ms)} (expected whole milliseconds from 1 to ${MAX_TIMEOUT_MS})`,
      );
  }
  return timeouts;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const isTimeoutMs = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TIMEOUT_MS;

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

export class SettingsStore {
  private current: Settings;
  /** Unknown fields from the file, written back so a newer Sluice's settings survive our saves. */
  private readonly extras: { top: Json; timeouts: Json };
  /** Serializes writes: the last update is the one on disk. */
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    settings: Settings,
    extras: { top: Json; timeouts: Json },
    /** Why saving would destroy a file we could not read or keep a copy of; set means never save. */
    private readonly saveBlocked?: string,
  ) {
    this.current = settings;
    this.extras = extras;
  }

  /** Loads settings, repairing a bad file. Never throws for file trouble: it is in `notices`. */
  static async open(dataDir: string): Promise<{ store: SettingsStore; notices: string[] }> {
    const path = join(dataDir, SETTINGS_FILE);
    const read = await readSettingsText(path);
    if (read.kind === 'missing') return { store: new SettingsStore(path, DEFAULT_SETTINGS, noExtras()), notices: [] };
    if (read.kind === 'unreadable') {
      const why = `Sluice could not read ${path} (${read.reason})`;
      const notice = `${why}; using default settings for this run. The file is left as it is, and changes will not be saved over it.`;
      return { store: new SettingsStore(path, DEFAULT_SETTINGS, noExtras(), why), notices: [notice] };
    }
    const parsed = parseJson(read.text);
    if (!parsed.ok) {
      const what = `${path} was not valid JSON (${parsed.error}); using default settings`;
      return SettingsStore.repair(path, DEFAULT_SETTINGS, noExtras(), what);
    }
    const { settings, problems } = validateSettings(parsed.value);
    const extras = extrasOf(parsed.value);
    if (problems.length === 0) return { store: new SettingsStore(path, settings, extras), notices: [] };
    const what = `${path} had problems: ${problems.join('; ')}. Those settings use their defaults`;
    return SettingsStore.repair(path, settings, extras, what);
  }

  /** Keeps the bad file aside, then writes the repaired settings so the next start is quiet. */
  private static async repair(
    path: string,
    settings: Settings,
    extras: { top: Json; timeouts: Json },
    what: string,
  ): Promise<{ store: SettingsStore; notices: string[] }> {
    let aside: string;
    try {
      aside = await copyAside(path);
    } catch (err) {
      const why = `Sluice could not keep a copy of the bad ${path} (${errorMessage(err)})`;
      const notice = `${what}. ${why}, so the file is left as it is and changes will not be saved over it.`;
      return { store: new SettingsStore(path, settings, extras, why), notices: [notice] };
    }
    const store = new SettingsStore(path, settings, extras);
    const saveFailure = await store.save(settings);
    const saved = saveFailure === undefined ? '' : ` Writing the repaired settings failed (${saveFailure}).`;
    return { store, notices: [`${what}. The original file is kept as ${aside}.${saved}`] };
  }

  /** The current settings; frozen, so callers cannot change them behind the store's back. */
  get(): Settings {
    return this.current;
  }

  /**
   * Applies `patch`, or throws SettingsError naming every bad field and changes nothing. A
   * failed write keeps the new settings for this run and says so in `notice`.
   */
  async update(patch: SettingsPatch): Promise<{ settings: Settings; notice?: string }> {
    const settings = this.merge(patch);
    this.current = settings;
    if (this.saveBlocked !== undefined) {
      return { settings, notice: `Settings changed for this run only: ${this.saveBlocked}.` };
    }
    const failure = await this.save(settings);
    if (failure === undefined) return { settings };
    return {
      settings,
      notice: `Settings changed, but saving ${this.path} failed (${failure}); they will not survive a restart.`,
    };
  }

  private merge(patch: SettingsPatch): Settings {
    // Patches arrive over IPC from renderers, so the static type is a hope, not a guarantee.
    const raw: unknown = patch;
    if (!isObject(raw)) throw new SettingsError(`a settings update must be an object, not ${describeValue(raw)}`);
    const rawTimeouts = raw['timeouts'] ?? {};
    if (!isObject(rawTimeouts)) {
      throw new SettingsError(`timeouts is ${describeValue(rawTimeouts)} (expected an object of millisecond values)`);
    }
    // A misspelt key would otherwise be a silent no-op.
    const unknown = [...unknownKeys(raw, PATCH_KEYS, ''), ...unknownKeys(rawTimeouts, TIMEOUT_KEYS, 'timeouts.')];
    if (unknown.length > 0) throw new SettingsError(`unknown setting: ${unknown.join(', ')}`);

    const merged = {
      ...this.current,
      ...withoutUndefined(raw),
      timeouts: { ...this.current.timeouts, ...withoutUndefined(rawTimeouts) },
    };
    const { settings, problems } = validateSettings(merged);
    if (problems.length > 0) throw new SettingsError(`invalid settings: ${problems.join('; ')}`);
    return settings;
  }

  /** Queues a write of `settings`; resolves to why it failed, or undefined when it worked. */
  private save(settings: Settings): Promise<string | undefined> {
    const text = `${JSON.stringify(this.withExtras(settings), null, 2)}\n`;
    const write = this.writes.then(async () => {
      try {
        await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
        await writeAtomic(this.path, text, 0o600);
        return undefined;
      } catch (err) {
        return errorMessage(err);
      }
    });
    this.writes = write;
    return write;
  }

  private withExtras(settings: Settings): Json {
    return { ...this.extras.top, ...settings, timeouts: { ...this.extras.timeouts, ...settings.timeouts } };
  }
}

type ReadResult = { kind: 'missing' } | { kind: 'unreadable'; reason: string } | { kind: 'text'; text: string };

async function readSettingsText(path: string): Promise<ReadResult> {
  try {
    return { kind: 'text', text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: part of the data dir path is a file, so there is no settings file either; saving
    // will fail later and say so.
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'unreadable', reason: errorMessage(err) };
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    // Some Windows editors save UTF-8 with a byte-order mark, which JSON.parse rejects.
    return { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, '')) };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

/** Unknown fields of a file we understood; those of another version went aside with the file. */
function extrasOf(value: unknown): { top: Json; timeouts: Json } {
  if (!isObject(value) || value['version'] !== 1) return noExtras();
  return { top: pickUnknown(value, SETTINGS_KEYS), timeouts: pickUnknown(value['timeouts'], TIMEOUT_KEYS) };
}

function unknownKeys(value: Json, known: readonly string[], prefix: string): string[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => prefix + k);
}

function noExtras(): { top: Json; timeouts: Json } {
  return { top: {}, timeouts: {} };
}

function pickUnknown(value: unknown, known: readonly string[]): Json {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([k]) => !known.includes(k)));
}

/** `{ a: undefined }` in a patch means "leave a alone", not "reset a". */
function withoutUndefined(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** Copies the file byte for byte to a new `.corrupt-<time>` name; never overwrites an old copy. */
async function copyAside(path: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/:/g, '-');
  for (let n = 1; ; n++) {
    const aside = `${path}.corrupt-${stamp}${n === 1 ? '' : `-${n}`}`;
    try {
      await copyFile(path, aside, constants.COPYFILE_EXCL);
      return aside;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 100) throw err;
    }
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(value);
}
