import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemProxyError } from '../../main/system-proxy/types.js';
import {
  isMacSnapshot,
  MacProxyAdapter,
  type MacManualProxy,
  type MacProxySnapshot,
  type MacServiceProxy,
} from '../../main/system-proxy/macos-adapter.js';
import type { OurProxy } from '../../main/system-proxy/types.js';
import { execCommand } from '../../main/system-proxy/run-command.js';
import { fakeTools, type FakeCall, type FakeTools } from '../helpers/fake-tools.js';

interface FakeService extends MacServiceProxy {
  enabled: boolean;
}

interface FakeState {
  services: FakeService[];
  /**
   * The first call whose arguments start with `prefix` (every such call with `always`) prints `text`
   * on stdout and exits with `code`, changing nothing.
   */
  fail?: { prefix: string; code: number; text: string; always?: boolean };
}

/**
 * `networksetup` as it answers on macOS (formats as in its -help and in captured real output), kept
 * in the fake's JSON state. `-set<kind>proxy` turns the kind on, as networksetup's help says; without
 * the optional `authenticated` argument it is modelled as turning authentication off, the pessimistic
 * reading of what the real tool does. An empty server is refused: whether the real tool takes it is
 * not known, so the adapter must not depend on it.
 *
 * The adapter runs services side by side. The real tool is taken to apply each change whole (it
 * goes through the system preferences, which it locks to write; not confirmed on a Mac), as the
 * fake-tools wrapper does with its state.
 */
