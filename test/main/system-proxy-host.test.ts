import { createServer } from 'node:http';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostEvent, SystemProxyStatus } from '../../app/contract.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { CA_CERT_FILE, CaFileError } from '../../proxy-core/index.js';
import { execGsettings, GnomeProxyAdapter, type GsettingsRunner } from '../../main/system-proxy/gnome-adapter.js';
import { execCommand } from '../../main/system-proxy/run-command.js';
import { SWITCH_RECORD_FILE } from '../../main/system-proxy/switch-record.js';
import { useCleanup } from '../helpers/cleanup.js';
import { MemoryDesktop } from '../helpers/memory-desktop.js';
import { installed, missingGnomeTools, privateSession, type PrivateSession } from '../helpers/private-session.js';
import { CLI, startCli } from '../helpers/cli.js';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { defer, freshDir } = useCleanup();

if (missingGnomeTools.length > 0) {
  console.warn(
    `Skipping system proxy host tests: ${missingGnomeTools.join(', ')} not installed (libglib2.0-bin, dbus).`,
  );
}

const SCHEMA = 'org.gnome.system.proxy';
/** Where KDE's config tools are installed too, `sluice` changes both desktops' settings, as it should. */
const withKde = installed('kwriteconfig5') && installed('kreadconfig5');
const DESKTOPS = withKde ? 'GNOME, KDE' : 'GNOME';
/** The desktop session the private bus stands for: Plasma (whose GTK programs read GNOME's settings too) or GNOME. */
const SESSION = { XDG_CURRENT_DESKTOP: withKde ? 'KDE' : 'GNOME' };

/** Evaluates a PAC script the way a browser does, with the two helpers ours uses. */
function findProxy(script: string, url: string): string {
  const sandbox = {
    isPlainHostName: (h: string) => !h.includes('.'),
    shExpMatch: (s: string, pattern: string) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ).test(s),
    result: '',
  };
  const host = new URL(url).hostname;
  runInNewContext(`${script}\nresult = FindProxyForURL(${JSON.stringify(url)}, ${JSON.stringify(host)});`, sandbox);
  return sandbox.result;
}

