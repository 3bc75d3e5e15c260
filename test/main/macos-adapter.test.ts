import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemProxyError } from '../../main/system-proxy/gnome-adapter.js';
import {
  isMacSnapshot,
  MacProxyAdapter,
  type MacManualProxy,
  type MacProxySnapshot,
  type MacServiceProxy,
} from '../../main/system-proxy/macos-adapter.js';
import type { OurProxy } from '../../main/system-proxy/types.js';
import { fakeTools, type FakeTools } from '../helpers/fake-tools.js';

interface FakeService extends MacServiceProxy {
  enabled: boolean;
}

interface FakeState {
  services: FakeService[];
  /** The first call whose arguments start with `prefix` prints `text` on stdout and exits with `code`. */
  fail?: { prefix: string; code: number; text: string };
}

/**
 * `networksetup` as it answers on macOS (formats as in its -help and in captured real output), kept
 * in the fake's JSON state. `-set<kind>proxy` turns the kind on, as networksetup's help says; without
 * the optional `authenticated` argument it is modelled as turning authentication off, the pessimistic
 * reading of what the real tool does.
 */
const NETWORKSETUP = String.raw`
const [cmd, name, ...rest] = args;
const fail = state.fail;
if (fail && args.join(' ').startsWith(fail.prefix)) {
  delete state.fail;
  out(fail.text + '\n');
  exit(fail.code);
}
if (cmd === '-listallnetworkservices') {
  out('An asterisk (*) denotes that a network service is disabled.\n');
  for (const s of state.services) out((s.enabled ? '' : '*') + s.name + '\n');
  return;
}
const svc = state.services.find((s) => s.name === name);
if (!svc) {
  out(name + ' is not a recognized network service.\n** Error: The parameters were not valid.\n');
  exit(4);
}
const kinds = { webproxy: 'web', securewebproxy: 'secureWeb', socksfirewallproxy: 'socks' };
const yesNo = (b) => (b ? 'Yes' : 'No');
const onOff = (v) => {
  if (v !== 'on' && v !== 'off') { out('** Error: The parameters were not valid.\n'); exit(4); }
  return v === 'on';
};
let m;
if ((m = /^-get(webproxy|securewebproxy|socksfirewallproxy)$/.exec(cmd))) {
  const p = svc[kinds[m[1]]];
  out('Enabled: ' + yesNo(p.enabled) + '\nServer: ' + p.server + '\nPort: ' + p.port +
    '\nAuthenticated Proxy Enabled: ' + (p.authenticated ? 1 : 0) + '\n');
} else if ((m = /^-set(webproxy|securewebproxy|socksfirewallproxy)$/.exec(cmd))) {
  const p = svc[kinds[m[1]]];
  p.server = rest[0];
  p.port = Number(rest[1]);
  p.enabled = true;
  p.authenticated = rest[2] === 'on';
} else if ((m = /^-set(webproxy|securewebproxy|socksfirewallproxy)state$/.exec(cmd))) {
  svc[kinds[m[1]]].enabled = onOff(rest[0]);
} else if (cmd === '-getautoproxyurl') {
  out('URL: ' + (svc.autoProxy.url === null ? '(null)' : svc.autoProxy.url) + '\nEnabled: ' + yesNo(svc.autoProxy.enabled) + '\n');
} else if (cmd === '-setautoproxyurl') {
  svc.autoProxy = { url: rest[0], enabled: true };
} else if (cmd === '-setautoproxystate') {
  svc.autoProxy.enabled = onOff(rest[0]);
} else if (cmd === '-getproxyautodiscovery') {
  out('Auto Proxy Discovery: ' + (svc.autoDiscovery ? 'On' : 'Off') + '\n');
} else if (cmd === '-setproxyautodiscovery') {
  svc.autoDiscovery = onOff(rest[0]);
} else if (cmd === '-getproxybypassdomains') {
  out(svc.bypassDomains.length > 0 ? svc.bypassDomains.join('\n') + '\n'
    : "There aren't any bypass domains set on " + svc.name + '.\n');
} else if (cmd === '-setproxybypassdomains') {
  svc.bypassDomains = rest[0] === 'Empty' ? [] : rest;
} else {
  out('** Error: Unknown command ' + cmd + '\n');
  exit(4);
}
`;

