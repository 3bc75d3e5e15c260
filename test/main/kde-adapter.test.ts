import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemProxyError } from '../../main/system-proxy/types.js';
import {
  isKdeSnapshot,
  KDE_PROXY_KEYS,
  kdeProxyValue,
  KdeProxyAdapter,
  kdeTarget,
  parseKdeProxy,
  type KdeProxySnapshot,
} from '../../main/system-proxy/kde-adapter.js';
import { fakeTools, type FakeCall, type FakeTools } from '../helpers/fake-tools.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * kreadconfig/kwriteconfig as KConfig's tools behave (checked against kreadconfig5 5.103): options
 * parsed like QCommandLineParser (`--` ends them, unknown ones fail), kreadconfig prints the value
 * and a newline, or `--default` (empty when not given) for an absent key; kwriteconfig needs a
 * value unless `--delete`, and exits 2 on an immutable key. `locked` keys fail so; `dropWrites`
 * exits 0 without saving, as kwriteconfig does when KConfig cannot sync the file.
 */
const FAKE_KCONFIG = String.raw`
const opts = {};
const positional = [];
const flags = new Set();
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--') { positional.push(...args.slice(i + 1)); break; }
  if (['--file', '--group', '--key', '--default', '--type'].includes(a)) { opts[a.slice(2)] = args[++i]; continue; }
  if (a === '--delete' || a === '--help') { flags.add(a.slice(2)); continue; }
  if (a.startsWith('-')) { err("Unknown option '" + a.replace(/^-+/, '') + "'.\n"); exit(1); }
  positional.push(a);
}
if (flags.has('help')) { out('Usage: kconfig tool [options] value\n'); exit(0); }
if (opts.key === undefined) { err('no --key\n'); exit(1); }
const fileName = opts.file ?? 'kdeglobals';
const groupName = opts.group ?? 'KDE';
if (TOOL === 'read') {
  const group = state.config[fileName]?.[groupName] ?? {};
  out((Object.hasOwn(group, opts.key) ? group[opts.key] : (opts.default ?? '')) + '\n');
  exit(0);
}
if (!flags.has('delete') && positional.length !== 1) { err('Usage: kwriteconfig [options] value\n'); exit(1); }
if ((state.locked ?? []).includes(opts.key)) exit(2);
if (state.dropWrites) exit(0);
const group = ((state.config[fileName] ??= {})[groupName] ??= {});
if (flags.has('delete')) delete group[opts.key];
else group[opts.key] = positional[0];
`;

// One body for both tools; a line before it says which one this is.
const KREADCONFIG = `const TOOL = 'read';\n${FAKE_KCONFIG}`;
const KWRITECONFIG = `const TOOL = 'write';\n${FAKE_KCONFIG}`;
const FAKE_DBUS_SEND = String.raw`
if (state.dbusFails) { err('Failed to open connection to "session" message bus: no bus here\n'); exit(1); }
`;

type ProxyGroup = Partial<Record<string, string>>;
interface KdeState {
  config: Record<string, Record<string, ProxyGroup>>;
  locked?: string[];
  dropWrites?: boolean;
  dbusFails?: boolean;
}

const GROUP_ARGS = ['--file', 'kioslaverc', '--group', 'Proxy Settings', '--key'];
const readArgs = (key: string) => [...GROUP_ARGS, key, '--default', '__sluice_absent_key__'];
const writeArgs = (key: string, value: string) => [...GROUP_ARGS, key, '--', value];
const deleteArgs = (key: string) => [...GROUP_ARGS, key, '--delete'];
const REPARSE: FakeCall = {
  tool: 'dbus-send',
  args: ['--session', '--type=signal', '/KIO/Scheduler', 'org.kde.KIO.Scheduler.reparseSlaveConfiguration', 'string:'],
};

