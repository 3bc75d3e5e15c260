import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { notRunningReason, runningDesktops } from './desktop-session.js';
import { execCommand } from './run-command.js';
import {
  LOOPBACK_BYPASS,
  type Availability,
  type CommandRunner,
  type OurProxy,
  type SystemProxyAdapter,
  SystemProxyError,
  warnOnConsole,
} from './types.js';

/**
 * The `[Proxy Settings]` keys of `kioslaverc` that decide where KDE programs (KIO), and Chromium and
 * libproxy reading the same file, send their traffic.
 */
export const KDE_PROXY_KEYS = [
  'ProxyType',
  'httpProxy',
  'httpsProxy',
  'ftpProxy',
  'socksProxy',
  'NoProxyFor',
  'Proxy Config Script',
  'ReversedException',
] as const;

export type KdeProxyKey = (typeof KDE_PROXY_KEYS)[number];

/**
 * Every proxy key as kioslaverc holds it, raw; `null` when the key is absent. Absent and empty are
 * kept apart because restore must delete a key the user never had rather than leave `key=` behind.
 * ProxyType: 0 none, 1 manual, 2 PAC URL, 3 WPAD, 4 environment variables (whose names the host keys
 * then hold).
 */
export type KdeProxySnapshot = Record<KdeProxyKey, string | null>;

const GROUP = 'Proxy Settings';
// `--file` with a bare name: KConfig then finds it under XDG_CONFIG_HOME like KDE itself does.
const FILE = 'kioslaverc';
/**
 * kreadconfig prints an empty line both for an absent key and for `key=`; with `--default` it
 * prints this for an absent key only (checked against kreadconfig5 5.103).
 */
const ABSENT = '__sluice_absent_key__';
const MANUAL = '1';
const PAC = '2';

/**
 * Which keys each ProxyType reads; the others are dead while it is in force. KIO checks the
 * bypass list before asking any proxy source, so every type but none reads it.
 */
function keysReadBy(proxyType: string | null): readonly KdeProxyKey[] {
  switch (proxyType?.trim()) {
    case '1':
    case '4':
      return ['httpProxy', 'httpsProxy', 'ftpProxy', 'socksProxy', 'NoProxyFor', 'ReversedException'];
    case '2':
      return ['Proxy Config Script', 'NoProxyFor', 'ReversedException'];
    case '3':
      return ['NoProxyFor', 'ReversedException'];
    default:
      return [];
  }
}

/**
 * The order to write changed keys in: those the new ProxyType reads, then ProxyType, then the rest.
 * So no program ever sees the new type with old hosts (type 1 with someone else's proxy), and keys
 * the new type ignores change only once they are dead.
 */
function writeOrder(proxyType: string | null): KdeProxyKey[] {
  const before = keysReadBy(proxyType);
  const after = KDE_PROXY_KEYS.filter((k) => k !== 'ProxyType' && !before.includes(k));
  return [...before, 'ProxyType', ...after];
}

/** KConfig's reading of a bool: true, on, yes or a nonzero number. */
function isTrue(value: string | null): boolean {
  if (value === null) return false;
  const v = value.trim().toLowerCase();
  return v === 'true' || v === 'on' || v === 'yes' || (/^-?\d+$/.test(v) && Number(v) !== 0);
}

/** KIO's own manual-proxy form (its settings page writes it so in Plasma 5 and 6): `http://host port`. */
export function kdeProxyValue(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host} ${port}`;
}

/** Host and port of a proxy value in either form KIO reads: `http://host port` or `http://host:port`. */
export function parseKdeProxy(value: string | null): { host: string; port: number } | null {
  if (!value?.trim()) return null;
  let text = value.trim();
  let port: number | undefined;
  const spaced = /^(.*\S)\s+(\d+)$/.exec(text);
  if (spaced) {
    text = spaced[1]!;
    port = Number(spaced[2]);
  }
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    return null;
  }
  if (!url.hostname) return null;
  // The URL class drops a port equal to the scheme's default.
  port ??= url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase(), port };
}

function bypassEntries(value: string | null): string[] {
  // KIO splits NoProxyFor on commas and whitespace.
  return (value ?? '').split(/[,\s]+/).filter(Boolean);
}

/**
 * What apply writes: ours for http and https (or our PAC URL), the user's bypass list plus loopback
 * and the extra hosts, everything else as it was. `env` resolves NoProxyFor in environment mode.
 */
