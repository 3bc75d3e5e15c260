import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemProxyError } from '../../main/system-proxy/types.js';
import type { SwitchableAdapter } from '../../main/system-proxy/switch-record.js';
import {
  autoDetectBit,
  CONNECTIONS_KEY,
  defaultWindowsTools,
  INTERNET_SETTINGS_KEY,
  isWindowsSnapshot,
  parseRegQuery,
  REFRESH_ARGS,
  REFRESH_SCRIPT,
  withoutAutoDetect,
  WindowsProxyAdapter,
  type WindowsProxySnapshot,
} from '../../main/system-proxy/windows-adapter.js';
import { fakeTools, type FakeCall, type FakeTools } from '../helpers/fake-tools.js';

/**
 * A `reg` that keeps the values of the Internet Settings key (`state.values`) and of its
 * Connections subkey (`state.connections`; the subkey is absent when that is) in the fake's state
 * and answers like reg.exe: `query` prints CRLF lines `    Name    TYPE    data` (REG_DWORD as 0x..,
 * REG_BINARY as continuous uppercase hex), followed by subkey names; querying an absent key fails;
 * `add` and `delete` need /f (else reg would prompt); deleting an absent value fails. Data is stored
 * as reg prints it, so the state compares like the real registry would. `failAdd` makes adding that
 * value fail as a locked key would; `ignoreAdd` makes it exit 0 without saving.
 */