const manual = (enabled: boolean, server: string, port: number, authenticated = false): MacManualProxy => ({
  enabled,
  server,
  port,
  authenticated,
});
const NONE = (): MacManualProxy => manual(false, '', 0);

const WIFI = 'Wi-Fi';
// Spaces and slashes: one argument each, never split or parsed again.
const LAN = 'USB 10/100/1000 LAN';
const BLUETOOTH = 'Bluetooth PAN';
const OURS: OurProxy = { host: '127.0.0.1', port: 8899, bypass: ['internal.test'] };
const PAC_URL = 'http://127.0.0.1:8899/sluice.pac';

/** A user's manual proxy with bypass domains, a PAC URL with discovery and SOCKS, and a disabled service. */
function userState(): FakeState {
  return {
    services: [
      {
        name: WIFI,
        enabled: true,
        web: manual(true, 'proxy.corp.example', 3128),
        secureWeb: manual(true, 'proxy.corp.example', 3129),
        socks: NONE(),
        autoProxy: { url: null, enabled: false },
        autoDiscovery: false,
        bypassDomains: ['*.local', '169.254/16', 'intranet.corp.example'],
      },
      {
        name: LAN,
        enabled: true,
        web: manual(false, 'old.proxy.example', 8080),
        secureWeb: NONE(),
        socks: manual(true, 'socks.corp.example', 1080),
        autoProxy: { url: 'http://wpad.corp.example/proxy.pac', enabled: true },
        autoDiscovery: true,
        bypassDomains: [],
      },
      {
        name: BLUETOOTH,
        enabled: false,
        web: manual(true, 'bt.example', 8000, true),
        secureWeb: NONE(),
        socks: NONE(),
        autoProxy: { url: null, enabled: false },
        autoDiscovery: false,
        bypassDomains: ['bt.local'],
      },
    ],
  };
}

/** What the adapter should read from a fake state: the enabled services, without `enabled`. */
function snapshotOf(state: FakeState): MacProxySnapshot {
  return { services: state.services.filter((s) => s.enabled).map(({ enabled: _enabled, ...s }) => s) };
}

const ns = (...args: string[]) => ({ tool: 'networksetup', args });
const READS = [
  'webproxy',
  'securewebproxy',
  'socksfirewallproxy',
  'autoproxyurl',
  'proxyautodiscovery',
  'proxybypassdomains',
];
/** The `-get...` calls for a service, all of them or only those named. */
const readsOf = (name: string, only = READS) => READS.filter((f) => only.includes(f)).map((f) => ns(`-get${f}`, name));
const sets = (calls: { tool: string; args: string[] }[]) => calls.filter((c) => c.args[0]!.startsWith('-set'));

