import { execCommand } from './run-command.js';
import {
  LOOPBACK_BYPASS,
  type Availability,
  type CommandRunner,
  type OurProxy,
  type SystemProxyAdapter,
  SystemProxyError,
} from './types.js';
import { errorMessage } from '../../app/error-message.js';

/**
 * macOS keeps proxy settings per network service (Wi-Fi, Ethernet, ...), and the system uses the
 * settings of whichever service is active, so every enabled service is read, pointed at us and put
 * back. Everything `networksetup` shows is kept, so a restore writes back the user's PAC URL, their
 * own manual proxies and their bypass list, not merely "proxy off".
 */

/** One manual proxy kind as `networksetup -getwebproxy` (and its siblings) shows it. */
export interface MacManualProxy {
  enabled: boolean;
  server: string;
  port: number;
  /**
   * "Authenticated Proxy Enabled". The password lives in the keychain and networksetup can neither
   * read it nor take it without also being given it, so this is kept for information only.
   */
  authenticated: boolean;
}

/** The proxy auto-config (PAC) URL; `url` is null when none was ever set ("URL: (null)"). */
export interface MacAutoProxy {
  url: string | null;
  enabled: boolean;
}

export interface MacServiceProxy {
  /** The network service's name as networksetup lists it ("Wi-Fi"). */
  name: string;
  web: MacManualProxy;
  secureWeb: MacManualProxy;
  socks: MacManualProxy;
  autoProxy: MacAutoProxy;
  /** "Auto Proxy Discovery" (WPAD). */
  autoDiscovery: boolean;
  bypassDomains: string[];
}

/** Every enabled network service's proxy settings, in networksetup's order. */
export interface MacProxySnapshot {
  services: MacServiceProxy[];
}

type ManualKind = 'web' | 'secureWeb' | 'socks';

/** networksetup's name for each kind (`-get<flag>`, `-set<flag>`, `-set<flag>state`). */
const MANUAL: Record<ManualKind, { flag: string; label: string }> = {
  web: { flag: 'webproxy', label: 'web proxy' },
  secureWeb: { flag: 'securewebproxy', label: 'secure web proxy' },
  socks: { flag: 'socksfirewallproxy', label: 'SOCKS proxy' },
};
const MANUAL_KINDS = Object.keys(MANUAL) as ManualKind[];

/** Each part of a service's settings is one `-get...` call; reads and verification go part by part. */
type Part = Exclude<keyof MacServiceProxy, 'name'>;

interface PartSpec<T> {
  get: string;
  label: string;
  parse(out: string, what: string): T;
  /**
   * Whether what was read back (`actual`) is what was written for `target`, leaving out what
   * networksetup cannot write; `before` is what was there before the writes.
   */
  same(actual: T, target: T, before: T): boolean;
}

const manualPart = (kind: ManualKind): PartSpec<MacManualProxy> => ({
  get: `-get${MANUAL[kind].flag}`,
  label: MANUAL[kind].label,
  parse: parseManual,
  // `authenticated` is left out: see planWrites.
  same: (a, t, before) =>
    t.server === ''
      ? // networksetup cannot clear a server, so a kind that had none is only turned off (see
        // planWrites): the server there before, ours, stays written but unused.
        !a.enabled && ((a.server === '' && a.port === t.port) || (a.server === before.server && a.port === before.port))
      : a.enabled === t.enabled && a.server === t.server && a.port === t.port,
});

const PARTS: { [P in Part]: PartSpec<MacServiceProxy[P]> } = {
  web: manualPart('web'),
  secureWeb: manualPart('secureWeb'),
  socks: manualPart('socks'),
  autoProxy: {
    get: '-getautoproxyurl',
    label: 'auto proxy URL',
    parse: parseAutoProxy,
    // A URL that was never set cannot be written back (see planWrites): the one there stays, turned off.
    same: (a, t) => (t.url === null ? !a.enabled : a.enabled === t.enabled && a.url === t.url),
  },
  autoDiscovery: {
    get: '-getproxyautodiscovery',
    label: 'auto proxy discovery',
    parse: parseAutoDiscovery,
    same: (a, t) => a === t,
  },
  bypassDomains: {
    get: '-getproxybypassdomains',
    label: 'bypass domains',
    parse: parseBypassDomains,
    same: sameList,
  },
};
const PART_NAMES = Object.keys(PARTS) as Part[];

