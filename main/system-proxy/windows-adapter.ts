import { win32 } from 'node:path';
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
 * Windows keeps the per-user proxy (what WinINet, Edge, Chrome and most apps use) as values of one
 * registry key. We read and write them with `reg.exe` rather than a native module, so Sluice ships
 * no compiled code; `reg` takes each argument as it is, and on Windows Node quotes argv for
 * CreateProcess itself, so nothing here is quoted by hand (and no shell ever parses it).
 */
export const INTERNET_SETTINGS_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';

/**
 * The subkey holding WinINet's own binary copy of the proxy settings. "Automatically detect
 * settings" (WPAD) lives only there, as a bit of {@link CONNECTION_SETTINGS_VALUE}; the
 * `AutoDetect` value of the main key is not what Windows' checkbox uses.
 */
export const CONNECTIONS_KEY = `${INTERNET_SETTINGS_KEY}\\Connections`;

/**
 * REG_BINARY, undocumented by Microsoft; as reverse-engineered by many tools, little-endian DWORDs:
 * a version/signature at byte 0, a change counter at byte 4 (Internet Options increments it on
 * every change), the flags at byte 8 (0x01 direct, 0x02 manual proxy, 0x04 auto-config URL, 0x08
 * auto-detect), then the length-prefixed proxy server, bypass list and PAC URL, and more.
 */
export const CONNECTION_SETTINGS_VALUE = 'DefaultConnectionSettings';
const COUNTER_OFFSET = 4;
const FLAGS_OFFSET = 8;
const AUTO_DETECT_FLAG = 0x08;

/**
 * The values we read, snapshot and restore, in the order they are written. The switches come last
 * (AutoConfigURL, then ProxyEnable) so a program that reads the key mid-way never sees a proxy
 * turned on whose address or bypass list is not written yet.
 */
export const WINDOWS_PROXY_VALUES = [
  'ProxyServer',
  'ProxyOverride',
  'AutoDetect',
  'AutoConfigURL',
  'ProxyEnable',
] as const;
export type WindowsProxyValueName = (typeof WINDOWS_PROXY_VALUES)[number];

/**
 * One registry value as `reg query` printed it. Only these types are accepted: they are what
 * Windows stores here, and the only ones we can write back exactly through `reg add /d`.
 */
export type WindowsRegValue = { type: 'REG_DWORD'; data: number } | { type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string };

/**
 * Every proxy value of the Internet Settings key; null when the value is absent, which restore puts
 * back by deleting it, since an empty value left behind is not what the user had. The type is kept
 * as read, so a REG_EXPAND_SZ comes back as one.
 */
export type WindowsProxySnapshot = Record<WindowsProxyValueName, WindowsRegValue | null> & {
  /**
   * {@link CONNECTION_SETTINGS_VALUE} as uppercase hex (how `reg query` prints it), null when absent
   * (or its key is). Restore writes these exact bytes back. `read` always sets it; it is optional
   * only so a crash record written before Sluice saved it still restores: that Sluice never changed
   * the value, so restore leaves it alone.
   */
  DefaultConnectionSettings?: string | null;
};

/** The absolute programs to run; bare names only where a test puts fakes on PATH. */
export interface WindowsTools {
  reg: string;
  powershell: string;
}

/**
 * On Windows a bare program name is looked up in the current directory before PATH, so a
 * `reg.exe` in the folder Sluice was started from (Downloads, say) would run in its place. The
 * tools are therefore named by their full path under the system folder (%SystemRoot%, from `env`,
 * when it is an absolute drive path; else C:\Windows). Elsewhere only tests run them, from PATH.
 */
