import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { notRunningReason, runningDesktops } from './desktop-session.js';
import { execCommand } from './run-command.js';
import { formatValue, parseBoolean, parseInt32, parseString, parseStringArray, type GValue } from './gsettings.js';
import {
  LOOPBACK_BYPASS,
  type Availability,
  type GnomeProxyMode,
  type GnomeProxySnapshot,
  type OurProxy,
  SystemProxyError,
  type SystemProxyAdapter,
} from './types.js';

/** Runs `gsettings` with the given arguments and resolves with its stdout; rejects on failure. */
export type GsettingsRunner = (args: string[]) => Promise<string>;

const SCHEMA = 'org.gnome.system.proxy';

/** The real `gsettings`, no shell, with a timeout so a hung bus cannot hang Sluice. */
export function execGsettings(env: NodeJS.ProcessEnv = process.env, file = 'gsettings'): GsettingsRunner {
  const run = execCommand(env);
  return (args) => run(file, args);
}

type Kind = 'string' | 'strings' | 'int' | 'bool';

/** One gsettings key and where it lives in the snapshot; the table drives read, apply and restore. */
interface Field {
  schema: string;
  key: string;
  kind: Kind;
  get(s: GnomeProxySnapshot): GValue;
  set(s: GnomeProxySnapshot, v: GValue): void;
}

function field<K extends Kind>(
  child: string,
  key: string,
  kind: K,
  get: (s: GnomeProxySnapshot) => GValue,
  set: (s: GnomeProxySnapshot, v: never) => void,
): Field {
  return { schema: child ? `${SCHEMA}.${child}` : SCHEMA, key, kind, get, set: set as Field['set'] };
}

function hostPortFields(child: 'http' | 'https' | 'ftp' | 'socks'): Field[] {
  return [
    field(
      child,
      'host',
      'string',
      (s) => s[child].host,
      (s, v: string) => (s[child].host = v),
    ),
    field(
      child,
      'port',
      'int',
      (s) => s[child].port,
      (s, v: number) => (s[child].port = v),
    ),
  ];
}

// `mode` comes last so that on apply and restore other programs never see a mode whose hosts are
// not written yet.
const FIELDS: Field[] = [
  field(
    '',
    'autoconfig-url',
    'string',
    (s) => s.autoconfigUrl,
    (s, v: string) => (s.autoconfigUrl = v),
  ),
  field(
    '',
    'ignore-hosts',
    'strings',
    (s) => s.ignoreHosts,
    (s, v: string[]) => (s.ignoreHosts = v),
  ),
  field(
    '',
    'use-same-proxy',
    'bool',
    (s) => s.useSameProxy,
    (s, v: boolean) => (s.useSameProxy = v),
  ),
  ...hostPortFields('http'),
  field(
    'http',
    'enabled',
    'bool',
    (s) => s.http.enabled,
    (s, v: boolean) => (s.http.enabled = v),
  ),
  field(
    'http',
    'use-authentication',
    'bool',
    (s) => s.http.useAuthentication,
    (s, v: boolean) => (s.http.useAuthentication = v),
  ),
  field(
    'http',
    'authentication-user',
    'string',
    (s) => s.http.authenticationUser,
    (s, v: string) => (s.http.authenticationUser = v),
  ),
  field(
    'http',
    'authentication-password',
    'string',
    (s) => s.http.authenticationPassword,
    (s, v: string) => (s.http.authenticationPassword = v),
  ),
  ...hostPortFields('https'),
  ...hostPortFields('ftp'),
  ...hostPortFields('socks'),
  field(
    '',
    'mode',
    'string',
    (s) => s.mode,
    (s, v: string) => (s.mode = v as GnomeProxyMode),
  ),
];

function parseAs(kind: Kind, text: string): GValue {
  switch (kind) {
    case 'string':
      return parseString(text);
    case 'strings':
      return parseStringArray(text);
    case 'int':
      return parseInt32(text);
    case 'bool':
      return parseBoolean(text);
  }
}

function sameValue(a: GValue, b: GValue): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b;
}

function emptySnapshot(): GnomeProxySnapshot {
  const hp = () => ({ host: '', port: 0 });
  return {
    mode: 'none',
    autoconfigUrl: '',
    ignoreHosts: [],
    useSameProxy: true,
    http: { ...hp(), enabled: false, useAuthentication: false, authenticationUser: '', authenticationPassword: '' },
    https: hp(),
    ftp: hp(),
    socks: hp(),
  };
}

export function cloneSnapshot(s: GnomeProxySnapshot): GnomeProxySnapshot {
  return structuredClone(s);
}

/** Shape check for a snapshot read back from disk (a crash record), so a damaged file is refused. */
export function isGnomeSnapshot(x: unknown): x is GnomeProxySnapshot {
  if (typeof x !== 'object' || x === null) return false;
  const probe = emptySnapshot();
  return (
    FIELDS.every((f) => {
      let v: unknown;
      try {
        v = f.get(x as GnomeProxySnapshot);
      } catch {
        return false;
      }
      const want = f.get(probe);
      if (Array.isArray(want)) return Array.isArray(v) && v.every((i) => typeof i === 'string');
      return typeof v === typeof want && (f.kind !== 'int' || Number.isInteger(v));
    }) && ['none', 'manual', 'auto'].includes((x as GnomeProxySnapshot).mode)
  );
}