/** One networksetup command and the part of the settings it changes. */
interface Write {
  part: Part;
  args: string[];
}

// Found on PATH rather than at /usr/sbin so tests can put a fake first; launchd's default PATH, which
// a Finder-launched app gets, includes /usr/sbin.
const NETWORKSETUP = 'networksetup';

const NOT_FOUND = 'The networksetup command was not found (it ships with macOS).';

const ADMIN_HINT =
  'macOS asks for an administrator to change network settings here: either this user is not an ' +
  'administrator, or "Require an administrator password to access system-wide settings" is on ' +
  '(System Settings > Privacy & Security > Advanced). Set the proxy by hand in System Settings > ' +
  'Network > Details > Proxies, or turn that option off.';

export interface MacAdapterOptions {
  run?: CommandRunner;
  /** Environment for networksetup (its PATH); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** macOS: the proxy settings of every enabled network service, read and written with networksetup. */
export class MacProxyAdapter implements SystemProxyAdapter<MacProxySnapshot> {
  readonly name = 'macOS';
  readonly isSnapshot = isMacSnapshot;
  private readonly run: CommandRunner;

  constructor(options: MacAdapterOptions = {}) {
    this.run = options.run ?? execCommand(options.env ?? process.env);
  }

  async available(): Promise<Availability> {
    let out: string;
    try {
      out = await this.run(NETWORKSETUP, ['-listallnetworkservices']);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: NOT_FOUND };
      return { ok: false, reason: `The networksetup command does not run: ${oneLine((err as Error).message)}` };
    }
    const error = errorLine(out);
    if (error) return { ok: false, reason: `networksetup cannot list the network services: ${error}` };
    if (!parseServices(out).some((s) => s.enabled)) {
      return { ok: false, reason: 'No network service is enabled, so there is no system proxy to set.' };
    }
    return { ok: true };
  }

  async read(): Promise<MacProxySnapshot> {
    const enabled = (await this.listServices()).filter((s) => s.enabled);
    return { services: await settleAll(enabled.map((s) => this.readService(s.name))) };
  }

  /**
   * Points every enabled service at us: web and secure web proxy (or our PAC URL), the user's bypass
   * list plus loopback, and whatever would otherwise win over ours (auto proxy URL, discovery, SOCKS)
   * turned off.
   */
  async apply(ours: OurProxy): Promise<void> {
    const names = (await this.listServices()).filter((s) => s.enabled).map((s) => s.name);
    if (names.length === 0) {
      throw new SystemProxyError('Could not apply the system proxy: no network service is enabled.');
    }
    await this.eachService(names, 'apply the system proxy', (current) => appliedTarget(current, ours));
  }

  /**
   * Writes back each service's snapshot. A service gone since is skipped; one that appeared since was
   * never touched, so it is left alone. A service disabled since is still restored: its settings
   * would otherwise point at a Sluice that is gone as soon as it is enabled again. With
   * `onlyWhereOurs`, a service is restored only while it still points at us: one the user changed
   * meanwhile keeps their change.
   */
  async restore(previous: MacProxySnapshot, onlyWhereOurs?: OurProxy): Promise<void> {
    const present = new Set((await this.listServices()).map((s) => s.name));
    const targets = new Map(previous.services.filter((s) => present.has(s.name)).map((s) => [s.name, s]));
    await this.eachService([...targets.keys()], 'restore the previous system proxy', (current) =>
      onlyWhereOurs && !servicePointsAt(current, onlyWhereOurs) ? null : targets.get(current.name)!,
    );
  }

  /** Whether any service sends traffic to us: one left pointing at us breaks the network once we are gone. */
  pointsAt(current: MacProxySnapshot, ours: OurProxy): boolean {
    return current.services.some((s) => servicePointsAt(s, ours));
  }