const NETWORKSETUP = String.raw`
networksetup(state, out, exit);

function networksetup(state, out, exit) {
const [cmd, name, ...rest] = args;
const fail = state.fail;
if (fail && args.join(' ').startsWith(fail.prefix)) {
  if (!fail.always) delete state.fail;
  out(fail.text + (fail.text ? '\n' : ''));
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
  if (!rest[0]) { out('** Error: The parameters were not valid.\n'); exit(4); }
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

const ns = (...args: string[]): FakeCall => ({ tool: 'networksetup', args });
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
const isSet = (c: FakeCall) => c.args[0]!.startsWith('-set');
const sets = (calls: FakeCall[]) => calls.filter(isSet);
const sorted = (calls: FakeCall[]) => [...calls].sort((a, b) => a.args.join(' ').localeCompare(b.args.join(' ')));

/**
 * One service's calls in the three steps the adapter takes for it: its reads (side by side, so in
 * any order), its writes (in order, nothing read in between), then the read-backs (any order).
 * Services run side by side, so only calls of one service have an order to check.
 */
function stepsOf(calls: FakeCall[], name: string): { reads: FakeCall[]; writes: FakeCall[]; checks: FakeCall[] } {
  const mine = calls.filter((c) => c.args[1] === name);
  const first = mine.findIndex(isSet);
  const last = mine.findLastIndex(isSet);
  if (first === -1) return { reads: sorted(mine), writes: [], checks: [] };
  return {
    reads: sorted(mine.slice(0, first)),
    writes: mine.slice(first, last + 1),
    checks: sorted(mine.slice(last + 1)),
  };
}

/** A service on a Mac that never had a proxy: nothing set, macOS's default bypass list. */
function freshService(name: string): FakeService {
  return {
    name,
    enabled: true,
    web: NONE(),
    secureWeb: NONE(),
    socks: NONE(),
    autoProxy: { url: null, enabled: false },
    autoDiscovery: false,
    bypassDomains: ['*.local', '169.254/16'],
  };
}

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
    const reads = await tools.calls();
    // Each part of each enabled service read once, side by side.
    expect(reads[0]).toEqual(ns('-listallnetworkservices'));
    expect(sorted(reads.slice(1))).toEqual(sorted([...readsOf(WIFI), ...readsOf(LAN)]));

    await tools.clearCalls();
    await adapter.apply(OURS);
    const loopbackAndOurs = ['localhost', '127.0.0.1', '::1', 'internal.test'];
    let calls = await tools.calls();
    expect(calls[0]).toEqual(ns('-listallnetworkservices'));
    expect(calls.filter((c) => c.args[1] === BLUETOOTH)).toEqual([]);
    expect(stepsOf(calls, WIFI)).toEqual({
      reads: sorted(readsOf(WIFI)),
      writes: [
        // The bypass list first, so loopback is excluded before anything points at us.
        ns('-setproxybypassdomains', WIFI, '*.local', '169.254/16', 'intranet.corp.example', ...loopbackAndOurs),
        // Writing a server turns its kind on: no state command after it.
        ns('-setwebproxy', WIFI, '127.0.0.1', '8899'),
        ns('-setsecurewebproxy', WIFI, '127.0.0.1', '8899'),
      ],
      // Every part written is read back, and only those.
      checks: sorted(readsOf(WIFI, ['webproxy', 'securewebproxy', 'proxybypassdomains'])),
    });
    expect(stepsOf(calls, LAN)).toEqual({
      reads: sorted(readsOf(LAN)),
      writes: [
        ns('-setproxybypassdomains', LAN, ...loopbackAndOurs),
        ns('-setwebproxy', LAN, '127.0.0.1', '8899'),
        ns('-setsecurewebproxy', LAN, '127.0.0.1', '8899'),
        // Only then what outranks the manual proxies, so ours takes over in one step.
        ns('-setautoproxystate', LAN, 'off'),
        ns('-setproxyautodiscovery', LAN, 'off'),
        ns('-setsocksfirewallproxystate', LAN, 'off'),
      ],
      checks: sorted(readsOf(LAN)),
    });
    expect(calls).toHaveLength(1 + 6 + 3 + 3 + 6 + 6 + 6);

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
    calls = await tools.calls();
    expect(calls.filter((c) => c.args[1] === BLUETOOTH)).toEqual([]);
    expect(stepsOf(calls, WIFI)).toEqual({
      reads: sorted(readsOf(WIFI)),
      writes: [
        ns('-setwebproxy', WIFI, 'proxy.corp.example', '3128'),
        ns('-setsecurewebproxy', WIFI, 'proxy.corp.example', '3129'),
        // Loopback leaves the bypass list last, once nothing points at us.
        ns('-setproxybypassdomains', WIFI, '*.local', '169.254/16', 'intranet.corp.example'),
      ],
      checks: sorted(readsOf(WIFI, ['webproxy', 'securewebproxy', 'proxybypassdomains'])),
    });
    expect(stepsOf(calls, LAN)).toEqual({
      reads: sorted(readsOf(LAN)),
      writes: [
        // The user's discovery and PAC come back first: they outrank ours, which is switched off after.
        ns('-setproxyautodiscovery', LAN, 'on'),
        ns('-setautoproxystate', LAN, 'on'),
        ns('-setsocksfirewallproxystate', LAN, 'on'),
        // Off before the server is written back, which turns it on until the state after it.
        ns('-setwebproxystate', LAN, 'off'),
        ns('-setwebproxy', LAN, 'old.proxy.example', '8080'),
        ns('-setwebproxystate', LAN, 'off'),
        // The user never had a secure web proxy: only turned off, the empty server is not written.
        ns('-setsecurewebproxystate', LAN, 'off'),
        ns('-setproxybypassdomains', LAN, 'Empty'),
      ],
      checks: sorted(readsOf(LAN)),
    });
    // Everything, the disabled service included, as it was, except the server networksetup cannot
    // clear: ours stays in the secure web proxy the user never had, turned off.
    const expected = userState();
    expected.services[1]!.secureWeb = manual(false, '127.0.0.1', 8899);
    expect(await tools.state()).toEqual(expected);
  });

  it('applies PAC mode and restores the PAC URL the user had', async () => {
    const before = snapshotOf(userState());
    await adapter.apply({ ...OURS, pacUrl: PAC_URL });
    const loopbackAndOurs = ['localhost', '127.0.0.1', '::1', 'internal.test'];
    const calls = await tools.calls();
    expect(stepsOf(calls, WIFI).writes).toEqual([
      ns('-setproxybypassdomains', WIFI, '*.local', '169.254/16', 'intranet.corp.example', ...loopbackAndOurs),
      // Setting the URL turns it on.
      ns('-setautoproxyurl', WIFI, PAC_URL),
      ns('-setwebproxystate', WIFI, 'off'),
      ns('-setsecurewebproxystate', WIFI, 'off'),
    ]);
    expect(stepsOf(calls, LAN).writes).toEqual([
      ns('-setproxybypassdomains', LAN, ...loopbackAndOurs),
      ns('-setautoproxyurl', LAN, PAC_URL),
      ns('-setproxyautodiscovery', LAN, 'off'),
      ns('-setsocksfirewallproxystate', LAN, 'off'),
    ]);
    expect(sets(calls)).toHaveLength(8);
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

  it('on switch-off restores only the services that still point at us', async () => {
    const before = await adapter.read();
    await adapter.apply(OURS);

    // Meanwhile the user set their own proxy on the LAN by hand, and plugged in an iPhone, which
    // macOS gave no proxy.
    const changed = await tools.state<FakeState>();
    changed.services[1]!.web = manual(true, 'hotel.proxy.example', 8080);
    changed.services[1]!.secureWeb = manual(false, 'hotel.proxy.example', 8080);
    changed.services.push(freshService('iPhone USB'));
    await tools.setState(changed);

    // What the switch does: Wi-Fi still points at us, so the settings are ours to restore.
    expect(adapter.pointsAt(await adapter.read(), OURS)).toBe(true);
    await tools.clearCalls();
    await adapter.restore(before, OURS);

    const calls = await tools.calls();
    // The LAN is read (to see that it is no longer ours) and nothing more; the iPhone is not in the
    // snapshot, so it is not even read.
    expect(sorted(calls.filter((c) => c.args[1] === LAN))).toEqual(sorted(readsOf(LAN)));
    expect(calls.filter((c) => c.args[1] === 'iPhone USB')).toEqual([]);
    expect(sets(calls).every((c) => c.args[1] === WIFI)).toBe(true);
    const after = await tools.state<FakeState>();
    expect(after.services[0]).toEqual(userState().services[0]);
    expect(after.services[1]).toEqual(changed.services[1]);
    expect(after.services[3]).toEqual(freshService('iPhone USB'));
    expect(adapter.pointsAt(snapshotOf(after), OURS)).toBe(false);

    // Without `ours` (the rollback of a failed apply) every snapshot service is written back.
    await adapter.restore(before);
    expect((await tools.state<FakeState>()).services[1]).toEqual({
      ...userState().services[1],
      // The user's secure web proxy had no server; networksetup cannot clear the hotel's.
      secureWeb: manual(false, 'hotel.proxy.example', 8080),
    });
  });

  it('in PAC mode leaves a service whose auto proxy URL the user changed', async () => {
    const pac = { ...OURS, pacUrl: PAC_URL };
    const before = await adapter.read();
    await adapter.apply(pac);
    const changed = await tools.state<FakeState>();
    changed.services[0]!.autoProxy = { url: 'http://wpad.home.example/proxy.pac', enabled: true };
    await tools.setState(changed);

    expect(adapter.pointsAt(await adapter.read(), pac)).toBe(true);
    await tools.clearCalls();
    await adapter.restore(before, pac);
    expect(sets(await tools.calls()).every((c) => c.args[1] === LAN)).toBe(true);
    const after = await tools.state<FakeState>();
    expect(after.services[0]).toEqual(changed.services[0]);
    expect(after.services[1]).toEqual(userState().services[1]);
  });

  it('on a Mac that never had a proxy, restores by turning ours off, with few calls, services side by side', async () => {
    const names = ['Wi-Fi', 'Ethernet', 'Thunderbolt Bridge'];
    const fresh: FakeState = { services: names.map(freshService) };
    await tools.setState(fresh);
    // Counts the calls in flight, per service, to see that services are not done one after another.
    const run = execCommand(tools.env);
    const inFlight = new Map<string, number>();
    let mostServicesAtOnce = 0;
    const counting = new MacProxyAdapter({
      run: async (file, args) => {
        const svc = args[1] ?? '';
        inFlight.set(svc, (inFlight.get(svc) ?? 0) + 1);
        mostServicesAtOnce = Math.max(mostServicesAtOnce, [...inFlight.values()].filter((n) => n > 0).length);
        try {
          return await run(file, args);
        } finally {
          inFlight.set(svc, inFlight.get(svc)! - 1);
        }
      },
    });
    const before = await counting.read();
    await tools.clearCalls();

    await counting.apply(OURS);
    const loopbackAndOurs = ['localhost', '127.0.0.1', '::1', 'internal.test'];
    let calls = await tools.calls();
    for (const name of names) {
      expect(stepsOf(calls, name)).toEqual({
        reads: sorted(readsOf(name)),
        writes: [
          ns('-setproxybypassdomains', name, '*.local', '169.254/16', ...loopbackAndOurs),
          ns('-setwebproxy', name, '127.0.0.1', '8899'),
          ns('-setsecurewebproxy', name, '127.0.0.1', '8899'),
        ],
        checks: sorted(readsOf(name, ['webproxy', 'securewebproxy', 'proxybypassdomains'])),
      });
    }
    // Was 43: the state after each server write is gone, it is what the write does.
    expect(calls).toHaveLength(1 + 3 * (6 + 3 + 3));
    expect(mostServicesAtOnce).toBe(names.length);

    mostServicesAtOnce = 0;
    await tools.clearCalls();
    await counting.restore(before, OURS);
    calls = await tools.calls();
    for (const name of names) {
      expect(stepsOf(calls, name)).toEqual({
        reads: sorted(readsOf(name)),
        // Never `-setwebproxy <service> "" 0`: the empty server is only turned off.
        writes: [
          ns('-setwebproxystate', name, 'off'),
          ns('-setsecurewebproxystate', name, 'off'),
          ns('-setproxybypassdomains', name, '*.local', '169.254/16'),
        ],
        // The read-back takes "off, server still ours" for a kind that had no server.
        checks: sorted(readsOf(name, ['webproxy', 'securewebproxy', 'proxybypassdomains'])),
      });
    }
    // Was 49 (7 writes and 3 read-backs a service, one service after another).
    expect(calls).toHaveLength(1 + 3 * (6 + 3 + 3));
    expect(mostServicesAtOnce).toBe(names.length);

    const after = await tools.state<FakeState>();
    const offOurs = manual(false, '127.0.0.1', 8899);
    expect(after).toEqual({ services: fresh.services.map((s) => ({ ...s, web: offOurs, secureWeb: offOurs })) });
    expect(counting.pointsAt(snapshotOf(after), OURS)).toBe(false);
  });

  it('refuses a write that networksetup took without keeping it, and finishes the other services', async () => {
    const state = userState();
    state.services[2]!.enabled = true;
    await tools.setState(state);
    const before = await adapter.read();
    await adapter.apply(OURS);

    // The LAN's web proxy stays on, though networksetup said nothing.
    const applied = await tools.state<FakeState>();
    applied.fail = { prefix: `-setwebproxystate ${LAN} off`, code: 0, text: '', always: true };
    await tools.setState(applied);
    await expect(adapter.restore(before, OURS)).rejects.toThrow(
      new SystemProxyError(
        `Could not restore the previous system proxy: networksetup did not keep the new settings for "${LAN}" ` +
          '(web proxy). Check System Settings > Network > Details > Proxies.',
      ),
    );
    const after = await tools.state<FakeState>();
    expect(after.services[0]).toEqual(userState().services[0]);
    // Restored all the same (its password flag aside, see the test of an authenticated proxy).
    expect(after.services[2]).toEqual({
      ...state.services[2],
      web: manual(true, 'bt.example', 8000),
      secureWeb: manual(false, '127.0.0.1', 8899),
    });
  });

  it('names every service that failed and gives the administrator hint once', async () => {
    const state = userState();
    state.fail = {
      prefix: '-setwebproxy ',
      code: 14,
      text: '** Error: Command requires admin privileges.',
      always: true,
    };
    await tools.setState(state);
    const message = await adapter.apply(OURS).then(
      () => '',
      (err: unknown) => (err as Error).message,
    );
    expect(message).toMatch(
      new RegExp(
        `^Could not apply the system proxy on "${WIFI}": \\*\\* Error: Command requires admin privileges\\. ` +
          `Could not apply the system proxy on "${LAN}": \\*\\* Error: Command requires admin privileges\\. macOS asks`,
      ),
    );
    expect(message.match(/asks for an administrator/g)).toHaveLength(1);
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

  it('points at us when any service sends traffic to us', () => {
    const adapter = new MacProxyAdapter({ run: () => Promise.reject(new Error('not used')) });
    const ours = manual(true, OURS.host, OURS.port);
    const s = valid();
    expect(adapter.pointsAt(s, OURS)).toBe(false);
    expect(adapter.pointsAt({ services: [] }, OURS)).toBe(false);

    // One service is enough: a dock, an iPhone or a VPN appeared after apply, or the user changed
    // the other one by hand.
    s.services[1]!.web = { ...ours };
    expect(adapter.pointsAt(s, OURS)).toBe(true);
    // So is one of the two proxies: the other kind of traffic would still go to a Sluice that is gone.
    s.services[1]!.web = { ...ours, enabled: false };
    s.services[1]!.secureWeb = { ...ours };
    expect(adapter.pointsAt(s, OURS)).toBe(true);
    // Ours but off, another port, another host: not ours.
    s.services[1]!.secureWeb = { ...ours, enabled: false };
    expect(adapter.pointsAt(s, OURS)).toBe(false);
    s.services[1]!.secureWeb = { ...ours, port: 9000 };
    expect(adapter.pointsAt(s, OURS)).toBe(false);
    s.services[1]!.secureWeb = { ...ours, server: '127.0.0.2' };
    expect(adapter.pointsAt(s, OURS)).toBe(false);

    // PAC mode: our URL, turned on, in any service.
    const pac = { ...OURS, pacUrl: PAC_URL };
    expect(adapter.pointsAt(s, pac)).toBe(false);
    s.services[0]!.autoProxy = { url: PAC_URL, enabled: false };
    expect(adapter.pointsAt(s, pac)).toBe(false);
    s.services[0]!.autoProxy = { url: PAC_URL, enabled: true };
    expect(adapter.pointsAt(s, pac)).toBe(true);
    expect(adapter.pointsAt(s, { ...pac, pacUrl: 'http://127.0.0.1:1/other.pac' })).toBe(false);
  });
});