export interface GnomeAdapterOptions {
  run?: GsettingsRunner;
  /** Used to find the desktop session and its bus; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Linux GNOME: the proxy settings in `org.gnome.system.proxy`, read and written with gsettings. */
export class GnomeProxyAdapter implements SystemProxyAdapter<GnomeProxySnapshot> {
  readonly name = 'GNOME';
  readonly isSnapshot = isGnomeSnapshot;
  private readonly run: GsettingsRunner;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: GnomeAdapterOptions = {}) {
    this.env = options.env ?? process.env;
    this.run = options.run ?? execGsettings(this.env);
  }

  /** Whether this environment can work, and if not, why, in words a user can act on. */
  async available(): Promise<Availability> {
    if (!runningDesktops(this.env).gnome) return { ok: false, reason: notRunningReason(this.env) };
    try {
      await this.run(['--version']);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return { ok: false, reason: 'The gsettings command is not installed (Debian/Ubuntu: libglib2.0-bin).' };
      }
      return { ok: false, reason: `The gsettings command does not run: ${(err as Error).message}` };
    }
    try {
      await this.run(['list-keys', SCHEMA]);
    } catch {
      return {
        ok: false,
        reason: `The GNOME proxy settings schema ${SCHEMA} is not installed (Debian/Ubuntu: gsettings-desktop-schemas).`,
      };
    }
    // Without a session bus gsettings "succeeds" but nothing is saved, so check before trying.
    const runtimeDir = this.env['XDG_RUNTIME_DIR'];
    const hasBus =
      Boolean(this.env['DBUS_SESSION_BUS_ADDRESS']) || (!!runtimeDir && existsSync(join(runtimeDir, 'bus')));
    if (!hasBus) {
      return {
        ok: false,
        reason: 'There is no D-Bus session bus, so GNOME proxy settings cannot be changed (not in a desktop session?).',
      };
    }
    return { ok: true };
  }

  /** Every proxy key, in one gsettings call. */
  async read(): Promise<GnomeProxySnapshot> {
    const out = await this.gsettings(['list-recursively', SCHEMA], 'read the GNOME proxy settings');
    const raw = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^(\S+) (\S+) (.*)$/.exec(line);
      if (m) raw.set(`${m[1]} ${m[2]}`, m[3]!);
    }
    const snapshot = emptySnapshot();
    for (const f of FIELDS) {
      const text = raw.get(`${f.schema} ${f.key}`);
      if (text === undefined) throw new SystemProxyError(`gsettings did not list ${f.schema} ${f.key}.`);
      f.set(snapshot, parseAs(f.kind, text));
    }
    return snapshot;
  }

  /**
   * Points http and https at our proxy (or, in PAC mode, the system at our script); the user's
   * bypass list is kept and loopback added.
   */
  async apply(ours: OurProxy): Promise<void> {
    const current = await this.read();
    const target = cloneSnapshot(current);
    const bypass = [...LOOPBACK_BYPASS, ...(ours.bypass ?? []), ...current.ignoreHosts];
    target.ignoreHosts = [...new Set(bypass)];
    if (ours.pacUrl !== undefined) {
      target.autoconfigUrl = ours.pacUrl;
      target.mode = 'auto';
    } else {
      target.useSameProxy = true;
      target.http = { ...target.http, host: ours.host, port: ours.port, enabled: true, useAuthentication: false };
      target.https = { host: ours.host, port: ours.port };
      // Another manual proxy for ftp or socks would catch schemes we do not set (ws:, ftp:); clear them.
      target.ftp = { host: '', port: 0 };
      target.socks = { host: '', port: 0 };
      target.mode = 'manual';
    }
    await this.writeAll(target, current, 'apply the system proxy');
  }

  /** Writes back exactly the snapshot, every key. */
  async restore(snapshot: GnomeProxySnapshot): Promise<void> {
    await this.writeAll(snapshot, await this.read(), 'restore the previous system proxy');
  }

  /** Whether the current settings still send http and https to us (or use our PAC script). */
  pointsAt(s: GnomeProxySnapshot, ours: OurProxy): boolean {
    if (ours.pacUrl !== undefined) return s.mode === 'auto' && s.autoconfigUrl === ours.pacUrl;
    return (
      s.mode === 'manual' &&
      s.http.host === ours.host &&
      s.http.port === ours.port &&
      s.https.host === ours.host &&
      s.https.port === ours.port
    );
  }

  private async writeAll(target: GnomeProxySnapshot, current: GnomeProxySnapshot, what: string): Promise<void> {
    for (const f of FIELDS) {
      const value = f.get(target);
      // Only changed keys: fewer bus round trips and change signals to every GNOME app.
      if (sameValue(value, f.get(current))) continue;
      await this.gsettings(['set', f.schema, f.key, formatValue(value)], what);
    }
    // gsettings exits 0 even when dconf could not save (no bus, memory backend), so read back.
    const after = await this.read();
    const wrong = FIELDS.filter((f) => !sameValue(f.get(after), f.get(target)));
    if (wrong.length > 0) {
      throw new SystemProxyError(
        `Could not ${what}: ${wrong.map((f) => `${f.schema} ${f.key}`).join(', ')} did not keep the new value ` +
          '(is the dconf GSettings backend installed and a session bus running?).',
      );
    }
  }

  private async gsettings(args: string[], what: string): Promise<string> {
    try {
      return await this.run(args);
    } catch (err) {
      throw new SystemProxyError(`Could not ${what}: gsettings ${args[0]} failed: ${(err as Error).message}`);
    }
  }
}