  private async listServices(): Promise<ListedService[]> {
    const out = await this.networksetup(['-listallnetworkservices'], 'list the network services');
    return parseServices(out);
  }

  private async readPart<P extends Part>(name: string, part: P): Promise<MacServiceProxy[P]> {
    const spec: PartSpec<MacServiceProxy[P]> = PARTS[part];
    const what = `read the ${spec.label} of "${name}"`;
    return spec.parse(await this.networksetup([spec.get, name], what), what);
  }

  /** Every part of one service, each read once, all at the same time. */
  private async readService(name: string): Promise<MacServiceProxy> {
    const [web, secureWeb, socks, autoProxy, autoDiscovery, bypassDomains] = await settleAll([
      this.readPart(name, 'web'),
      this.readPart(name, 'secureWeb'),
      this.readPart(name, 'socks'),
      this.readPart(name, 'autoProxy'),
      this.readPart(name, 'autoDiscovery'),
      this.readPart(name, 'bypassDomains'),
    ] as const);
    return { name, web, secureWeb, socks, autoProxy, autoDiscovery, bypassDomains };
  }

  /**
   * Reads each service once, asks `targetOf` what it should become (null: leave it), writes only
   * what differs and reads back only what it wrote. Services go side by side, since quitting gives
   * this little time (Electron kills the app after a grace period) and a Mac often has several;
   * the writes within one service keep their order. Every service is finished before this returns
   * or throws, so no networksetup is left running behind an error (a rollback would race it).
   */
  private async eachService(
    names: readonly string[],
    what: string,
    targetOf: (current: MacServiceProxy) => MacServiceProxy | null,
  ): Promise<void> {
    const results = await Promise.allSettled(
      names.map(async (name) => {
        const current = await this.readService(name);
        const target = targetOf(current);
        return target === null ? [] : this.writeService(current, target, what);
      }),
    );
    const messages: string[] = [];
    const wrong: string[] = [];
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') messages.push(errorMessage(result.reason));
      else if (result.value.length > 0) wrong.push(`"${names[i]!}" (${result.value.join(', ')})`);
    }
    if (wrong.length > 0) {
      messages.push(
        `Could not ${what}: networksetup did not keep the new settings for ${wrong.join('; ')}. ` +
          'Check System Settings > Network > Details > Proxies.',
      );
    }
    if (messages.length > 0) throw new SystemProxyError(withOneAdminHint(messages));
  }

  /**
   * Writes one service's commands in order, then reads back every part it wrote: networksetup does
   * not always signal a failure by its exit status (scripts that drive it check its output).
   * Resolves with the labels of the parts that did not come out as written.
   */
  private async writeService(current: MacServiceProxy, target: MacServiceProxy, what: string): Promise<string[]> {
    const writes = planWrites(current, target);
    for (const { args } of writes) await this.networksetup(args, `${what} on "${target.name}"`);
    const written = PART_NAMES.filter((part) => writes.some((w) => w.part === part));
    const check = async <P extends Part>(part: P): Promise<boolean> =>
      PARTS[part].same(await this.readPart(target.name, part), target[part], current[part]);
    const kept = await settleAll(written.map(check));
    return written.filter((_, i) => !kept[i]).map((part) => PARTS[part].label);
  }

  private async networksetup(args: string[], what: string): Promise<string> {
    let out: string;
    try {
      out = await this.run(NETWORKSETUP, args);
    } catch (err) {
      // execFile's error: `code` is 'ENOENT' when the program is missing, else the exit status.
      const { code, message } = err as Error & { code?: unknown };
      if (code === 'ENOENT') throw new SystemProxyError(`Could not ${what}: ${NOT_FOUND}`);
      throw new SystemProxyError(`Could not ${what}: ${oneLine(message)}${adminHint(message, code)}`);
    }
    const error = errorLine(out);
    if (error) throw new SystemProxyError(`Could not ${what}: networksetup said "${error}"${adminHint(error)}`);
    return out;
  }
}

/**
 * Like Promise.all, but waits for every promise to settle before throwing the first error (in order),
 * so no networksetup is still running once the caller moves on.
 */
