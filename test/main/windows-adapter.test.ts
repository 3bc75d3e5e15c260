import { afterEach, describe, expect, it } from 'vitest';
import { SystemProxyError } from '../../main/system-proxy/gnome-adapter.js';
import type { SwitchableAdapter } from '../../main/system-proxy/switch-record.js';
import {
  INTERNET_SETTINGS_KEY,
  isWindowsSnapshot,
  parseRegQuery,
  REFRESH_ARGS,
  REFRESH_SCRIPT,
  WindowsProxyAdapter,
  type WindowsProxySnapshot,
} from '../../main/system-proxy/windows-adapter.js';
import { fakeTools, type FakeCall, type FakeTools } from '../helpers/fake-tools.js';

/**
 * A `reg` that keeps the key's values in the fake's state and answers like reg.exe: `query` prints
 * CRLF lines `    Name    TYPE    data` (REG_DWORD as 0x..), followed by subkey names; `add` and
 * `delete` need /f (else reg would prompt); deleting an absent value fails. DWORDs are stored as
 * reg prints them, so the state compares like the real registry would. `failAdd` makes adding that
 * value fail as a locked key would; `ignoreAdd` makes it exit 0 without saving.
 */
const FAKE_REG = String.raw`
const KEY = ${JSON.stringify(INTERNET_SETTINGS_KEY)};
const [verb, key, ...rest] = args;
const done = (text) => { out(text); exit(0); };
const fail = (text) => { err(text + '\r\n'); exit(1); };
if (key !== KEY) fail('ERROR: The system was unable to find the specified registry key or value.');
const opt = (flag) => { const i = rest.indexOf(flag); return i >= 0 ? rest[i + 1] : undefined; };
const values = state.values;
const find = (name) => Object.keys(values).find((k) => k.toLowerCase() === String(name).toLowerCase());
if (verb === 'query') {
  let text = '\r\nHKEY_CURRENT_USER' + KEY.slice(4) + '\r\n';
  for (const [name, v] of Object.entries(values)) text += '    ' + name + '    ' + v.type + '    ' + v.data + '\r\n';
  text += '\r\nHKEY_CURRENT_USER' + KEY.slice(4) + '\\Connections\r\n';
  text += 'HKEY_CURRENT_USER' + KEY.slice(4) + '\\ZoneMap\r\n';
  done(text);
}
if (!rest.includes('/f')) fail('(would prompt: Value exists, overwrite(Yes/No)?)');
const name = opt('/v');
if (verb === 'add') {
  const type = opt('/t') ?? 'REG_SZ';
  let data = opt('/d') ?? '';
  if (name === state.failAdd) fail('ERROR: Access is denied.');
  if (type === 'REG_DWORD') {
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(data)) fail('ERROR: Invalid syntax.');
    data = '0x' + Number(data).toString(16);
  }
  if (name !== state.ignoreAdd) values[find(name) ?? name] = { type, data };
  done('The operation completed successfully.\r\n');
}
if (verb === 'delete') {
  const k = find(name);
  if (k === undefined) fail('ERROR: The system was unable to find the specified registry key or value.');
  delete values[k];
  done('The operation completed successfully.\r\n');
}
fail('ERROR: Invalid syntax.');
`;

/** Records its arguments (the fake helper does that); fails like a broken WinINet when asked to. */
const FAKE_POWERSHELL = String.raw`
if (state.failRefresh) { err('InternetSetOption(39) failed with Windows error 87\r\n'); exit(1); }
exit(0);
`;

interface RegState {
  values: Record<string, { type: string; data: string }>;
  failAdd?: string;
  ignoreAdd?: string;
  failRefresh?: boolean;
}

/**
 * A user with a PAC URL, a bypass list with `<local>`, the manual proxy off and no ProxyServer at
 * all, among values that are none of our business (one with a space in its name).
 */
const PAC_USER: RegState = {
  values: {
    'User Agent': { type: 'REG_SZ', data: 'Mozilla/4.0 (compatible; MSIE 8.0; Win32)' },
    CertificateRevocation: { type: 'REG_DWORD', data: '0x1' },
    ProxyEnable: { type: 'REG_DWORD', data: '0x0' },
    ProxyOverride: { type: 'REG_SZ', data: '*.corp.example;10.*;<local>' },
    AutoConfigURL: { type: 'REG_SZ', data: 'http://wpad.corp.example/proxy.pac' },
    EnableNegotiate: { type: 'REG_DWORD', data: '0x1' },
  },
};

/** A user with their own manual proxy on, auto-detect on, and no bypass list. */
const MANUAL_USER: RegState = {
  values: {
    ProxyEnable: { type: 'REG_DWORD', data: '0x1' },
    ProxyServer: { type: 'REG_SZ', data: 'squid.corp.example:3128' },
    AutoDetect: { type: 'REG_DWORD', data: '0x1' },
  },
};