export function defaultWindowsTools(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): WindowsTools {
  if (platform !== 'win32') return { reg: 'reg', powershell: 'powershell' };
  // Windows' environment is case-insensitive, a plain object passed as `env` is not.
  const name = Object.keys(env).find((k) => k.toLowerCase() === 'systemroot');
  const value = name === undefined ? undefined : env[name];
  const root = value !== undefined && /^[a-z]:\\/i.test(value) ? value : 'C:\\Windows';
  const system32 = win32.join(root, 'System32');
  return {
    reg: win32.join(system32, 'reg.exe'),
    powershell: win32.join(system32, 'WindowsPowerShell', 'v1.0', 'powershell.exe'),
  };
}

/**
 * Tells running programs that the settings changed: WinINet caches them per process, so without
 * this only programs started afterwards would use (or stop using) our proxy. One line with `;`
 * between statements, so it survives being a single argv entry; a false return exits 1 with the
 * Windows error, which is how the adapter learns the notification failed. Both options are sent
 * by this one script, so an apply or a restore starts PowerShell once: `Add-Type` compiles C# on
 * every run (seconds), and a restore on quit has little time.
 */
export const REFRESH_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  "$wininet = Add-Type -Namespace Sluice -Name WinInet -PassThru -MemberDefinition '" +
    '[DllImport("wininet.dll", CharSet = CharSet.Unicode, EntryPoint = "InternetSetOptionW", SetLastError = true)] ' +
    "public static extern bool InternetSetOption(IntPtr hInternet, int dwOption, IntPtr lpBuffer, int dwBufferLength);'",
  // 39 = INTERNET_OPTION_SETTINGS_CHANGED, 37 = INTERNET_OPTION_REFRESH (wininet.h).
  'foreach ($option in 39, 37) { if (-not $wininet::InternetSetOption([IntPtr]::Zero, $option, [IntPtr]::Zero, 0)) { ' +
    '[Console]::Error.WriteLine("InternetSetOption($option) failed with Windows error " + ' +
    '[Runtime.InteropServices.Marshal]::GetLastWin32Error()); exit 1 } }',
].join('; ');

export const REFRESH_ARGS = [
  '-NoProfile',
  '-NonInteractive',
  '-ExecutionPolicy',
  'Bypass',
  '-Command',
  REFRESH_SCRIPT,
] as const;

const REG_VALUE_LINE = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/;

/**
 * Parses `reg query <key>` output: a blank line, the key's full name, then one line per value,
 * `    Name    REG_TYPE    data` (four spaces each; REG_DWORD printed as `0x1`; an empty string
 * leaves the data empty), then the subkeys' names, which are not indented and so are skipped.
 * Returns every value line by name; types we do not handle are kept as raw text for the caller
 * to refuse.
 */
export function parseRegQuery(output: string): Map<string, { type: string; text: string }> {
  const values = new Map<string, { type: string; text: string }>();
  for (const line of output.split(/\r?\n/)) {
    const m = REG_VALUE_LINE.exec(line);
    // Registry value names are case-insensitive; a script may have written `autoconfigurl`.
    if (m) values.set(m[1]!.toLowerCase(), { type: m[2]!, text: m[3] ?? '' });
  }
  return values;
}

/** Whether `reg query` output lists `key\\subkey` among the key's subkeys (unindented full names). */
function listsSubkey(output: string, key: string, subkey: string): boolean {
  // reg prints the root long (HKEY_CURRENT_USER), our constants use HKCU; compare after it.
  const want = `${key.slice(key.indexOf('\\'))}\\${subkey}`.toLowerCase();
  return output
    .split(/\r?\n/)
    .some((line) => /^HK[A-Z_]*\\/i.test(line) && line.trimEnd().slice(line.indexOf('\\')).toLowerCase() === want);
}

/** The auto-detect bit of a DefaultConnectionSettings blob; null when absent or too short to hold flags. */
export function autoDetectBit(hex: string | null | undefined): boolean | null {
  if (hex === null || hex === undefined || hex.length < (FLAGS_OFFSET + 4) * 2) return null;
  return (parseInt(hex.slice(FLAGS_OFFSET * 2, FLAGS_OFFSET * 2 + 2), 16) & AUTO_DETECT_FLAG) !== 0;
}