async function settleAll<T extends readonly unknown[]>(work: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(work);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/** Several services' errors in one message, the administrator hint (often on each) given once, at the end. */
function withOneAdminHint(messages: readonly string[]): string {
  const suffix = ` ${ADMIN_HINT}`;
  const hinted = messages.some((m) => m.endsWith(suffix));
  const bare = messages.map((m) => (m.endsWith(suffix) ? m.slice(0, -suffix.length) : m));
  return bare.join(' ') + (hinted ? suffix : '');
}

/**
 * Whether one service sends traffic to us: its web or secure web proxy is our host:port and on, or
 * (PAC mode) its auto proxy URL is ours and on. Either proxy alone is enough: a service whose other
 * one the user changed would still send that traffic to a Sluice that is gone.
 */
function servicePointsAt(s: MacServiceProxy, ours: OurProxy): boolean {
  const at = (p: MacManualProxy) => p.enabled && p.server === ours.host && p.port === ours.port;
  const pac = ours.pacUrl !== undefined && s.autoProxy.enabled && s.autoProxy.url === ours.pacUrl;
  return at(s.web) || at(s.secureWeb) || pac;
}

interface ListedService {
  name: string;
  enabled: boolean;
}

/** The lines after the "An asterisk (*) denotes ..." note; a leading `*` marks a disabled service. */
function parseServices(out: string): ListedService[] {
  const services: ListedService[] = [];
  for (const raw of out.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('An asterisk')) continue;
    const enabled = !line.startsWith('*');
    services.push({ name: enabled ? line : line.slice(1), enabled });
  }
  return services;
}

/** `Key: value` lines; the value may be empty ("Server: " when no server was ever set). */
function keyValues(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) map.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return map;
}

function unexpected(what: string, out: string): SystemProxyError {
  return new SystemProxyError(
    `Could not ${what}: networksetup printed something Sluice does not understand: ${JSON.stringify(out.trim().slice(0, 300))}`,
  );
}

function parseYesNo(value: string | undefined): boolean | undefined {
  return value === 'Yes' ? true : value === 'No' ? false : undefined;
}

/** "Enabled: Yes", "Server: proxy.example", "Port: 3128", "Authenticated Proxy Enabled: 0". */
function parseManual(out: string, what: string): MacManualProxy {
  const kv = keyValues(out);
  const enabled = parseYesNo(kv.get('Enabled'));
  const server = kv.get('Server');
  const port = kv.get('Port');
  if (enabled === undefined || server === undefined || port === undefined || !/^\d{1,5}$/.test(port)) {
    throw unexpected(what, out);
  }
  return { enabled, server, port: Number(port), authenticated: kv.get('Authenticated Proxy Enabled') === '1' };
}

/** "URL: (null)" or "URL: http://...", then "Enabled: Yes|No". */
function parseAutoProxy(out: string, what: string): MacAutoProxy {
  const kv = keyValues(out);
  const url = kv.get('URL');
  const enabled = parseYesNo(kv.get('Enabled'));
  if (url === undefined || enabled === undefined) throw unexpected(what, out);
  return { url: url === '(null)' || url === '' ? null : url, enabled };
}

/** "Auto Proxy Discovery: On|Off". */
function parseAutoDiscovery(out: string, what: string): boolean {
  const value = keyValues(out).get('Auto Proxy Discovery');
  if (value !== 'On' && value !== 'Off') throw unexpected(what, out);
  return value === 'On';
}

/**
 * One domain per line, or the sentence "There aren't any bypass domains set on <service>." Domains
 * never contain spaces, so any other line with one is output we do not know, and refusing it beats
 * writing a sentence back as a bypass rule (or silently dropping the user's list).
 */
function parseBypassDomains(out: string, what: string): string[] {
  const lines = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 1 && lines[0]!.startsWith("There aren't any bypass domains")) return [];
  if (lines.some((l) => /\s/.test(l))) throw unexpected(what, out);
  return lines;
}