const OURS = { host: '127.0.0.1', port: 8899, bypass: ['internal.test'] };
const PAC = { ...OURS, pacUrl: 'http://127.0.0.1:8899/sluice.pac' };

const query = (): FakeCall => ({ tool: 'reg', args: ['query', INTERNET_SETTINGS_KEY] });
const add = (name: string, type: string, data: string): FakeCall => ({
  tool: 'reg',
  args: ['add', INTERNET_SETTINGS_KEY, '/v', name, '/t', type, '/d', data, '/f'],
});
const del = (name: string): FakeCall => ({ tool: 'reg', args: ['delete', INTERNET_SETTINGS_KEY, '/v', name, '/f'] });
const refresh = (): FakeCall => ({ tool: 'powershell', args: [...REFRESH_ARGS] });

// The switch drives this adapter; a signature drift would break it silently without this.
const _switchable: (a: WindowsProxyAdapter) => SwitchableAdapter<WindowsProxySnapshot> = (a) => a;

describe('Windows system proxy adapter (fake reg and powershell)', () => {
  let fakes: FakeTools | undefined;
  afterEach(async () => {
    await fakes?.remove();
    fakes = undefined;
  });

  async function setup(state: RegState): Promise<{ adapter: WindowsProxyAdapter; warnings: string[] }> {
    fakes = await fakeTools({ reg: FAKE_REG, powershell: FAKE_POWERSHELL }, structuredClone(state));
    const warnings: string[] = [];
    return { adapter: new WindowsProxyAdapter({ env: fakes.env, onWarning: (m) => warnings.push(m) }), warnings };
  }

  it('applies a manual proxy with the exact reg commands, then restores the exact previous state', async () => {
    const { adapter, warnings } = await setup(PAC_USER);
    expect(await adapter.available()).toEqual({ ok: true });

    const before = await adapter.read();
    expect(before).toEqual({
      ProxyServer: null,
      ProxyOverride: { type: 'REG_SZ', data: '*.corp.example;10.*;<local>' },
      AutoDetect: null,
      AutoConfigURL: { type: 'REG_SZ', data: 'http://wpad.corp.example/proxy.pac' },
      ProxyEnable: { type: 'REG_DWORD', data: 0 },
    });
    expect(isWindowsSnapshot(before)).toBe(true);
    // What the crash record holds must survive JSON.
    expect(isWindowsSnapshot(JSON.parse(JSON.stringify(before)))).toBe(true);
    expect(adapter.pointsAt(before, OURS)).toBe(false);

    await fakes!.clearCalls();
    await adapter.apply(OURS);
    expect(await fakes!.calls()).toEqual([
      query(),
      add('ProxyServer', 'REG_SZ', 'http=127.0.0.1:8899;https=127.0.0.1:8899'),
      add('ProxyOverride', 'REG_SZ', '*.corp.example;10.*;internal.test;localhost;127.0.0.1;::1;<local>'),
      del('AutoConfigURL'),
      add('ProxyEnable', 'REG_DWORD', '1'),
      refresh(),
      query(),
    ]);
    const applied = await adapter.read();
    expect(applied.AutoConfigURL).toBeNull();
    expect(adapter.pointsAt(applied, OURS)).toBe(true);

    await fakes!.clearCalls();
    await adapter.restore(before);
    expect(await fakes!.calls()).toEqual([
      query(),
      del('ProxyServer'),
      add('ProxyOverride', 'REG_SZ', '*.corp.example;10.*;<local>'),
      add('AutoConfigURL', 'REG_SZ', 'http://wpad.corp.example/proxy.pac'),
      add('ProxyEnable', 'REG_DWORD', '0'),
      refresh(),
      query(),
    ]);
    expect(await fakes!.state()).toEqual(PAC_USER);
    expect(warnings).toEqual([]);
  });

  it('over a manual proxy: skips unchanged values, turns auto-detect off, adds no <local>, and restores', async () => {
    const { adapter } = await setup(MANUAL_USER);
    const before = await adapter.read();
    expect(adapter.pointsAt(before, OURS)).toBe(false);

    await fakes!.clearCalls();
    await adapter.apply(OURS);
    expect(await fakes!.calls()).toEqual([
      query(),
      add('ProxyServer', 'REG_SZ', 'http=127.0.0.1:8899;https=127.0.0.1:8899'),
      add('ProxyOverride', 'REG_SZ', 'internal.test;localhost;127.0.0.1;::1'),
      add('AutoDetect', 'REG_DWORD', '0'),
      // ProxyEnable is already 1 and there is no AutoConfigURL: nothing to write for either.
      refresh(),
      query(),
    ]);

    await adapter.restore(before);
    expect(await fakes!.state()).toEqual(MANUAL_USER);
  });

  it('PAC mode sets our AutoConfigURL with the manual proxy off, and restores', async () => {
    const { adapter } = await setup(MANUAL_USER);
    const before = await adapter.read();

    await fakes!.clearCalls();
    await adapter.apply(PAC);
    expect(await fakes!.calls()).toEqual([
      query(),
      add('AutoDetect', 'REG_DWORD', '0'),
      add('AutoConfigURL', 'REG_SZ', PAC.pacUrl),
      add('ProxyEnable', 'REG_DWORD', '0'),
      refresh(),
      query(),
    ]);
    const applied = await adapter.read();
    expect(adapter.pointsAt(applied, PAC)).toBe(true);
    // Without the PAC URL the manual settings decide, and the manual proxy is off.
    expect(adapter.pointsAt(applied, OURS)).toBe(false);

    await fakes!.clearCalls();
    await adapter.restore(before);
    expect(await fakes!.calls()).toEqual([
      query(),
      add('AutoDetect', 'REG_DWORD', '1'),
      del('AutoConfigURL'),
      add('ProxyEnable', 'REG_DWORD', '1'),
      refresh(),
      query(),
    ]);
    expect(await fakes!.state()).toEqual(MANUAL_USER);
  });

  it('keeps a correct write when running programs cannot be told, and says so', async () => {
    const { adapter, warnings } = await setup({ ...MANUAL_USER, failRefresh: true });
    await adapter.apply(OURS);
    expect(adapter.pointsAt(await adapter.read(), OURS)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(
      'The Windows proxy settings were changed, but running programs could not be told ' +
        '(InternetSetOption(39) failed with Windows error 87); programs started from now on use the new ' +
        'settings, already running ones may need a restart.',
    );
  });

  it('a failing reg add is a SystemProxyError naming the value, and what did change is still announced', async () => {
    const { adapter } = await setup({ ...PAC_USER, failAdd: 'ProxyOverride' });
    const error = await adapter.apply(OURS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemProxyError);
    expect((error as Error).message).toBe(
      'Could not apply the system proxy: reg add ProxyOverride failed: ERROR: Access is denied.',
    );
    // ProxyServer was written before the failure; programs must hear of it (the switch restores next).
    expect((await fakes!.calls()).at(-1)).toEqual(refresh());
  });

  it('a value that does not keep its new value fails the apply', async () => {
    const { adapter } = await setup({ ...PAC_USER, ignoreAdd: 'ProxyEnable' });
    await expect(adapter.apply(OURS)).rejects.toThrow(
      /^Could not apply the system proxy: ProxyEnable in HKCU\\.*\\Internet Settings did not keep the new value/,
    );
  });

  it('without reg, available() says the adapter needs Windows, and read() fails clearly', async () => {
    fakes = await fakeTools({});
    const adapter = new WindowsProxyAdapter({ env: fakes.env });
    expect(await adapter.available()).toEqual({
      ok: false,
      reason: 'The reg command was not found; the Windows adapter runs on Windows only.',
    });
    await expect(adapter.read()).rejects.toThrow(
      /^Could not read the Windows proxy settings: reg query .* failed: the reg command was not found/,
    );
  });
});

describe('Windows adapter without processes', () => {
  const snapshot = (over: Partial<WindowsProxySnapshot>): WindowsProxySnapshot => ({
    ProxyServer: null,
    ProxyOverride: null,
    AutoDetect: null,
    AutoConfigURL: null,
    ProxyEnable: null,
    ...over,
  });
  const adapter = new WindowsProxyAdapter({
    run: () => Promise.reject(new Error('no process in this test')),
  });

  it('parses reg query output: CRLF, empty data, names with spaces, subkeys skipped', () => {
    const out =
      '\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\r\n' +
      '    User Agent    REG_SZ    Mozilla/4.0 (compatible;  MSIE 8.0)\r\n' +
      '    ProxyEnable    REG_DWORD    0x1\r\n' +
      '    ProxyOverride    REG_SZ    \r\n' +
      '    autoconfigurl    REG_EXPAND_SZ    %PAC%\r\n' +
      '\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\r\n';
    expect([...parseRegQuery(out)]).toEqual([
      ['user agent', { type: 'REG_SZ', text: 'Mozilla/4.0 (compatible;  MSIE 8.0)' }],
      ['proxyenable', { type: 'REG_DWORD', text: '0x1' }],
      ['proxyoverride', { type: 'REG_SZ', text: '' }],
      ['autoconfigurl', { type: 'REG_EXPAND_SZ', text: '%PAC%' }],
    ]);
  });

  it('refuses to read a value it could not write back exactly', async () => {
    const binary = new WindowsProxyAdapter({
      run: () => Promise.resolve('\r\nHKEY_CURRENT_USER\\X\r\n    ProxyServer    REG_BINARY    00FF\r\n'),
    });
    await expect(binary.read()).rejects.toThrow(
      /ProxyServer .* holds REG_BINARY data "00FF" that Sluice cannot put back/,
    );
    expect(await binary.available()).toMatchObject({ ok: false, reason: expect.stringMatching(/REG_BINARY/) });
  });

  it('pointsAt: manual proxy on and naming us for both http and https, or our PAC URL', () => {
    const on = { type: 'REG_DWORD', data: 1 } as const;
    const sz = (data: string) => ({ type: 'REG_SZ', data }) as const;
    expect(
      adapter.pointsAt(
        snapshot({ ProxyEnable: on, ProxyServer: sz('http=127.0.0.1:8899;https=127.0.0.1:8899') }),
        OURS,
      ),
    ).toBe(true);
    expect(adapter.pointsAt(snapshot({ ProxyEnable: on, ProxyServer: sz('127.0.0.1:8899') }), OURS)).toBe(true);
    expect(
      adapter.pointsAt(
        snapshot({ ProxyEnable: on, ProxyServer: sz('http=http://127.0.0.1:8899;https=127.0.0.1:8899;ftp=x:21') }),
        OURS,
      ),
    ).toBe(true);
    expect(
      adapter.pointsAt(snapshot({ ProxyEnable: on, ProxyServer: sz('http=127.0.0.1:8899;https=other:3128') }), OURS),
    ).toBe(false);
    expect(adapter.pointsAt(snapshot({ ProxyEnable: on, ProxyServer: sz('http=127.0.0.1:8899') }), OURS)).toBe(false);
    expect(adapter.pointsAt(snapshot({ ProxyEnable: on, ProxyServer: sz('127.0.0.1:9999') }), OURS)).toBe(false);
    expect(
      adapter.pointsAt(
        snapshot({ ProxyEnable: { type: 'REG_DWORD', data: 0 }, ProxyServer: sz('127.0.0.1:8899') }),
        OURS,
      ),
    ).toBe(false);
    expect(
      adapter.pointsAt(snapshot({ ProxyEnable: on, ProxyServer: sz('[::1]:8899') }), { host: '::1', port: 8899 }),
    ).toBe(true);
    expect(adapter.pointsAt(snapshot({ AutoConfigURL: sz(PAC.pacUrl) }), PAC)).toBe(true);
    expect(adapter.pointsAt(snapshot({ AutoConfigURL: sz('http://wpad/other.pac') }), PAC)).toBe(false);
  });

  it('isSnapshot refuses damaged shapes', () => {
    const good = snapshot({
      ProxyEnable: { type: 'REG_DWORD', data: 1 },
      ProxyServer: { type: 'REG_SZ', data: 'a:1' },
      AutoConfigURL: { type: 'REG_EXPAND_SZ', data: '%PAC%' },
    });
    expect(isWindowsSnapshot(good)).toBe(true);
    const damaged: unknown[] = [
      null,
      [],
      'snapshot',
      {},
      { ...good, ProxyEnable: undefined },
      (({ AutoDetect: _, ...rest }) => rest)(good),
      { ...good, Extra: null },
      { ...good, ProxyEnable: { type: 'REG_DWORD', data: '1' } },
      { ...good, ProxyEnable: { type: 'REG_DWORD', data: -1 } },
      { ...good, ProxyEnable: { type: 'REG_DWORD', data: 2 ** 32 } },
      { ...good, ProxyEnable: { type: 'REG_DWORD', data: 1.5 } },
      { ...good, ProxyServer: { type: 'REG_SZ', data: 42 } },
      { ...good, ProxyServer: { type: 'REG_BINARY', data: '00' } },
      { ...good, ProxyServer: { type: 'REG_SZ' } },
      { ...good, ProxyServer: { type: 'REG_SZ', data: 'a', more: 1 } },
      { ...good, ProxyServer: { type: 'REG_SZ', data: 'a\0b' } },
      { ...good, ProxyServer: 'a:1' },
    ];
    for (const x of damaged) expect(isWindowsSnapshot(x), JSON.stringify(x)).toBe(false);
  });

  it('the refresh script calls InternetSetOption from wininet.dll with both options, on one line', () => {
    expect(REFRESH_ARGS.slice(0, -1)).toEqual([
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-Command',
    ]);
    expect(REFRESH_SCRIPT).toContain('[DllImport("wininet.dll"');
    expect(REFRESH_SCRIPT).toContain(
      'InternetSetOption(IntPtr hInternet, int dwOption, IntPtr lpBuffer, int dwBufferLength)',
    );
    expect(REFRESH_SCRIPT).toContain('foreach ($option in 39, 37)');
    expect(REFRESH_SCRIPT).not.toMatch(/[\r\n]/);
  });
});