/**
 * The blob with auto-detect off: only the 0x08 flag is cleared and the change counter incremented
 * (what Internet Options does on a change); every other byte stays. Unchanged when the bit is
 * already off, the value is absent, or it is too short to hold flags.
 */
export function withoutAutoDetect(hex: string | null): string | null {
  if (hex === null || autoDetectBit(hex) !== true) return hex;
  const bytes = Buffer.from(hex, 'hex');
  bytes.writeUInt32LE((bytes.readUInt32LE(COUNTER_OFFSET) + 1) >>> 0, COUNTER_OFFSET);
  bytes[FLAGS_OFFSET] = bytes[FLAGS_OFFSET]! & ~AUTO_DETECT_FLAG;
  return bytes.toString('hex').toUpperCase();
}

const HEX_BYTES = /^(?:[0-9a-f]{2})*$/i;

function isBlob(x: unknown): x is string | null {
  return x === null || (typeof x === 'string' && HEX_BYTES.test(x));
}

function sameValue(a: WindowsRegValue | null, b: WindowsRegValue | null): boolean {
  return a === null || b === null ? a === b : a.type === b.type && a.data === b.data;
}

function isRegValue(x: unknown): x is WindowsRegValue {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  if (keys.length !== 2 || !keys.includes('type') || !keys.includes('data')) return false;
  const { type, data } = x as { type: unknown; data: unknown };
  if (type === 'REG_DWORD') return Number.isInteger(data) && (data as number) >= 0 && (data as number) <= 0xffffffff;
  // A NUL cannot be passed in argv, so such a record could never be restored.
  return (type === 'REG_SZ' || type === 'REG_EXPAND_SZ') && typeof data === 'string' && !data.includes('\0');
}

/**
 * Strict: exactly our value names, each null or a value we can write back, and the connection
 * settings as hex of whole bytes or null (or missing, in a record from before they were
 * saved); anything else is damage.
 */
export function isWindowsSnapshot(x: unknown): x is WindowsProxySnapshot {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  const hasBlob = keys.includes(CONNECTION_SETTINGS_VALUE);
  return (
    keys.length === WINDOWS_PROXY_VALUES.length + (hasBlob ? 1 : 0) &&
    (!hasBlob || isBlob((x as Record<string, unknown>)[CONNECTION_SETTINGS_VALUE])) &&
    WINDOWS_PROXY_VALUES.every((name) => {
      if (!keys.includes(name)) return false;
      const v = (x as Record<string, unknown>)[name];
      return v === null || isRegValue(v);
    })
  );
}

/** `host:port`, with an IPv6 literal bracketed so the port stays unambiguous. */
function hostPort(proxy: { host: string; port: number }): string {
  return `${proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host}:${proxy.port}`;
}

/**
 * Which proxy a ProxyServer string gives a scheme: `http=a:1;https=b:2` names each one; a bare
 * `a:1` is used for every scheme. Entries may carry a `http://` prefix.
 */
function proxyForScheme(server: string, scheme: 'http' | 'https'): string | undefined {
  const entries = server
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean);
  const tagged = entries.find((e) => e.toLowerCase().startsWith(`${scheme}=`));
  const chosen = tagged !== undefined ? tagged.slice(scheme.length + 1) : entries.find((e) => !e.includes('='));
  return chosen?.replace(/^[a-z]+:\/\//i, '').toLowerCase();
}

function splitList(list: string): string[] {
  return list
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean);
}