export function kdeTarget(current: KdeProxySnapshot, ours: OurProxy, env: NodeJS.ProcessEnv): KdeProxySnapshot {
  const target = { ...current };
  let userBypass: string[] = [];
  // Reversed, the list names the hosts that do use the proxy: bypassing them would invert the user's intent.
  if (!isTrue(current.ReversedException)) {
    // In environment mode (4) NoProxyFor holds the name of a variable, which KIO reads instead.
    const own = current.ProxyType?.trim() === '4' ? (env[current.NoProxyFor?.trim() ?? ''] ?? '') : current.NoProxyFor;
    userBypass = bypassEntries(own);
  }
  target.NoProxyFor = [...new Set([...userBypass, ...LOOPBACK_BYPASS, ...(ours.bypass ?? [])])].join(',');
  if (isTrue(current.ReversedException)) target.ReversedException = 'false';
  if (ours.pacUrl !== undefined) {
    target['Proxy Config Script'] = ours.pacUrl;
    target.ProxyType = PAC;
    return target;
  }
  const proxy = kdeProxyValue(ours.host, ours.port);
  target.httpProxy = proxy;
  target.httpsProxy = proxy;
  // Another proxy for ftp or socks would catch what we do not set (ftp:, and every scheme via socks).
  if (current.ftpProxy) target.ftpProxy = '';
  if (current.socksProxy) target.socksProxy = '';
  target.ProxyType = MANUAL;
  return target;
}

/** Shape check for a snapshot read back from disk (a crash record), so a damaged file is refused. */
export function isKdeSnapshot(x: unknown): x is KdeProxySnapshot {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return (
    keys.length === KDE_PROXY_KEYS.length &&
    KDE_PROXY_KEYS.every((k) => {
      const v = (x as Record<string, unknown>)[k];
      return Object.hasOwn(x, k) && (v === null || typeof v === 'string');
    })
  );
}

type Generation = 6 | 5;

export interface KdeAdapterOptions {
  run?: CommandRunner;
  /** The desktop session, where the tools are found (PATH) and XDG_CONFIG_HOME; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Told when the settings were saved but running KDE programs could not be told to re-read them. */
  warn?: (message: string) => void;
}