describe('macOS adapter, against a fake networksetup', () => {
  let tools: FakeTools;
  let adapter: MacProxyAdapter;

  beforeEach(async () => {
    tools = await fakeTools({ networksetup: NETWORKSETUP }, userState());
    adapter = new MacProxyAdapter({ env: tools.env });
  });

  afterEach(async () => {
    await tools.remove();
  });

  it('reads every value, applies ours with the exact commands, and restores exactly', async () => {
    const before = await adapter.read();
    expect(before).toEqual(snapshotOf(userState()));
    expect(isMacSnapshot(before)).toBe(true);
    expect(adapter.pointsAt(before, OURS)).toBe(false);
    expect(await tools.calls()).toEqual([ns('-listallnetworkservices'), ...readsOf(WIFI), ...readsOf(LAN)]);

    await tools.clearCalls();
    await adapter.apply(OURS);
    const loopbackAndOurs = ['localhost', '127.0.0.1', '::1', 'internal.test'];
    expect(await tools.calls()).toEqual([
      ns('-listallnetworkservices'),
      ...readsOf(WIFI),
      ...readsOf(LAN),
      // The bypass list first, so loopback is excluded before anything points at us.
      ns('-setproxybypassdomains', WIFI, '*.local', '169.254/16', 'intranet.corp.example', ...loopbackAndOurs),
      ns('-setwebproxy', WIFI, '127.0.0.1', '8899'),
      ns('-setwebproxystate', WIFI, 'on'),
      ns('-setsecurewebproxy', WIFI, '127.0.0.1', '8899'),
      ns('-setsecurewebproxystate', WIFI, 'on'),
      ns('-setproxybypassdomains', LAN, ...loopbackAndOurs),
      ns('-setwebproxy', LAN, '127.0.0.1', '8899'),
      ns('-setwebproxystate', LAN, 'on'),
      ns('-setsecurewebproxy', LAN, '127.0.0.1', '8899'),
      ns('-setsecurewebproxystate', LAN, 'on'),
      // Only then what outranks the manual proxies, so ours takes over in one step.
      ns('-setautoproxystate', LAN, 'off'),
      ns('-setproxyautodiscovery', LAN, 'off'),
      ns('-setsocksfirewallproxystate', LAN, 'off'),
      // Every part written is read back.
      ...readsOf(WIFI, ['webproxy', 'securewebproxy', 'proxybypassdomains']),
      ...readsOf(LAN),
    ]);

    const applied = await tools.state<FakeState>();
    const ours = manual(true, '127.0.0.1', 8899);
    expect(applied.services[0]).toEqual({
      ...userState().services[0],
      web: ours,
      secureWeb: ours,
      bypassDomains: ['*.local', '169.254/16', 'intranet.corp.example', ...loopbackAndOurs],
    });
    expect(applied.services[1]).toEqual({
      ...userState().services[1],
      web: ours,
      secureWeb: ours,
      socks: manual(false, 'socks.corp.example', 1080),
      autoProxy: { url: 'http://wpad.corp.example/proxy.pac', enabled: false },
      autoDiscovery: false,
      bypassDomains: loopbackAndOurs,
    });
    expect(applied.services[2]).toEqual(userState().services[2]);
    expect(adapter.pointsAt(snapshotOf(applied), OURS)).toBe(true);
    expect(adapter.pointsAt(snapshotOf(applied), { ...OURS, port: 9000 })).toBe(false);

    await tools.clearCalls();
    await adapter.restore(before);
    expect(sets(await tools.calls())).toEqual([
      ns('-setwebproxy', WIFI, 'proxy.corp.example', '3128'),
      ns('-setwebproxystate', WIFI, 'on'),
      ns('-setsecurewebproxy', WIFI, 'proxy.corp.example', '3129'),
      ns('-setsecurewebproxystate', WIFI, 'on'),
      ns('-setproxybypassdomains', WIFI, '*.local', '169.254/16', 'intranet.corp.example'),
      // The user's discovery and PAC come back first: they outrank ours, which is switched off after.
      ns('-setproxyautodiscovery', LAN, 'on'),
      ns('-setautoproxystate', LAN, 'on'),
      ns('-setsocksfirewallproxystate', LAN, 'on'),
      // Off before the server is written back, which turns it on until the state after it.
      ns('-setwebproxystate', LAN, 'off'),
      ns('-setwebproxy', LAN, 'old.proxy.example', '8080'),
      ns('-setwebproxystate', LAN, 'off'),
      ns('-setsecurewebproxystate', LAN, 'off'),
      ns('-setsecurewebproxy', LAN, '', '0'),
      ns('-setsecurewebproxystate', LAN, 'off'),
      ns('-setproxybypassdomains', LAN, 'Empty'),
    ]);
    // Everything, the disabled service included, exactly as it was.
    expect(await tools.state()).toEqual(userState());
  });

  it('applies PAC mode and restores the PAC URL the user had', async () => {
    const before = snapshotOf(userState());
    await adapter.apply({ ...OURS, pacUrl: PAC_URL });
    const loopbackAndOurs = ['localhost', '127.0.0.1', '::1', 'internal.test'];
    expect(sets(await tools.calls())).toEqual([
      ns('-setproxybypassdomains', WIFI, '*.local', '169.254/16', 'intranet.corp.example', ...loopbackAndOurs),
      ns('-setautoproxyurl', WIFI, PAC_URL),
      ns('-setautoproxystate', WIFI, 'on'),
      ns('-setwebproxystate', WIFI, 'off'),
      ns('-setsecurewebproxystate', WIFI, 'off'),
      ns('-setproxybypassdomains', LAN, ...loopbackAndOurs),
      ns('-setautoproxyurl', LAN, PAC_URL),
      ns('-setautoproxystate', LAN, 'on'),
      ns('-setproxyautodiscovery', LAN, 'off'),
      ns('-setsocksfirewallproxystate', LAN, 'off'),
    ]);
    const applied = snapshotOf(await tools.state<FakeState>());
    expect(applied.services.map((s) => [s.autoProxy, s.web.enabled, s.secureWeb.enabled])).toEqual([
      [{ url: PAC_URL, enabled: true }, false, false],
      [{ url: PAC_URL, enabled: true }, false, false],
    ]);
    expect(adapter.pointsAt(applied, { ...OURS, pacUrl: PAC_URL })).toBe(true);
    expect(adapter.pointsAt(applied, { ...OURS, pacUrl: 'http://127.0.0.1:1/other.pac' })).toBe(false);
    expect(adapter.pointsAt(applied, OURS)).toBe(false);

    await adapter.restore(before);
    const expected = userState();
    // networksetup cannot unset a PAC URL, so Wi-Fi, which never had one, keeps ours, turned off.
    expected.services[0]!.autoProxy = { url: PAC_URL, enabled: false };
    expect(await tools.state()).toEqual(expected);
  });

  it('restores host, port and state of an authenticated proxy, skips a service that is gone and leaves a new one alone', async () => {
    const state = userState();
    state.services = [state.services[0]!];
    state.services[0]!.web.authenticated = true;
    await tools.setState(state);
    const before = await adapter.read();
    expect(before.services[0]!.web).toEqual(manual(true, 'proxy.corp.example', 3128, true));
    await adapter.apply(OURS);

    const applied = await tools.state<FakeState>();
    const appeared: FakeService = { ...userState().services[1]!, name: 'Thunderbolt Bridge' };
    applied.services.push(appeared);
    await tools.setState(applied);
    const gone: MacServiceProxy = { ...before.services[0]!, name: 'iPhone USB' };
    await tools.clearCalls();
    await adapter.restore({ services: [...before.services, gone] });

    const touched = new Set((await tools.calls()).map((c) => c.args[1]));
    expect([...touched]).toEqual([undefined, WIFI]);
    const restored = await tools.state<FakeState>();
    // The password is the user's keychain's and networksetup takes it only with the flag: the flag
    // may need ticking again, everything else is back.
    expect(restored.services[0]).toEqual({ ...state.services[0], web: manual(true, 'proxy.corp.example', 3128) });
    expect(restored.services[1]).toEqual(appeared);
  });

  it('turns a failing networksetup into a SystemProxyError naming the service and what to do', async () => {
    const state = userState();
    state.fail = {
      prefix: `-setsecurewebproxy ${WIFI}`,
      code: 14,
      text: '** Error: Command requires admin privileges.',
    };
    await tools.setState(state);
    const error = await adapter.apply(OURS).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SystemProxyError);
    expect((error as Error).message).toMatch(
      /^Could not apply the system proxy on "Wi-Fi": \*\* Error: Command requires admin privileges\./,
    );
    expect((error as Error).message).toMatch(/asks for an administrator.*Privacy & Security/);

    // "** Error" with exit status 0 is a failure too.
    state.fail = { prefix: `-getsecurewebproxy ${WIFI}`, code: 0, text: '** Error: The parameters were not valid.' };
    await tools.setState(state);
    await expect(adapter.read()).rejects.toThrow(
      new SystemProxyError(
        `Could not read the secure web proxy of "${WIFI}": networksetup said "** Error: The parameters were not valid."`,
      ),
    );
  });

  it('says whether it can work: networksetup there, missing, or no enabled service', async () => {
    expect(await adapter.available()).toEqual({ ok: true });

    // PATH without networksetup.
    const missing = new MacProxyAdapter({ env: { PATH: tools.dir } });
    expect(await missing.available()).toEqual({
      ok: false,
      reason: 'The networksetup command was not found (it ships with macOS).',
    });
    await expect(missing.read()).rejects.toThrow(/networksetup command was not found/);

    const state = userState();
    for (const s of state.services) s.enabled = false;
    await tools.setState(state);
    expect(await adapter.available()).toEqual({
      ok: false,
      reason: 'No network service is enabled, so there is no system proxy to set.',
    });
  });
});