function dedupe(entries: string[]): string[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = e.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const LOCAL = '<local>';
const ENABLED: WindowsRegValue = { type: 'REG_DWORD', data: 1 };
const DISABLED: WindowsRegValue = { type: 'REG_DWORD', data: 0 };

export interface WindowsAdapterOptions {
  run?: CommandRunner;
  /** Passed to `reg` and `powershell`; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Decides the default `tools`; defaults to process.platform. */
  platform?: NodeJS.Platform;
  /** The programs to run; defaults to {@link defaultWindowsTools} for `platform` and `env`. */
  tools?: WindowsTools;
  /** Where a problem that does not fail the switch is reported (running programs not notified). */
  onWarning?: (message: string) => void;
}

/** Windows: the per-user Internet Settings proxy values, read and written with reg.exe. */
export class WindowsProxyAdapter implements SystemProxyAdapter<WindowsProxySnapshot> {
  readonly name = 'Windows';
  readonly isSnapshot = isWindowsSnapshot;
  private readonly run: CommandRunner;
  private readonly tools: WindowsTools;
  private readonly onWarning: (message: string) => void;

  constructor(options: WindowsAdapterOptions = {}) {
    const env = options.env ?? process.env;
    this.run = options.run ?? execCommand(env);
    this.tools = options.tools ?? defaultWindowsTools(options.platform ?? process.platform, env);
    this.onWarning = options.onWarning ?? warnOnConsole;
  }

  /** Whether `reg` runs and the key reads as something we can restore; never throws. */
  async available(): Promise<Availability> {
    try {
      await this.read();
      return { ok: true };
    } catch (err) {
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        return { ok: false, reason: 'The reg command was not found; the Windows adapter runs on Windows only.' };
      }
      return { ok: false, reason: (err as Error).message };
    }
  }

  /**
   * Every proxy value, in one `reg query`, and the connection settings in a second one on the
   * Connections subkey, skipped when the first does not list that subkey (a missing key would be
   * an error whose text is localised, so it could not be told from a real failure).
   */
  async read(): Promise<WindowsProxySnapshot> {
    const what = 'read the Windows proxy settings';
    const output = await this.reg(['query', INTERNET_SETTINGS_KEY], what);
    const raw = parseRegQuery(output);
    const snapshot = {} as WindowsProxySnapshot;
    for (const name of WINDOWS_PROXY_VALUES) {
      const found = raw.get(name.toLowerCase());
      snapshot[name] = found === undefined ? null : toRegValue(name, found.type, found.text);
    }
    snapshot.DefaultConnectionSettings = null;
    if (listsSubkey(output, INTERNET_SETTINGS_KEY, 'Connections')) {
      const found = parseRegQuery(await this.reg(['query', CONNECTIONS_KEY], what)).get(
        CONNECTION_SETTINGS_VALUE.toLowerCase(),
      );
      if (found !== undefined) snapshot.DefaultConnectionSettings = toBlob(found.type, found.text);
    }
    return snapshot;
  }

  /**
   * Manual: http and https to us, the user's bypass list kept plus loopback. PAC: our
   * AutoConfigURL with the manual proxy off. Either way auto-detection is turned off if it was on:
   * the AutoDetect value, and the auto-detect bit of the connection settings (Windows' checkbox).
   */
  async apply(ours: OurProxy): Promise<void> {
    const current = await this.read();
    const target: WindowsProxySnapshot = { ...current };
    // WinINet tries auto-detect (WPAD) before anything else, so a WPAD on the network would win
    // over us. Only switched off when present: an absent value is not on, and stays absent.
    if (current.AutoDetect !== null) target.AutoDetect = DISABLED;
    target.DefaultConnectionSettings = withoutAutoDetect(current.DefaultConnectionSettings ?? null);
    if (ours.pacUrl !== undefined) {
      target.AutoConfigURL = { type: 'REG_SZ', data: ours.pacUrl };
      // Our PAC script falls back to DIRECT, so an enabled manual proxy must not stand behind it.
      target.ProxyEnable = DISABLED;
    } else {
      // Only http and https, not a bare host:port: a bare entry is used for every protocol, and
      // Sluice speaks neither FTP-through-proxy nor SOCKS, so those would break instead of going
      // direct. The user's own ftp=/socks= entries are dropped for the same reason; restore puts them back.
      const address = hostPort(ours);
      target.ProxyServer = { type: 'REG_SZ', data: `http=${address};https=${address}` };
      const userList = current.ProxyOverride?.type === 'REG_DWORD' ? [] : splitList(current.ProxyOverride?.data ?? '');
      const hadLocal = userList.some((e) => e.toLowerCase() === LOCAL);
      const bypass = dedupe([
        ...userList.filter((e) => e.toLowerCase() !== LOCAL),
        ...(ours.bypass ?? []).flatMap(splitList),
        ...LOOPBACK_BYPASS,
      ]);
      // `<local>` (every dotless host) stays only if the user chose it: it is a policy, not loopback.
      target.ProxyOverride = { type: 'REG_SZ', data: [...bypass, ...(hadLocal ? [LOCAL] : [])].join(';') };
      // A PAC URL wins over the manual proxy, so it has to go; restore writes it back.
      target.AutoConfigURL = null;
      target.ProxyEnable = ENABLED;
    }
    await this.writeAll(target, current, 'apply the system proxy');
  }

  /**
   * Writes back exactly the snapshot: values that were absent are deleted again, the connection
   * settings get their saved bytes back. Single-part, so `onlyWhereOurs` is not needed: the switch
   * asks `pointsAt` before restoring.
   */
  async restore(previous: WindowsProxySnapshot): Promise<void> {
    const current = await this.read();
    const target: WindowsProxySnapshot = { ...previous };
    // A record from before the connection settings were saved: Sluice never changed them then.
    if (previous.DefaultConnectionSettings === undefined) {
      target.DefaultConnectionSettings = current.DefaultConnectionSettings ?? null;
    }
    await this.writeAll(target, current, 'restore the previous system proxy');
  }

  /** Whether these settings still send traffic to us: our manual proxy for http and https, or our PAC URL. */
  pointsAt(current: WindowsProxySnapshot, ours: OurProxy): boolean {
    if (ours.pacUrl !== undefined && current.AutoConfigURL?.data === ours.pacUrl) return true;
    const enabled = current.ProxyEnable?.type === 'REG_DWORD' && current.ProxyEnable.data !== 0;
    const server = current.ProxyServer;
    if (!enabled || server === null || server.type === 'REG_DWORD') return false;
    const want = hostPort(ours).toLowerCase();
    return proxyForScheme(server.data, 'http') === want && proxyForScheme(server.data, 'https') === want;
  }

  /**
   * The changed values of the main key in order, then the connection settings, then one refresh
   * (a single PowerShell run), then a read-back.
   */
  private async writeAll(target: WindowsProxySnapshot, current: WindowsProxySnapshot, what: string): Promise<void> {
    let wrote = false;
    try {
      for (const name of WINDOWS_PROXY_VALUES) {
        const value = target[name];
        // Only changed values: fewer processes, and untouched values keep their exact bytes.
        if (sameValue(value, current[name])) continue;
        const args =
          value === null
            ? ['delete', INTERNET_SETTINGS_KEY, '/v', name, '/f']
            : ['add', INTERNET_SETTINGS_KEY, '/v', name, '/t', value.type, '/d', String(value.data), '/f'];
        await this.reg(args, what, name);
        wrote = true;
      }
      const blob = target.DefaultConnectionSettings ?? null;
      if (blob !== (current.DefaultConnectionSettings ?? null)) {
        const name = CONNECTION_SETTINGS_VALUE;
        const args =
          blob === null
            ? ['delete', CONNECTIONS_KEY, '/v', name, '/f']
            : ['add', CONNECTIONS_KEY, '/v', name, '/t', 'REG_BINARY', '/d', blob, '/f'];
        await this.reg(args, what, name);
        wrote = true;
      }
    } finally {
      // Even after a failed write: what did change must reach running programs, and the caller
      // (switchOn) restores next, which notifies again.
      if (wrote) await this.refresh();
    }
    // reg can exit 0 and yet a policy or another tool can put a value back; read back to know.
    const after = await this.read();
    const wrong = WINDOWS_PROXY_VALUES.filter((name) => !sameValue(after[name], target[name]));
    const where = wrong.length > 0 ? [`${wrong.join(', ')} in ${INTERNET_SETTINGS_KEY}`] : [];
    // WinINet may rewrite its own binary copy when told of a change (a new counter, say), so the
    // bytes are not compared; what matters is that auto-detect is as we wrote it. A value we
    // deleted may be recreated by Windows with its defaults, which is not checked either.
    const blob = target.DefaultConnectionSettings ?? null;
    if (blob !== null && autoDetectBit(after.DefaultConnectionSettings) !== autoDetectBit(blob)) {
      where.push(`${CONNECTION_SETTINGS_VALUE} in ${CONNECTIONS_KEY}`);
    }
    if (where.length > 0) {
      throw new SystemProxyError(
        `Could not ${what}: ${where.join(' and ')} did not keep the new value ` +
          '(are the proxy settings managed by your organisation or another program?).',
      );
    }
  }

  /**
   * A failed notification is reported, not thrown: the registry already holds the right values
   * and every program started from now on uses them, while throwing would make the switch undo a
   * correct change. The user is told which programs may need a restart.
   */
  private async refresh(): Promise<void> {
    try {
      await this.run(this.tools.powershell, REFRESH_ARGS);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'powershell was not found' : failure(err);
      this.onWarning(
        `The Windows proxy settings were changed, but running programs could not be told (${why}); ` +
          'programs started from now on use the new settings, already running ones may need a restart.',
      );
    }
  }

  private async reg(args: string[], what: string, valueName?: string): Promise<string> {
    try {
      return await this.run(this.tools.reg, args);
    } catch (err) {
      const subject = valueName ? `reg ${args[0]} ${valueName}` : `reg ${args[0]} ${args[1]}`;
      const detail =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'the reg command was not found (the Windows adapter runs on Windows only)'
          : failure(err);
      throw new SystemProxyError(`Could not ${what}: ${subject} failed: ${detail}`, { cause: err });
    }
  }
}