/**
 * A user with a PAC script in force and an older manual setup still stored: an http proxy, an
 * empty ftpProxy, a SOCKS proxy, a bypass list with spaces; no httpsProxy and no ReversedException.
 * Other groups and files must come through untouched.
 */
const PAC_USER: KdeState = {
  config: {
    kioslaverc: {
      'Proxy Settings': {
        ProxyType: '2',
        'Proxy Config Script': 'http://wpad.corp.example/proxy.pac',
        httpProxy: 'http://corp-proxy.example 3128',
        ftpProxy: '',
        socksProxy: 'socks://corp-socks.example 1080',
        NoProxyFor: '*.corp.example, intranet',
        AuthMode: '0',
      },
      'Cache Settings': { MaxCacheSize: '5000' },
    },
    kdeglobals: { General: { ColorScheme: 'BreezeDark' } },
  },
};

/** PAC_USER as read(): httpsProxy and ReversedException absent, ftpProxy present but empty. */
const PAC_USER_SNAPSHOT: KdeProxySnapshot = {
  ProxyType: '2',
  httpProxy: 'http://corp-proxy.example 3128',
  httpsProxy: null,
  ftpProxy: '',
  socksProxy: 'socks://corp-socks.example 1080',
  NoProxyFor: '*.corp.example, intranet',
  'Proxy Config Script': 'http://wpad.corp.example/proxy.pac',
  ReversedException: null,
};

let fakes: FakeTools | undefined;
afterEach(async () => {
  await fakes?.remove();
  fakes = undefined;
});

/** What Plasma's session manager sets for every program it starts. */
const PLASMA = { XDG_CURRENT_DESKTOP: 'KDE', KDE_FULL_SESSION: 'true' };

async function kdeFakes(
  state: KdeState,
  tools: { generations?: (5 | 6)[]; dbus?: boolean; session?: NodeJS.ProcessEnv } = {},
) {
  const bins: Record<string, string> = {};
  for (const g of tools.generations ?? [5]) {
    bins[`kreadconfig${g}`] = KREADCONFIG;
    bins[`kwriteconfig${g}`] = KWRITECONFIG;
  }
  if (tools.dbus ?? true) bins['dbus-send'] = FAKE_DBUS_SEND;
  fakes = await fakeTools(bins, state);
  const warnings: string[] = [];
  const env = { ...fakes.env, ...(tools.session ?? PLASMA) };
  const adapter = new KdeProxyAdapter({ env, warn: (m) => warnings.push(m) });
  return { fake: fakes, adapter, warnings };
}

async function config(fake: FakeTools): Promise<KdeState['config']> {
  return (await fake.state<KdeState>()).config;
}

/** What the fake holds, as read() would return it, without spending tool calls on it. */
async function stored(fake: FakeTools): Promise<KdeProxySnapshot> {
  const group = (await config(fake)).kioslaverc?.['Proxy Settings'] ?? {};
  return Object.fromEntries(KDE_PROXY_KEYS.map((k) => [k, group[k] ?? null])) as KdeProxySnapshot;
}

const call = (tool: string, args: string[]): FakeCall => ({ tool, args });
const reads = (tool: string, keys: readonly string[]) => keys.map((k) => call(tool, readArgs(k)));