describe('macOS snapshots', () => {
  const valid = (): MacProxySnapshot => snapshotOf(userState());

  it('accepts what read() returns and refuses damaged shapes', () => {
    expect(isMacSnapshot(valid())).toBe(true);
    expect(isMacSnapshot({ services: [] })).toBe(true);

    const damaged: ((s: MacProxySnapshot) => unknown)[] = [
      () => null,
      () => [],
      () => ({}),
      () => ({ services: {} }),
      (s) => ({ services: [...s.services, s.services[0]] }),
      (s) => ({ services: [{ ...s.services[0], name: '' }] }),
      (s) => ({ services: [{ ...s.services[0], name: 'Wi-Fi\nEthernet' }] }),
      (s) => ({ services: [{ ...s.services[0], web: undefined }] }),
      (s) => ({ services: [{ ...s.services[0], socks: { ...s.services[0]!.socks, port: '1080' } }] }),
      (s) => ({ services: [{ ...s.services[0], secureWeb: { ...s.services[0]!.secureWeb, port: 70000 } }] }),
      (s) => ({ services: [{ ...s.services[0], web: { ...s.services[0]!.web, enabled: 'Yes' } }] }),
      (s) => ({ services: [{ ...s.services[0], web: { ...s.services[0]!.web, server: 'a b' } }] }),
      (s) => ({ services: [{ ...s.services[0], web: { ...s.services[0]!.web, authenticated: 0 } }] }),
      (s) => ({ services: [{ ...s.services[0], autoProxy: { url: 1, enabled: false } }] }),
      (s) => ({ services: [{ ...s.services[0], autoProxy: { url: null } }] }),
      (s) => ({ services: [{ ...s.services[0], autoDiscovery: 'Off' }] }),
      (s) => ({ services: [{ ...s.services[0], bypassDomains: 'localhost' }] }),
      (s) => ({ services: [{ ...s.services[0], bypassDomains: ['localhost', 7] }] }),
      (s) => ({ services: [{ ...s.services[0], bypassDomains: ["There aren't any bypass domains set on Wi-Fi."] }] }),
    ];
    for (const damage of damaged) expect(isMacSnapshot(damage(valid()))).toBe(false);
  });

  it('points at us only when every service does', () => {
    const adapter = new MacProxyAdapter({ run: () => Promise.reject(new Error('not used')) });
    const ours = manual(true, OURS.host, OURS.port);
    const s = valid();
    for (const svc of s.services) [svc.web, svc.secureWeb] = [{ ...ours }, { ...ours }];
    expect(adapter.pointsAt(s, OURS)).toBe(true);
    s.services[1]!.secureWeb.enabled = false;
    expect(adapter.pointsAt(s, OURS)).toBe(false);
    expect(adapter.pointsAt({ services: [] }, OURS)).toBe(false);
  });
});