/**
 * What a failed command said, for a user: execFile's message starts with the whole command line
 * (for PowerShell, the full script) and the runner appends stderr after it, so keep just the
 * tool's own words, once.
 */
function failure(err: unknown): string {
  const e = err as Error & { code?: unknown; killed?: boolean };
  const lines = e.message.split('\n');
  if (lines[0]?.startsWith('Command failed: ')) lines.shift();
  const said = [...new Set(lines.map((l) => l.replace(/^:\s*/, '').trim()).filter(Boolean))].join(' ');
  if (said) return said;
  if (e.killed) return 'it did not finish in time';
  return typeof e.code === 'number' ? `it exited with code ${e.code}` : e.message;
}

function toRegValue(name: string, type: string, text: string): WindowsRegValue {
  if (type === 'REG_DWORD' && /^0x[0-9a-f]{1,8}$/i.test(text)) return { type, data: parseInt(text.slice(2), 16) };
  // reg prints in the console code page; a character it could not show would be written back wrong.
  if ((type === 'REG_SZ' || type === 'REG_EXPAND_SZ') && !text.includes('\uFFFD')) return { type, data: text };
  throw new SystemProxyError(
    `${name} in ${INTERNET_SETTINGS_KEY} holds ${type} data "${text}" that Sluice cannot put back exactly, ` +
      'so it leaves the proxy settings alone; check that value in the Internet Options proxy settings.',
  );
}

function toBlob(type: string, text: string): string {
  if (type === 'REG_BINARY' && HEX_BYTES.test(text)) return text.toUpperCase();
  throw new SystemProxyError(
    `${CONNECTION_SETTINGS_VALUE} in ${CONNECTIONS_KEY} holds ${type} data "${text}" that Sluice cannot put back ` +
      'exactly, so it leaves the proxy settings alone; check the Internet Options connection settings.',
  );
}