/** networksetup reports failures as an "** Error: ..." line, whatever its exit status says. */
function errorLine(out: string): string | undefined {
  return /^\*\* Error:.*$/m.exec(out)?.[0].trim();
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// Exit status 14 with "** Error: Command requires admin privileges." is what networksetup gives when
// macOS wants an administrator; the text may be on stdout, which a failed run does not hand back.
function adminHint(text: string, code?: unknown): string {
  return /requires admin privileges/i.test(text) || code === 14 ? ` ${ADMIN_HINT}` : '';
}

/** The user's bypass domains, then loopback, then the extra ones, each once. */
function bypassWith(user: string[], ours: OurProxy): string[] {
  return [...new Set([...user, ...LOOPBACK_BYPASS, ...(ours.bypass ?? [])])];
}

/** What one service should look like once it points at us. */
function appliedTarget(current: MacServiceProxy, ours: OurProxy): MacServiceProxy {
  const target = structuredClone(current);
  target.bypassDomains = bypassWith(current.bypassDomains, ours);
  // Clients rank WPAD and a PAC URL above the manual proxies (Chrome's ProxyConfig does), and use
  // SOCKS for what the web proxies do not carry, so each of them would take traffic past us.
  target.autoDiscovery = false;
  target.socks.enabled = false;
  if (ours.pacUrl !== undefined) {
    target.autoProxy = { url: ours.pacUrl, enabled: true };
    target.web.enabled = false;
    target.secureWeb.enabled = false;
  } else {
    target.autoProxy.enabled = false;
    target.web = { ...target.web, enabled: true, server: ours.host, port: ours.port };
    target.secureWeb = { ...target.secureWeb, enabled: true, server: ours.host, port: ours.port };
  }
  return target;
}

/**
 * The networksetup commands that turn `current` into `target`, only for what differs, ordered so
 * that apps see as few in-between states as one-setting-per-command allows:
 *  1. a bypass list that only grows (apply adds loopback) goes first, so loopback is excluded before
 *     any traffic reaches us;
 *  2. then what `target` turns on, discovery and PAC first: they outrank the manual proxies, so on
 *     restore the user's PAC takes over while ours is still set, and on apply ours is set up behind
 *     the user's PAC before that is turned off;
 *  3. then what `target` turns off;
 *  4. a bypass list that shrinks (restore drops loopback) goes last, once nothing points at us.
 * `-set<kind>proxy` and `-setautoproxyurl` also turn their kind on (networksetup's help says so),
 * so a state is written after them only when the kind is to end off; the read-back after the writes
 * catches a networksetup that did not turn it on.
 */
function planWrites(current: MacServiceProxy, target: MacServiceProxy): Write[] {
  const svc = target.name;
  const writes: Write[] = [];
  const bypassChanged = !sameList(current.bypassDomains, target.bypassDomains);
  const bypassGrows = current.bypassDomains.every((d) => target.bypassDomains.includes(d));
  const bypass: Write = {
    part: 'bypassDomains',
    // "Empty" is networksetup's word for clearing the list.
    args: ['-setproxybypassdomains', svc, ...(target.bypassDomains.length > 0 ? target.bypassDomains : ['Empty'])],
  };
  if (bypassChanged && bypassGrows) writes.push(bypass);

  const state = (part: Part, flag: string, on: boolean): Write => ({
    part,
    args: [`-set${flag}state`, svc, on ? 'on' : 'off'],
  });
  // Writing a server or URL turns its kind on, so one the user had off is briefly on with their own
  // server or URL until the state after it; networksetup has no way to write one without the other.
  const manual = (kind: ManualKind): Write[] => {
    const [cur, want, flag] = [current[kind], target[kind], MANUAL[kind].flag];
    // No server (a Mac that never had this proxy: "Server: ", port 0): networksetup cannot clear a
    // server and may refuse the empty one, so the kind is only turned off and ours stays there,
    // unused. A kind without a server cannot be on, so it ends off whatever the snapshot says.
    if (want.server === '') return cur.enabled ? [state(kind, flag, false)] : [];
    if (cur.server === want.server && cur.port === want.port) {
      return cur.enabled === want.enabled ? [] : [state(kind, flag, want.enabled)];
    }
    // Off first when it ends off: should networksetup refuse the server, the kind at least no
    // longer points at us.
    // An authenticated proxy comes back with its server, port and state but not its password, which
    // networksetup can neither read nor keep without being given it: the user may have to tick
    // "Proxy server requires password" again (the password itself stays in the keychain).
    return [
      ...(!want.enabled && cur.enabled ? [state(kind, flag, false)] : []),
      { part: kind, args: [`-set${flag}`, svc, want.server, String(want.port)] },
      ...(want.enabled ? [] : [state(kind, flag, false)]),
    ];
  };
  const autoProxy = (): Write[] => {
    const [cur, want] = [current.autoProxy, target.autoProxy];
    // A URL that was never set ("(null)") cannot be written back: networksetup has no way to unset
    // it, so the one there stays, turned off (a kind without a URL cannot be on).
    if (want.url === null) return cur.enabled ? [state('autoProxy', 'autoproxy', false)] : [];
    if (want.url !== cur.url) {
      return [
        // Off first when it ends off, as for the manual kinds.
        ...(!want.enabled && cur.enabled ? [state('autoProxy', 'autoproxy', false)] : []),
        { part: 'autoProxy', args: ['-setautoproxyurl', svc, want.url] },
        ...(want.enabled ? [] : [state('autoProxy', 'autoproxy', false)]),
      ];
    }
    return cur.enabled === want.enabled ? [] : [state('autoProxy', 'autoproxy', want.enabled)];
  };
  const discovery = (): Write[] =>
    current.autoDiscovery === target.autoDiscovery
      ? []
      : [{ part: 'autoDiscovery', args: ['-setproxyautodiscovery', svc, target.autoDiscovery ? 'on' : 'off'] }];

  if (target.autoDiscovery) writes.push(...discovery());
  if (target.autoProxy.enabled) writes.push(...autoProxy());
  for (const kind of MANUAL_KINDS) if (target[kind].enabled) writes.push(...manual(kind));

  if (!target.autoProxy.enabled) writes.push(...autoProxy());
  if (!target.autoDiscovery) writes.push(...discovery());
  for (const kind of MANUAL_KINDS) if (!target[kind].enabled) writes.push(...manual(kind));

  if (bypassChanged && !bypassGrows) writes.push(bypass);
  return writes;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A server, URL or bypass domain as networksetup prints it: no whitespace, which would split it. */
function isToken(x: unknown, allowEmpty: boolean): x is string {
  return typeof x === 'string' && (allowEmpty || x !== '') && !/\s/.test(x);
}

function isManualProxy(x: unknown): x is MacManualProxy {
  return (
    isRecord(x) &&
    typeof x['enabled'] === 'boolean' &&
    isToken(x['server'], true) &&
    Number.isInteger(x['port']) &&
    (x['port'] as number) >= 0 &&
    (x['port'] as number) <= 65535 &&
    typeof x['authenticated'] === 'boolean'
  );
}

function isServiceProxy(x: unknown): x is MacServiceProxy {
  if (!isRecord(x)) return false;
  const name = x['name'];
  const auto = x['autoProxy'];
  const bypass = x['bypassDomains'];
  return (
    typeof name === 'string' &&
    name.trim() !== '' &&
    !/[\r\n]/.test(name) &&
    !name.startsWith('*') &&
    MANUAL_KINDS.every((kind) => isManualProxy(x[kind])) &&
    isRecord(auto) &&
    (auto['url'] === null || isToken(auto['url'], false)) &&
    typeof auto['enabled'] === 'boolean' &&
    typeof x['autoDiscovery'] === 'boolean' &&
    Array.isArray(bypass) &&
    bypass.every((d) => isToken(d, false))
  );
}

/** Shape check for a snapshot read back from disk (a crash record), so a damaged file is refused. */
export function isMacSnapshot(x: unknown): x is MacProxySnapshot {
  if (!isRecord(x) || !Array.isArray(x['services'])) return false;
  const services = x['services'] as unknown[];
  if (!services.every(isServiceProxy)) return false;
  // Two entries for one service would be restored in turn, the second undoing the first.
  return new Set(services.map((s) => s.name)).size === services.length;
}