const FAKE_REG = String.raw`
const KEY = ${JSON.stringify(INTERNET_SETTINGS_KEY)};
const CONNECTIONS = KEY + '\\Connections';
const [verb, key, ...rest] = args;
const done = (text) => { out(text); exit(0); };
const fail = (text) => { err(text + '\r\n'); exit(1); };
const NOT_FOUND = 'ERROR: The system was unable to find the specified registry key or value.';
if (key !== KEY && key !== CONNECTIONS) fail(NOT_FOUND);
if (key === CONNECTIONS && state.connections === undefined && verb !== 'add') fail(NOT_FOUND);
if (key === CONNECTIONS && state.connections === undefined) state.connections = {};
const opt = (flag) => { const i = rest.indexOf(flag); return i >= 0 ? rest[i + 1] : undefined; };
const values = key === KEY ? state.values : state.connections;
const find = (name) => Object.keys(values).find((k) => k.toLowerCase() === String(name).toLowerCase());
if (verb === 'query') {
  let text = '\r\nHKEY_CURRENT_USER' + key.slice(4) + '\r\n';
  for (const [name, v] of Object.entries(values)) text += '    ' + name + '    ' + v.type + '    ' + v.data + '\r\n';
  if (key === KEY) {
    text += '\r\n';
    if (state.connections !== undefined) text += 'HKEY_CURRENT_USER' + KEY.slice(4) + '\\Connections\r\n';
    text += 'HKEY_CURRENT_USER' + KEY.slice(4) + '\\ZoneMap\r\n';
  }
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
  if (type === 'REG_BINARY') {
    if (!/^([0-9a-f]{2})*$/i.test(data)) fail('ERROR: Invalid syntax.');
    data = data.toUpperCase();
  }
  if (name !== state.ignoreAdd) values[find(name) ?? name] = { type, data };
  done('The operation completed successfully.\r\n');
}
if (verb === 'delete') {
  const k = find(name);
  if (k === undefined) fail(NOT_FOUND);
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
  connections?: Record<string, { type: string; data: string }>;
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

/**
 * A DefaultConnectionSettings as Windows writes it: version 0x46, change counter 0xFF (so the
 * increment carries into the next byte), flags 0x09 (direct + automatically detect), no proxy
 * server, bypass list `<local>`, no PAC URL, then bytes we know nothing about (one is 0x09 too).
 */
const WPAD_ON_HEX =
  '46000000' + 'FF000000' + '09000000' + '00000000' + '07000000' + '3C6C6F63616C3E' + '00000000' + '0109000000000000';
/** The same with only the 0x08 flag cleared and the counter incremented: every other byte as it was. */
const WPAD_OFF_HEX =
  '46000000' + '00010000' + '01000000' + '00000000' + '07000000' + '3C6C6F63616C3E' + '00000000' + '0109000000000000';

/** A user with "Automatically detect settings" on (Windows' checkbox) and nothing else. */
const WPAD_USER: RegState = {
  values: { ProxyEnable: { type: 'REG_DWORD', data: '0x0' } },
  connections: {
    DefaultConnectionSettings: { type: 'REG_BINARY', data: WPAD_ON_HEX },
    SavedLegacySettings: { type: 'REG_BINARY', data: WPAD_ON_HEX },
  },
};

const OURS = { host: '127.0.0.1', port: 8899, bypass: ['internal.test'] };
const PAC = { ...OURS, pacUrl: 'http://127.0.0.1:8899/sluice.pac' };

const query = (): FakeCall => ({ tool: 'reg', args: ['query', INTERNET_SETTINGS_KEY] });
const queryConnections = (): FakeCall => ({ tool: 'reg', args: ['query', CONNECTIONS_KEY] });
const addBlob = (hex: string): FakeCall => ({
  tool: 'reg',
  args: ['add', CONNECTIONS_KEY, '/v', 'DefaultConnectionSettings', '/t', 'REG_BINARY', '/d', hex, '/f'],
});
const delBlob = (): FakeCall => ({
  tool: 'reg',
  args: ['delete', CONNECTIONS_KEY, '/v', 'DefaultConnectionSettings', '/f'],
});
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
      // No Connections subkey listed: not queried, and nothing to put back.
      DefaultConnectionSettings: null,
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

  it('turns Windows\' "Automatically detect settings" off by its bit alone, and restores the exact bytes', async () => {
    const { adapter, warnings } = await setup(WPAD_USER);
    await fakes!.clearCalls();
    const before = await adapter.read();
    expect(await fakes!.calls()).toEqual([query(), queryConnections()]);
    expect(before.DefaultConnectionSettings).toBe(WPAD_ON_HEX);
    expect(isWindowsSnapshot(JSON.parse(JSON.stringify(before)))).toBe(true);

    await fakes!.clearCalls();
    await adapter.apply(OURS);
    const applyCalls = await fakes!.calls();
    expect(applyCalls).toEqual([
      query(),
      queryConnections(),
      add('ProxyServer', 'REG_SZ', 'http=127.0.0.1:8899;https=127.0.0.1:8899'),
      add('ProxyOverride', 'REG_SZ', 'internal.test;localhost;127.0.0.1;::1'),
      add('ProxyEnable', 'REG_DWORD', '1'),
      addBlob(WPAD_OFF_HEX),
      refresh(),
      query(),
      queryConnections(),
    ]);
    // One PowerShell start for the whole apply: its Add-Type compile costs seconds.
    expect(applyCalls.filter((c) => c.tool === 'powershell')).toHaveLength(1);
    const applied = await fakes!.state<RegState>();
    expect(applied.connections!.DefaultConnectionSettings!.data).toBe(WPAD_OFF_HEX);
    expect(autoDetectBit(applied.connections!.DefaultConnectionSettings!.data)).toBe(false);
    // Only the value WinINet reads for the default connection is ours to change.
    expect(applied.connections!.SavedLegacySettings).toEqual(WPAD_USER.connections!.SavedLegacySettings);

    // Applying again (the port moved) finds auto-detect already off and leaves the bytes alone.
    await fakes!.clearCalls();
    await adapter.apply({ ...OURS, port: 9000 });
    expect((await fakes!.calls()).filter((c) => c.args.includes('DefaultConnectionSettings'))).toEqual([]);

    await fakes!.clearCalls();
    await adapter.restore(before);
    const restoreCalls = await fakes!.calls();
    expect(restoreCalls).toEqual([
      query(),
      queryConnections(),
      del('ProxyServer'),
      del('ProxyOverride'),
      add('ProxyEnable', 'REG_DWORD', '0'),
      addBlob(WPAD_ON_HEX),
      refresh(),
      query(),
      queryConnections(),
    ]);
    expect(restoreCalls.filter((c) => c.tool === 'powershell')).toHaveLength(1);
    expect(await fakes!.state()).toEqual(WPAD_USER);
    expect(warnings).toEqual([]);
  });

  it('leaves connection settings with auto-detect off untouched, and deletes one that was absent on restore', async () => {
    const off = { DefaultConnectionSettings: { type: 'REG_BINARY', data: WPAD_OFF_HEX } };
    const { adapter } = await setup({ ...MANUAL_USER, connections: {} });
    const before = await adapter.read();
    expect(before.DefaultConnectionSettings).toBeNull();
    await adapter.apply(OURS);
    expect((await fakes!.state<RegState>()).connections).toEqual({});

    // Something (Windows itself, say) wrote the value while we were on: restore deletes it again.
    await fakes!.setState({ ...(await fakes!.state<RegState>()), connections: off });
    await fakes!.clearCalls();
    await adapter.restore(before);
    expect(await fakes!.calls()).toContainEqual(delBlob());
    expect(await fakes!.state()).toEqual({ ...MANUAL_USER, connections: {} });

    // Auto-detect already off: nothing to write there.
    await fakes!.setState({ ...MANUAL_USER, connections: off });
    await fakes!.clearCalls();
    await adapter.apply(OURS);
    expect((await fakes!.calls()).filter((c) => c.args.includes(CONNECTIONS_KEY))).toEqual([
      queryConnections(),
      queryConnections(),
    ]);
  });

  it('a crash record from before the connection settings were saved restores the rest and leaves them alone', async () => {
    const { adapter } = await setup(WPAD_USER);
    const { DefaultConnectionSettings: _, ...legacy } = await adapter.read();
    expect(isWindowsSnapshot(legacy)).toBe(true);
    await adapter.apply(OURS);
    await fakes!.clearCalls();
    await adapter.restore(legacy);
    expect((await fakes!.calls()).filter((c) => c.args.includes('DefaultConnectionSettings'))).toEqual([]);
    expect((await fakes!.state<RegState>()).connections!.DefaultConnectionSettings!.data).toBe(WPAD_OFF_HEX);
  });

  it('connection settings that keep auto-detect on fail the apply', async () => {
    const { adapter } = await setup({ ...WPAD_USER, ignoreAdd: 'DefaultConnectionSettings' });
    await expect(adapter.apply(OURS)).rejects.toThrow(
      /^Could not apply the system proxy: DefaultConnectionSettings in HKCU\\.*\\Internet Settings\\Connections did not keep the new value/,
    );
  });

  it('runs the tools it is given, not whatever is first on PATH', async () => {
    fakes = await fakeTools({ reg: FAKE_REG, powershell: FAKE_POWERSHELL }, structuredClone(WPAD_USER));
    const bin = join(fakes.dir, 'bin');
    const adapter = new WindowsProxyAdapter({
      env: { ...fakes.env, PATH: '' },
      tools: { reg: join(bin, 'reg'), powershell: join(bin, 'powershell') },
    });
    await adapter.apply(OURS);
    expect(adapter.pointsAt(await adapter.read(), OURS)).toBe(true);
    expect((await fakes.calls()).filter((c) => c.tool === 'powershell')).toEqual([refresh()]);
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
      DefaultConnectionSettings: WPAD_ON_HEX,
    });
    expect(isWindowsSnapshot(good)).toBe(true);
    expect(isWindowsSnapshot({ ...good, DefaultConnectionSettings: null })).toBe(true);
    expect(isWindowsSnapshot({ ...good, DefaultConnectionSettings: '' })).toBe(true);
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
      { ...good, DefaultConnectionSettings: undefined },
      { ...good, DefaultConnectionSettings: 'ABC' },
      { ...good, DefaultConnectionSettings: '0G' },
      { ...good, DefaultConnectionSettings: '46 00' },
      { ...good, DefaultConnectionSettings: 42 },
      { ...good, DefaultConnectionSettings: [0x46] },
    ];
    for (const x of damaged) expect(isWindowsSnapshot(x), JSON.stringify(x)).toBe(false);
  });

  it('refuses connection settings that are not REG_BINARY hex', async () => {
    const main = `\r\nHKEY_CURRENT_USER${INTERNET_SETTINGS_KEY.slice(4)}\r\n\r\nHKEY_CURRENT_USER${CONNECTIONS_KEY.slice(4)}\r\n`;
    const odd = new WindowsProxyAdapter({
      run: (_file, args) =>
        Promise.resolve(
          args[1] === CONNECTIONS_KEY ? '\r\nX\r\n    DefaultConnectionSettings    REG_SZ    46\r\n' : main,
        ),
    });
    await expect(odd.read()).rejects.toThrow(
      /DefaultConnectionSettings .* holds REG_SZ data "46" that Sluice cannot put back/,
    );
  });

  it('clears only the auto-detect bit and increments the counter, carrying and wrapping as a DWORD', () => {
    expect(withoutAutoDetect(WPAD_ON_HEX)).toBe(WPAD_OFF_HEX);
    expect(withoutAutoDetect('46000000FFFFFFFF0F000000')).toBe('460000000000000007000000');
    // Already off, absent, or too short to hold the flags: unchanged.
    expect(withoutAutoDetect(WPAD_OFF_HEX)).toBe(WPAD_OFF_HEX);
    expect(withoutAutoDetect(null)).toBeNull();
    expect(withoutAutoDetect('4600000001000000090000')).toBe('4600000001000000090000');
    expect(autoDetectBit('4600000001000000090000')).toBeNull();
    expect(autoDetectBit(WPAD_ON_HEX)).toBe(true);
  });

  it('on Windows runs reg and powershell from System32 by full path, never a bare name', () => {
    const tools = (root: string) => ({
      reg: `${root}\\System32\\reg.exe`,
      powershell: `${root}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`,
    });
    expect(defaultWindowsTools('win32', { SystemRoot: 'C:\\WINDOWS' })).toEqual(tools('C:\\WINDOWS'));
    expect(defaultWindowsTools('win32', { SYSTEMROOT: 'D:\\Win\\' })).toEqual(tools('D:\\Win'));
    // Missing, or not an absolute drive path (a relative one would be the current folder again).
    for (const env of [{}, { SystemRoot: '' }, { SystemRoot: 'Windows' }, { SystemRoot: '\\\\server\\share' }]) {
      expect(defaultWindowsTools('win32', env), JSON.stringify(env)).toEqual(tools('C:\\Windows'));
    }
    // Elsewhere only tests run them, as fakes on PATH.
    expect(defaultWindowsTools('linux', { SystemRoot: 'C:\\Windows' })).toEqual({
      reg: 'reg',
      powershell: 'powershell',
    });
  });

  it('an adapter for win32 runs those full paths', async () => {
    const files: string[] = [];
    const values = new Map<string, string>();
    const run = (file: string, args: readonly string[]): Promise<string> => {
      files.push(file);
      if (args[0] === 'add') values.set(args[3]!, args[7]!);
      if (args[0] !== 'query') return Promise.resolve('');
      const lines = [...values].map(([name, data]) =>
        name === 'ProxyEnable' ? `    ${name}    REG_DWORD    0x${data}` : `    ${name}    REG_SZ    ${data}`,
      );
      return Promise.resolve(['', 'HKEY_CURRENT_USER\\X', ...lines, ''].join('\r\n'));
    };
    const adapter = new WindowsProxyAdapter({ platform: 'win32', env: { SystemRoot: 'C:\\Windows' }, run });
    await adapter.apply(OURS);
    expect(new Set(files)).toEqual(
      new Set(['C:\\Windows\\System32\\reg.exe', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe']),
    );
    expect(files.filter((f) => f.endsWith('powershell.exe'))).toHaveLength(1);
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