function errorCode(err: unknown): unknown {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The tool's own last words: execFile's message also repeats the whole command line. */
function toolSaid(err: unknown): string {
  const lines = String((err as Error | null)?.message ?? err)
    .split('\n')
    .map((line) => line.replace(/^: /, '').trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'it failed';
}

/**
 * Linux KDE Plasma: the proxy settings in kioslaverc, read and written with kreadconfig/kwriteconfig
 * (6 for Plasma 6, else 5), then running KIO programs told to re-read them over D-Bus.
 */
export class KdeProxyAdapter implements SystemProxyAdapter<KdeProxySnapshot> {
  readonly name = 'KDE';
  readonly isSnapshot = isKdeSnapshot;
  private readonly run: CommandRunner;
  private readonly env: NodeJS.ProcessEnv;
  private readonly warn: (message: string) => void;
  private generation: Generation | undefined;

  constructor(options: KdeAdapterOptions = {}) {
    this.env = options.env ?? process.env;
    this.run = options.run ?? execCommand(this.env);
    this.warn = options.warn ?? warnOnConsole;
  }

  /** Only in a Plasma session, and with KConfig's tools (Plasma 6's or 5's). */
  async available(): Promise<Availability> {
    if (!runningDesktops(this.env).kde) return { ok: false, reason: notRunningReason(this.env) };
    try {
      await this.tools();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /** Every proxy key, absent ones as null. */
  async read(): Promise<KdeProxySnapshot> {
    return this.readKeys(KDE_PROXY_KEYS, 'read the KDE proxy settings');
  }

  async apply(ours: OurProxy): Promise<void> {
    const current = await this.read();
    await this.writeAll(kdeTarget(current, ours, this.env), current, 'apply the KDE system proxy');
  }

  /** Writes back exactly the snapshot: changed keys rewritten, keys it lacks deleted. */
  async restore(previous: KdeProxySnapshot): Promise<void> {
    await this.writeAll(previous, await this.read(), 'restore the previous KDE proxy settings');
    await this.removeIfEmpty();
  }

  /**
   * KConfig keeps an empty kioslaverc once its last key is deleted, so a user who had none would
   * find one Sluice made. To KConfig an empty file and none mean the same, so it goes.
   */
  private async removeIfEmpty(): Promise<void> {
    const home = this.env['HOME'] || homedir();
    const file = join(this.env['XDG_CONFIG_HOME'] || join(home, '.config'), FILE);
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text !== null && text.trim() === '') await rm(file, { force: true });
  }

  /** Whether these settings still send http and https to us (or use our PAC URL). */
  pointsAt(current: KdeProxySnapshot, ours: OurProxy): boolean {
    if (ours.pacUrl !== undefined) {
      return current.ProxyType?.trim() === PAC && current['Proxy Config Script'] === ours.pacUrl;
    }
    const host = ours.host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const names = (v: string | null) => {
      const p = parseKdeProxy(v);
      return p !== null && p.host === host && p.port === ours.port;
    };
    return current.ProxyType?.trim() === MANUAL && names(current.httpProxy) && names(current.httpsProxy);
  }

  private async writeAll(target: KdeProxySnapshot, current: KdeProxySnapshot, what: string): Promise<void> {
    const { write } = await this.toolsFor(what);
    // Only changed keys: each write is a process and a file rewrite that KDE programs may notice.
    const changed = writeOrder(target.ProxyType).filter((k) => target[k] !== current[k]);
    for (const key of changed) {
      const value = target[key];
      const args = ['--file', FILE, '--group', GROUP, '--key', key];
      // `--` so a value starting with '-' is not taken for an option.
      await this.command(write, value === null ? [...args, '--delete'] : [...args, '--', value], what, key);
    }
    // kwriteconfig exits 0 even when KConfig could not save the file, so read back what was written.
    const after = await this.readKeys(changed, what);
    const lost = changed.filter((k) => after[k] !== target[k]);
    if (lost.length > 0) {
      throw new SystemProxyError(
        `Could not ${what}: kioslaverc did not keep ${lost.join(', ')} ` +
          '(is ~/.config/kioslaverc writable, and not locked by the administrator?).',
      );
    }
    await this.notifyKio();
  }

  /**
   * Asks running KIO programs to re-read kioslaverc; KIO still listens for this name in Plasma 6
   * (KF6 renamed slaves to workers but not the signal). A failure is a warning, not an error: the
   * settings are saved and verified, new programs use them (as do libproxy and Chromium, which watch
   * the file), and throwing would make the switch undo a correct change. KDE's own settings page
   * likewise only tells the user to restart running programs.
   */
  private async notifyKio(): Promise<void> {
    const args = [
      '--session',
      '--type=signal',
      '/KIO/Scheduler',
      'org.kde.KIO.Scheduler.reparseSlaveConfiguration',
      'string:',
    ];
    try {
      await this.run('dbus-send', args);
    } catch (err) {
      const why = errorCode(err) === 'ENOENT' ? 'dbus-send is not installed' : `dbus-send: ${toolSaid(err)}`;
      this.warn(
        `KDE proxy settings were saved, but running KDE programs could not be told (${why}); ` +
          'restart them for the change to take effect.',
      );
    }
  }

  private async readKeys<K extends KdeProxyKey>(keys: readonly K[], what: string): Promise<Pick<KdeProxySnapshot, K>> {
    const { read } = await this.toolsFor(what);
    const out = {} as Pick<KdeProxySnapshot, K>;
    // One after another: a handful of short processes, and a call order that tests can assert.
    for (const key of keys) {
      const text = await this.command(
        read,
        ['--file', FILE, '--group', GROUP, '--key', key, '--default', ABSENT],
        what,
        key,
      );
      // kreadconfig adds one newline; a value may itself hold newlines.
      const value = text.endsWith('\n') ? text.slice(0, -1) : text;
      out[key] = value === ABSENT ? null : value;
    }
    return out;
  }

  private async command(file: string, args: string[], what: string, key: string): Promise<string> {
    try {
      return await this.run(file, args);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') {
        throw new SystemProxyError(
          `Could not ${what}: ${file} is not installed, though kwriteconfig is (KDE ships both in KConfig).`,
        );
      }
      // kwriteconfig's only own failure: the key is immutable (Kiosk) or the file is read-only.
      if (errorCode(err) === 2 && file.startsWith('kwriteconfig')) {
        throw new SystemProxyError(
          `Could not ${what}: ${key} in kioslaverc is locked by the administrator or the file is not writable.`,
        );
      }
      throw new SystemProxyError(`Could not ${what}: ${file} failed on ${key}: ${toolSaid(err)}`);
    }
  }

  private async toolsFor(what: string): Promise<{ read: string; write: string }> {
    try {
      return await this.tools();
    } catch (err) {
      throw new SystemProxyError(`Could not ${what}: ${(err as Error).message}`);
    }
  }

  /** Plasma 6's tools when present, else Plasma 5's; found once, then kept. */
  private async tools(): Promise<{ read: string; write: string }> {
    if (this.generation === undefined) {
      const problems: string[] = [];
      for (const generation of [6, 5] as const) {
        try {
          await this.run(`kwriteconfig${generation}`, ['--help']);
          this.generation = generation;
          break;
        } catch (err) {
          if (errorCode(err) !== 'ENOENT') problems.push(`kwriteconfig${generation} does not run: ${toolSaid(err)}`);
        }
      }
      if (this.generation === undefined) {
        throw new Error(
          problems.length > 0
            ? problems.join('; ')
            : "KDE's kwriteconfig6/kwriteconfig5 is not installed (no KDE Plasma here?).",
        );
      }
    }
    return { read: `kreadconfig${this.generation}`, write: `kwriteconfig${this.generation}` };
  }
}