describe.skipIf(missingGnomeTools.length > 0)('system proxy through the host (real gsettings, private bus)', () => {
  let session: PrivateSession;
  let gsettings: GsettingsRunner;

  beforeEach(async () => {
    const bus = await privateSession();
    session = { ...bus, env: { ...bus.env, ...SESSION } };
    gsettings = execGsettings(session.env);
    // The user's own corporate proxy, which must come back exactly.
    await gsettings(['set', SCHEMA, 'autoconfig-url', "'http://wpad.corp.example/proxy.pac'"]);
    await gsettings(['set', SCHEMA, 'ignore-hosts', "['corp.example']"]);
    await gsettings(['set', SCHEMA, 'mode', "'auto'"]);
    if (withKde) {
      await kconfig('kwriteconfig5', 'Proxy Config Script', 'http://wpad.corp.example/proxy.pac');
      await kconfig('kwriteconfig5', 'ProxyType', '2');
    }
  });
  afterEach(async () => {
    await session.close();
  });

  /** KDE's proxy settings in the private session's config dir. */
  async function kconfig(tool: 'kwriteconfig5' | 'kreadconfig5', key: string, value?: string): Promise<string> {
    const args = ['--file', 'kioslaverc', '--group', 'Proxy Settings', '--key', key];
    const run = execCommand(session.env);
    return (await run(tool, value === undefined ? [...args, '--default', '(absent)'] : [...args, value])).trim();
  }

  async function get(key: string, child = ''): Promise<string> {
    return (await gsettings(['get', `${SCHEMA}${child}`, key])).trim();
  }

  async function makeHost(dataDir?: string): Promise<{ host: SluiceHost; events: HostEvent[]; dataDir: string }> {
    const dir = dataDir ?? (await freshDir());
    const host = await SluiceHost.create({
      dataDir: dir,
      systemProxyAdapters: [new GnomeProxyAdapter({ env: session.env })],
    });
    defer(() => host.close());
    const events: HostEvent[] = [];
    host.subscribe((e) => events.push(e));
    await host.call('proxy.setPort', { port: 0 });
    return { host, events, dataDir: dir };
  }

  it('switches on (starting the proxy), follows a port change, and restores exactly on switch-off', async () => {
    const { host, events, dataDir } = await makeHost();
    expect(await host.call('systemProxy.status', {})).toMatchObject({
      state: 'off',
      supported: true,
      targets: ['GNOME'],
    });

    const on = await host.call('systemProxy.set', { enabled: true });
    const proxy = await host.call('proxy.status', {});
    expect(proxy.state).toBe('running');
    expect(on).toMatchObject({ state: 'on', targets: ['GNOME'], mode: 'manual', address: `127.0.0.1:${proxy.port}` });
    expect(await get('mode')).toBe("'manual'");
    expect(await get('port', '.http')).toBe(String(proxy.port));
    expect(await get('host', '.https')).toBe("'127.0.0.1'");
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(true);
    // Every window hears it.
    expect(events.filter((e) => e.type === 'system-proxy-status').at(-1)).toMatchObject({ status: { state: 'on' } });

    await host.call('proxy.setPort', { port: 0 });
    const moved = await host.call('proxy.status', {});
    expect(moved.port).not.toBe(proxy.port);
    expect(await get('port', '.http')).toBe(String(moved.port));
    expect((await host.call('systemProxy.status', {})).address).toBe(`127.0.0.1:${moved.port}`);

    expect(await host.call('systemProxy.set', { enabled: false })).toMatchObject({ state: 'off' });
    expect(await get('mode')).toBe("'auto'");
    expect(await get('autoconfig-url')).toBe("'http://wpad.corp.example/proxy.pac'");
    expect(await get('ignore-hosts')).toBe("['corp.example']");
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(false);
  });

  it('restores the user settings when the host closes (quit) and when the proxy is stopped', async () => {
    const first = await makeHost();
    await first.host.call('systemProxy.set', { enabled: true });
    expect(await get('mode')).toBe("'manual'");
    await first.host.call('proxy.stop', {});
    expect(await get('mode')).toBe("'auto'");
    expect((await first.host.call('systemProxy.status', {})).state).toBe('off');
    expect(
      first.events.some((e) => e.type === 'host-notice' && /switched off because the proxy stopped/.test(e.message)),
    ).toBe(true);

    const second = await makeHost();
    await second.host.call('systemProxy.set', { enabled: true });
    expect(await get('mode')).toBe("'manual'");
    await second.host.close();
    expect(await get('mode')).toBe("'auto'");
    expect(await get('autoconfig-url')).toBe("'http://wpad.corp.example/proxy.pac'");
  });

  it('in PAC mode points the system at a script the proxy serves, which goes direct without Sluice', async () => {
    const { host } = await makeHost();
    const on = await host.call('systemProxy.set', { enabled: true, mode: 'pac' });
    const { port } = await host.call('proxy.status', {});
    const pacUrl = `http://127.0.0.1:${port}/sluice.pac`;
    expect(on).toMatchObject({ state: 'on', mode: 'pac', pacUrl });
    expect(await get('mode')).toBe("'auto'");
    expect(await get('autoconfig-url')).toBe(`'${pacUrl}'`);

    const res = await fetch(pacUrl);
    expect(res.headers.get('content-type')).toBe('application/x-ns-proxy-autoconfig');
    const script = await res.text();
    expect(findProxy(script, 'https://api.example.com/v1')).toBe(`PROXY 127.0.0.1:${port}; DIRECT`);
    expect(findProxy(script, 'http://localhost:3000/')).toBe('DIRECT');
    expect(findProxy(script, 'http://127.0.0.1:3000/')).toBe('DIRECT');

    await host.call('systemProxy.set', { enabled: false });
    expect(await get('autoconfig-url')).toBe("'http://wpad.corp.example/proxy.pac'");
  });

  it('a second Sluice with the same data dir never applies over a running first one', async () => {
    const first = await makeHost();
    const on = await first.host.call('systemProxy.set', { enabled: true });
    const second = await makeHost(first.dataDir);
    const refused: SystemProxyStatus = await second.host.call('systemProxy.set', { enabled: true });
    expect(refused.state).toBe('off');
    expect(refused.message).toMatch(/Another Sluice \(process \d+\) has the system proxy pointed at 127\.0\.0\.1:\d+/);
    // Still the first one's, and switching off in the second leaves it alone.
    expect(await get('port', '.http')).toBe(on.address!.split(':')[1]);
    await second.host.call('systemProxy.set', { enabled: false });
    expect(await get('mode')).toBe("'manual'");
    await second.host.close();
    expect(await get('mode')).toBe("'manual'");
    await first.host.call('systemProxy.set', { enabled: false });
    expect(await get('mode')).toBe("'auto'");
  });

  it('after a crash (SIGKILL with --system-proxy on) the next start restores and says so', async () => {
    const dataDir = await freshDir();
    const cli = await startCli(['--port', '0', '--no-ui', '--data-dir', dataDir, '--system-proxy'], CLI, session.env);
    defer(() => cli.stop('SIGKILL'));
    const line = await cli.line('system-proxy: ', 10_000);
    expect(line).toBe(`system-proxy: http://127.0.0.1:${cli.port} (${DESKTOPS})`);
    expect(await get('port', '.http')).toBe(String(cli.port));
    if (withKde) {
      expect(await kconfig('kreadconfig5', 'ProxyType')).toBe('1');
      expect(await kconfig('kreadconfig5', 'httpsProxy')).toBe(`http://127.0.0.1 ${cli.port}`);
    }

    const spill = readdirSync(tmpdir()).filter((name) => name.startsWith(`sluice-spill-${cli.child.pid}-`));
    expect(spill).toHaveLength(1);
    await cli.stop('SIGKILL');
    expect(await get('mode')).toBe("'manual'"); // what a crash leaves behind
    expect(existsSync(join(tmpdir(), spill[0]!))).toBe(true);

    const again = await startCli(['--port', '0', '--no-ui', '--data-dir', dataDir], CLI, session.env);
    defer(() => again.stop());
    expect(again.stderr()).toContain(`Your previous proxy settings have been restored (${DESKTOPS})`);
    expect(again.stderr()).toMatch(/did not shut down cleanly last time/);
    if (withKde) {
      expect(await kconfig('kreadconfig5', 'ProxyType')).toBe('2');
      expect(await kconfig('kreadconfig5', 'Proxy Config Script')).toBe('http://wpad.corp.example/proxy.pac');
      expect(await kconfig('kreadconfig5', 'httpsProxy')).toBe('(absent)');
    }
    expect(await get('mode')).toBe("'auto'");
    expect(await get('autoconfig-url')).toBe("'http://wpad.corp.example/proxy.pac'");
    expect(await get('ignore-hosts')).toBe("['corp.example']");
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(false);
    // The crashed one's spill folder (bodies can fill gigabytes) goes too.
    await vi.waitFor(() => expect(existsSync(join(tmpdir(), spill[0]!))).toBe(false), { timeout: 5000 });
    expect(await again.stop()).toBe(0);
  });

  it('a crashed Sluice whose port another program took is still recovered', async () => {
    const dataDir = await freshDir();
    const cli = await startCli(['--port', '0', '--no-ui', '--data-dir', dataDir, '--system-proxy'], CLI, session.env);
    defer(() => cli.stop('SIGKILL'));
    await cli.line('system-proxy: ', 10_000);
    await cli.stop('SIGKILL');
    // Something else answers on that port now: it is not the Sluice of the record.
    const squatter = createServer((_req, res) => res.end('not sluice'));
    await new Promise<void>((resolve) => squatter.listen(cli.port, '127.0.0.1', resolve));
    defer(() => new Promise((resolve) => squatter.close(resolve)));
    const again = await startCli(['--port', '0', '--no-ui', '--data-dir', dataDir], CLI, session.env);
    defer(() => again.stop());
    expect(again.stderr()).toMatch(/did not shut down cleanly last time/);
    expect(await get('mode')).toBe("'auto'");
  });

  it('a second `sluice --system-proxy` with another data dir leaves the first one in charge', async () => {
    const first = await startCli(
      ['--port', '0', '--no-ui', '--data-dir', await freshDir(), '--system-proxy'],
      CLI,
      session.env,
    );
    defer(() => first.stop());
    await first.line('system-proxy: ', 10_000);
    const second = await startCli(
      ['--port', '0', '--no-ui', '--data-dir', await freshDir(), '--system-proxy'],
      CLI,
      session.env,
    );
    defer(() => second.stop());
    await vi.waitFor(
      () =>
        expect(second.stderr()).toMatch(
          /WARNING: system proxy not switched on: Another Sluice \(process \d+, data folder /,
        ),
      {
        timeout: 10_000,
      },
    );
    expect(await get('port', '.http')).toBe(String(first.port));
    expect(await second.stop()).toBe(0);
    expect(await get('port', '.http')).toBe(String(first.port));
    expect(await first.stop()).toBe(0);
    expect(await get('mode')).toBe("'auto'");
  });

  it('a stop that arrives during a switch-on waits for it, then switches off and restores', async () => {
    const { host } = await makeHost();
    const [on, stopped] = await Promise.all([
      host.call('systemProxy.set', { enabled: true }),
      host.call('proxy.stop', {}),
    ]);
    expect(on.state).toBe('on');
    expect(stopped.state).toBe('stopped');
    expect((await host.call('systemProxy.status', {})).state).toBe('off');
    expect(await get('mode')).toBe("'auto'");
  });

  it('a clean exit (SIGTERM) of `sluice --system-proxy` restores the settings', async () => {
    const dataDir = await freshDir();
    const cli = await startCli(['--port', '0', '--no-ui', '--data-dir', dataDir, '--system-proxy'], CLI, session.env);
    defer(() => cli.stop('SIGKILL'));
    await cli.line('system-proxy: ', 10_000);
    expect(await get('mode')).toBe("'manual'");
    expect(await cli.stop('SIGTERM')).toBe(0);
    expect(await get('mode')).toBe("'auto'");
  });
});

describe.skipIf(missingGnomeTools.length > 0)('leaving `sluice --system-proxy` (real gsettings, private bus)', () => {
  let session: PrivateSession;
  beforeEach(async () => {
    const bus = await privateSession();
    session = { ...bus, env: { ...bus.env, ...SESSION } };
  });
  afterEach(async () => {
    await session.close();
  });

  async function mode(): Promise<string> {
    return (await execGsettings(session.env)(['get', SCHEMA, 'mode'])).trim();
  }

  for (const [how, signals] of [
    ['a closed terminal (SIGHUP)', ['SIGHUP']],
    ['a double Ctrl-C', ['SIGINT', 'SIGINT']],
  ] as const) {
    it(`restores on ${how}`, async () => {
      const dataDir = await freshDir();
      const har = join(dataDir, 'out.har');
      const cli = await startCli(
        ['--port', '0', '--no-ui', '--data-dir', dataDir, '--system-proxy', '--har', har],
        CLI,
        session.env,
      );
      defer(() => cli.stop('SIGKILL'));
      await cli.line('system-proxy: ', 10_000);
      expect(await mode()).toBe("'manual'");
      const exited = new Promise((resolve) => cli.child.once('exit', resolve));
      for (const signal of signals) cli.child.kill(signal);
      await exited;
      expect(await mode()).toBe("'none'");
    });
  }
});

describe.skipIf(missingGnomeTools.length > 0)('a session without a desktop (ssh, a server)', () => {
  let session: PrivateSession;
  beforeEach(async () => {
    // A session bus and gsettings, kwriteconfig5 where installed, but no desktop: what a login
    // over ssh to a machine with desktop packages looks like.
    session = await privateSession();
  });
  afterEach(async () => {
    await session.close();
  });

  it("`sluice --system-proxy` changes no desktop's settings and says why", async () => {
    const cli = await startCli(
      ['--port', '0', '--no-ui', '--data-dir', await freshDir(), '--system-proxy'],
      CLI,
      session.env,
    );
    defer(() => cli.stop());
    await vi.waitFor(() => expect(cli.stderr()).toContain('WARNING: system proxy not switched on:'), {
      timeout: 10_000,
    });
    // Once, though both GNOME's and KDE's tools are there.
    expect(cli.stderr()).toContain(
      'WARNING: system proxy not switched on: The system proxy cannot be changed here: ' +
        'No GNOME or KDE session is running (XDG_CURRENT_DESKTOP and DESKTOP_SESSION are not set).\n',
    );
    expect(cli.stdoutLines.some((line) => line.startsWith('system-proxy:'))).toBe(false);
    expect(await cli.stop()).toBe(0);
    expect(existsSync(join(session.env['XDG_CONFIG_HOME']!, 'kioslaverc'))).toBe(false);
    expect((await execGsettings(session.env)(['get', SCHEMA, 'mode'])).trim()).toBe("'none'");
    // Not even dconf's database: nothing was written at all.
    expect(existsSync(join(session.env['XDG_CONFIG_HOME']!, 'dconf'))).toBe(false);
  });
});

describe('system proxy decisions in the host (in-memory desktop)', () => {
  it('keeps the proxy running when stopping it could not restore the system proxy', async () => {
    const desktop = new MemoryDesktop('GNOME');
    const host = await SluiceHost.create({ dataDir: await freshDir(), systemProxyAdapters: [desktop] });
    defer(() => host.close());
    const events: HostEvent[] = [];
    host.subscribe((e) => events.push(e));
    await host.call('proxy.setPort', { port: 0 });
    await host.call('systemProxy.set', { enabled: true });
    desktop.failRestore = true;
    expect((await host.call('proxy.stop', {})).state).toBe('running');
    expect(events.some((e) => e.type === 'host-notice' && /The proxy keeps running/.test(e.message))).toBe(true);
    expect((await host.call('systemProxy.status', {})).state).toBe('error');
    desktop.failRestore = false;
    expect((await host.call('proxy.stop', {})).state).toBe('stopped');
    expect(desktop.setting.proxy).toBe('corp:3128');
  });

  it('a switch that fails to open beside a CA that fails is awaited and said, not left to end the process', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    defer(async () => process.off('unhandledRejection', onUnhandled));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    defer(async () => warn.mockRestore());

    const failingDesktop = (delayMs: number): MemoryDesktop => {
      const desktop = new MemoryDesktop('GNOME');
      desktop.available = async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        throw new Error('the session bus went away');
      };
      return desktop;
    };
    // The CA fails at once (half a pair); the switch fails later, after the host gave up.
    const dataDir = await freshDir();
    await writeFile(join(dataDir, CA_CERT_FILE), 'not a certificate');
    await expect(SluiceHost.create({ dataDir, systemProxyAdapters: [failingDesktop(100)] })).rejects.toBeInstanceOf(
      CaFileError,
    );
    const pastTheSwitch = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 200));
    await pastTheSwitch();
    expect(unhandled).toEqual([]);
    expect(warn).toHaveBeenCalledWith(
      'sluice: the system proxy switch could not start either: the session bus went away',
    );
    // The switch fails at once while the CA is made: the host fails with the switch's error.
    await expect(
      SluiceHost.create({ dataDir: await freshDir(), systemProxyAdapters: [failingDesktop(0)] }),
    ).rejects.toThrow('the session bus went away');
    await pastTheSwitch();
    expect(unhandled).toEqual([]);
  });

  it('says why, and a switch-on changes nothing and does not throw', async () => {
    const dataDir = await freshDir();
    const env = { PATH: '/nonexistent', XDG_CURRENT_DESKTOP: 'GNOME' };
    const host = await SluiceHost.create({
      dataDir,
      systemProxyAdapters: [new GnomeProxyAdapter({ env, run: execGsettings(env) })],
    });
    defer(() => host.close());
    const status = await host.call('systemProxy.status', {});
    expect(status).toMatchObject({ state: 'off', supported: false });
    expect(status.message).toMatch(/cannot be changed here: The gsettings command is not installed/);
    expect(await host.call('systemProxy.set', { enabled: true })).toEqual(status);
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(false);
    await expect(host.call('systemProxy.set', { enabled: 'yes' as unknown as boolean })).rejects.toThrow(
      /true or false/,
    );
  });
});