describe('KdeProxyAdapter against fake kreadconfig5/kwriteconfig5', () => {
  it('reads every key; an absent key is null, an empty one empty', async () => {
    const { fake, adapter } = await kdeFakes(structuredClone(PAC_USER));
    expect(await adapter.read()).toEqual(PAC_USER_SNAPSHOT);
    // kwriteconfig6 is not there: its ENOENT costs no process, so the first call is Plasma 5's.
    expect(await fake.calls()).toEqual([call('kwriteconfig5', ['--help']), ...reads('kreadconfig5', KDE_PROXY_KEYS)]);
  });

  it('apply issues these commands in order, restore puts back exactly what was there', async () => {
    const { fake, adapter, warnings } = await kdeFakes(structuredClone(PAC_USER));
    expect(await adapter.available()).toEqual({ ok: true });
    const ours = { host: '127.0.0.1', port: 8080, bypass: ['sluice.test', 'localhost'] };
    await adapter.apply(ours);

    const bypass = '*.corp.example,intranet,localhost,127.0.0.1,::1,sluice.test';
    // Keys manual mode reads first, ProxyType last; unchanged keys (ftpProxy '') are not written.
    const written = ['httpProxy', 'httpsProxy', 'socksProxy', 'NoProxyFor', 'ProxyType'];
    expect(await fake.calls()).toEqual([
      call('kwriteconfig5', ['--help']),
      ...reads('kreadconfig5', KDE_PROXY_KEYS),
      call('kwriteconfig5', writeArgs('httpProxy', 'http://127.0.0.1 8080')),
      call('kwriteconfig5', writeArgs('httpsProxy', 'http://127.0.0.1 8080')),
      call('kwriteconfig5', writeArgs('socksProxy', '')),
      call('kwriteconfig5', writeArgs('NoProxyFor', bypass)),
      call('kwriteconfig5', writeArgs('ProxyType', '1')),
      ...reads('kreadconfig5', written),
      REPARSE,
    ]);
    const applied = await config(fake);
    expect(applied.kioslaverc!['Proxy Settings']).toEqual({
      ...PAC_USER.config.kioslaverc!['Proxy Settings'],
      ProxyType: '1',
      httpProxy: 'http://127.0.0.1 8080',
      httpsProxy: 'http://127.0.0.1 8080',
      socksProxy: '',
      NoProxyFor: bypass,
    });
    expect(adapter.pointsAt(await stored(fake), ours)).toBe(true);

    await fake.clearCalls();
    const previous = structuredClone(PAC_USER);
    await adapter.restore(PAC_USER_SNAPSHOT);
    // PAC mode's keys before ProxyType, the manual keys it ignores after; httpsProxy deleted again.
    expect(await fake.calls()).toEqual([
      ...reads('kreadconfig5', KDE_PROXY_KEYS),
      call('kwriteconfig5', writeArgs('NoProxyFor', '*.corp.example, intranet')),
      call('kwriteconfig5', writeArgs('ProxyType', '2')),
      call('kwriteconfig5', writeArgs('httpProxy', 'http://corp-proxy.example 3128')),
      call('kwriteconfig5', deleteArgs('httpsProxy')),
      call('kwriteconfig5', writeArgs('socksProxy', 'socks://corp-socks.example 1080')),
      ...reads('kreadconfig5', ['NoProxyFor', 'ProxyType', 'httpProxy', 'httpsProxy', 'socksProxy']),
      REPARSE,
    ]);
    expect(await config(fake)).toEqual(previous.config);
    expect(warnings).toEqual([]);
  });

  it('PAC mode: our script and type 2, the reversed bypass list not kept; restore deletes the script', async () => {
    const manual: KdeState = {
      config: {
        kioslaverc: {
          'Proxy Settings': {
            ProxyType: '1',
            httpProxy: 'http://corp-proxy.example:3128',
            httpsProxy: 'http://corp-proxy.example:3128',
            NoProxyFor: 'proxied.example',
            ReversedException: 'true',
          },
        },
      },
    };
    const { fake, adapter } = await kdeFakes(structuredClone(manual));
    const before = await stored(fake);
    const ours = { host: '127.0.0.1', port: 8080, pacUrl: 'http://127.0.0.1:8080/sluice.pac?v=1' };
    await adapter.apply(ours);
    const writes = (await fake.calls()).filter((c) => c.tool === 'kwriteconfig5' && !c.args.includes('--help'));
    expect(writes.map((c) => c.args)).toEqual([
      writeArgs('Proxy Config Script', ours.pacUrl),
      writeArgs('NoProxyFor', 'localhost,127.0.0.1,::1'),
      writeArgs('ReversedException', 'false'),
      writeArgs('ProxyType', '2'),
    ]);
    expect((await fake.calls()).at(-1)).toEqual(REPARSE);
    const after = await stored(fake);
    expect(adapter.pointsAt(after, ours)).toBe(true);
    expect(adapter.pointsAt(after, { host: '127.0.0.1', port: 8080 })).toBe(false);

    await fake.clearCalls();
    await adapter.restore(before);
    expect(await config(fake)).toEqual(manual.config);
    const calls = await fake.calls();
    expect(calls).toContainEqual(call('kwriteconfig5', deleteArgs('Proxy Config Script')));
    expect(calls.at(-1)).toEqual(REPARSE);
  });

  it('uses Plasma 6 tools when both generations are installed', async () => {
    const { fake, adapter } = await kdeFakes(structuredClone(PAC_USER), { generations: [5, 6] });
    await adapter.restore({ ...PAC_USER_SNAPSHOT, ProxyType: '0' });
    const calls = await fake.calls();
    expect(calls[0]).toEqual(call('kwriteconfig6', ['--help']));
    expect(calls).toContainEqual(call('kwriteconfig6', writeArgs('ProxyType', '0')));
    expect(calls.filter((c) => c.tool.endsWith('5'))).toEqual([]);
    expect(new Set(calls.map((c) => c.tool))).toEqual(new Set(['kwriteconfig6', 'kreadconfig6', 'dbus-send']));
  });

  it('a failing dbus-send is reported as a warning, the saved settings stay', async () => {
    const { fake, adapter, warnings } = await kdeFakes({ ...structuredClone(PAC_USER), dbusFails: true });
    await adapter.restore({ ...PAC_USER_SNAPSHOT, ProxyType: '0' });
    expect((await config(fake)).kioslaverc!['Proxy Settings']!.ProxyType).toBe('0');
    expect((await fake.calls()).at(-1)).toEqual(REPARSE);
    expect(warnings).toEqual([
      'KDE proxy settings were saved, but running KDE programs could not be told (dbus-send: Failed to open ' +
        'connection to "session" message bus: no bus here); restart them for the change to take effect.',
    ]);
  });

  it('a missing dbus-send is reported as a warning too', async () => {
    const { adapter, warnings } = await kdeFakes(structuredClone(PAC_USER), { dbus: false });
    await adapter.restore(PAC_USER_SNAPSHOT);
    expect(warnings).toEqual([expect.stringContaining('dbus-send is not installed')]);
  });

  it('a locked key fails the write with a SystemProxyError naming it', async () => {
    const { fake, adapter } = await kdeFakes({ ...structuredClone(PAC_USER), locked: ['httpProxy'] });
    const err = await adapter.apply({ host: '127.0.0.1', port: 8080 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemProxyError);
    expect((err as Error).message).toMatch(/^Could not apply the KDE system proxy: httpProxy .*locked/);
    expect((await config(fake)).kioslaverc!['Proxy Settings']!.ProxyType).toBe('2');
  });

  it('a write kwriteconfig reports done but does not keep is caught by reading back', async () => {
    const { fake, adapter } = await kdeFakes({ ...structuredClone(PAC_USER), dropWrites: true });
    const err = await adapter.apply({ host: '127.0.0.1', port: 8080 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemProxyError);
    expect((err as Error).message).toContain(
      'kioslaverc did not keep httpProxy, httpsProxy, socksProxy, NoProxyFor, ProxyType',
    );
    // Not verified, so running programs are not told to re-read anything.
    expect((await fake.calls()).some((c) => c.tool === 'dbus-send')).toBe(false);
  });

  it('outside a Plasma session it is not available, whatever is installed, and runs no tool', async () => {
    for (const [session, why] of [
      [{}, 'No GNOME or KDE session is running (XDG_CURRENT_DESKTOP and DESKTOP_SESSION are not set).'],
      [
        { XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' },
        'No KDE Plasma session is running (XDG_CURRENT_DESKTOP is ubuntu:GNOME).',
      ],
    ] as const) {
      const { fake, adapter } = await kdeFakes(structuredClone(PAC_USER), { session });
      expect(await adapter.available()).toEqual({ ok: false, reason: why });
      expect(await fake.calls()).toEqual([]);
      await fake.remove();
    }
  });

  it('without kwriteconfig, available() says so and read() refuses', async () => {
    const { adapter } = await kdeFakes(structuredClone(PAC_USER), { generations: [] });
    expect(await adapter.available()).toEqual({
      ok: false,
      reason: expect.stringContaining('kwriteconfig6/kwriteconfig5 is not installed'),
    });
    await expect(adapter.read()).rejects.toThrow(SystemProxyError);
  });
});

const MANUAL_OURS: KdeProxySnapshot = {
  ProxyType: '1',
  httpProxy: 'http://127.0.0.1 8080',
  httpsProxy: 'http://127.0.0.1:8080',
  ftpProxy: null,
  socksProxy: null,
  NoProxyFor: null,
  'Proxy Config Script': null,
  ReversedException: null,
};

describe('KDE settings without the tools', () => {
  const adapter = new KdeProxyAdapter({ run: () => Promise.reject(new Error('no tools in this test')) });

  it('writes the proxy as KDE does and reads either form', () => {
    expect(kdeProxyValue('127.0.0.1', 8080)).toBe('http://127.0.0.1 8080');
    expect(kdeProxyValue('::1', 8080)).toBe('http://[::1] 8080');
    expect(parseKdeProxy('http://[::1] 8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseKdeProxy('Proxy.Example:3128')).toEqual({ host: 'proxy.example', port: 3128 });
    expect(parseKdeProxy('http://proxy.example')).toEqual({ host: 'proxy.example', port: 80 });
    expect(parseKdeProxy('HTTP_PROXY')).toEqual({ host: 'http_proxy', port: 80 });
    expect(parseKdeProxy('')).toBeNull();
    expect(parseKdeProxy(null)).toBeNull();
  });

  it('pointsAt: manual mode naming us for http and https, or our PAC script in type 2', () => {
    const ours = { host: '127.0.0.1', port: 8080 };
    expect(adapter.pointsAt(MANUAL_OURS, ours)).toBe(true);
    expect(adapter.pointsAt({ ...MANUAL_OURS, ProxyType: '0' }, ours)).toBe(false);
    expect(adapter.pointsAt({ ...MANUAL_OURS, httpsProxy: 'http://corp 3128' }, ours)).toBe(false);
    expect(adapter.pointsAt({ ...MANUAL_OURS, httpProxy: null }, ours)).toBe(false);
    expect(adapter.pointsAt(MANUAL_OURS, { ...ours, port: 8081 })).toBe(false);
    const pac = { ...MANUAL_OURS, ProxyType: '2', 'Proxy Config Script': 'http://127.0.0.1:8080/p.pac' };
    expect(adapter.pointsAt(pac, { ...ours, pacUrl: 'http://127.0.0.1:8080/p.pac' })).toBe(true);
    expect(adapter.pointsAt(pac, { ...ours, pacUrl: 'http://127.0.0.1:9999/p.pac' })).toBe(false);
    expect(adapter.pointsAt(MANUAL_OURS, { ...ours, pacUrl: 'http://127.0.0.1:8080/p.pac' })).toBe(false);
  });

  it('isSnapshot takes exactly the eight keys, each a string or null', () => {
    expect(isKdeSnapshot(MANUAL_OURS)).toBe(true);
    expect(isKdeSnapshot(JSON.parse(JSON.stringify(MANUAL_OURS)))).toBe(true);
    const { ProxyType: _dropped, ...missing } = MANUAL_OURS;
    for (const damaged of [
      null,
      'snapshot',
      [],
      missing,
      { ...MANUAL_OURS, extra: 'x' },
      { ...MANUAL_OURS, ProxyType: 1 },
      { ...MANUAL_OURS, NoProxyFor: ['localhost'] },
      { ...MANUAL_OURS, ReversedException: undefined },
    ]) {
      expect(isKdeSnapshot(damaged), JSON.stringify(damaged)).toBe(false);
    }
  });

  it('environment mode: the bypass list comes from the variable NoProxyFor names', () => {
    const env = { ...MANUAL_OURS, ProxyType: '4', httpProxy: 'HTTP_PROXY', NoProxyFor: 'NO_PROXY' };
    const target = kdeTarget(env, { host: '127.0.0.1', port: 8080 }, { NO_PROXY: 'a.example,b.example' });
    expect(target.NoProxyFor).toBe('a.example,b.example,localhost,127.0.0.1,::1');
    expect(target.httpProxy).toBe('http://127.0.0.1 8080');
    expect(target.ProxyType).toBe('1');
  });
});

function installed(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

// The fakes say what the real tools do; where KConfig's tools are installed (Debian:
// libkf5config-bin), check that against them, in a private XDG_CONFIG_HOME.
const realTools = installed('kreadconfig5') && installed('kwriteconfig5');

describe.skipIf(!realTools)('KdeProxyAdapter against the real kreadconfig5/kwriteconfig5', () => {
  it('apply, then restore gives back the same kioslaverc byte for byte', async () => {
    const dir = await tempDir('sluice-kde-');
    try {
      // No bus address: the signal cannot reach any real session from here.
      const env = { PATH: process.env['PATH'], HOME: dir.path, XDG_CONFIG_HOME: dir.path, LANG: 'C' };
      const set = (key: string, value: string) =>
        execFileSync('kwriteconfig5', ['--file', 'kioslaverc', '--group', 'Proxy Settings', '--key', key, value], {
          env,
        });
      set('ProxyType', '2');
      set('Proxy Config Script', 'http://wpad.corp.example/proxy.pac?a=b');
      set('httpProxy', 'http://corp-proxy.example 3128');
      set('ftpProxy', '');
      set('NoProxyFor', '*.corp.example, intranet');
      const file = join(dir.path, 'kioslaverc');
      const before = await readFile(file, 'utf8');
      const adapter = new KdeProxyAdapter({ env, warn: () => undefined });
      const previous = await adapter.read();
      expect(previous).toEqual({
        ...PAC_USER_SNAPSHOT,
        socksProxy: null,
        'Proxy Config Script': 'http://wpad.corp.example/proxy.pac?a=b',
      });
      const ours = { host: '127.0.0.1', port: 8080 };
      await adapter.apply(ours);
      const applied = await readFile(file, 'utf8');
      expect(applied).toContain('httpProxy=http://127.0.0.1 8080\n');
      expect(applied).toContain('ProxyType=1\n');
      expect(adapter.pointsAt(await adapter.read(), ours)).toBe(true);
      await adapter.restore(previous);
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await dir.remove();
    }
  });

  it('a kioslaverc that was not there before is not there after restore', async () => {
    const dir = await tempDir('sluice-kde-');
    try {
      const env = { PATH: process.env['PATH'], HOME: dir.path, XDG_CONFIG_HOME: dir.path, LANG: 'C', ...PLASMA };
      const file = join(dir.path, 'kioslaverc');
      const adapter = new KdeProxyAdapter({ env, warn: () => undefined });
      const previous = await adapter.read();
      expect(existsSync(file)).toBe(false);
      await adapter.apply({ host: '127.0.0.1', port: 8080 });
      expect(existsSync(file)).toBe(true);
      await adapter.restore(previous);
      // KConfig leaves an empty 0600 file once its last key is deleted; none and empty mean the same.
      expect(existsSync(file)).toBe(false);
    } finally {
      await dir.remove();
    }
  });
});
