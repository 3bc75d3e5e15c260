import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  execGsettings,
  GnomeProxyAdapter,
  isGnomeSnapshot,
  type GsettingsRunner,
} from '../../main/system-proxy/gnome-adapter.js';
import {
  recordOwner,
  recoverIfStale,
  switchOff,
  switchOn,
  SwitchRecordStore,
  instanceAnswers,
} from '../../main/system-proxy/switch-record.js';
import { parseString } from '../../main/system-proxy/gsettings.js';
import type { GnomeProxySnapshot } from '../../main/system-proxy/types.js';
import { missingGnomeTools, privateSession, type PrivateSession } from '../helpers/private-session.js';
import { tempDir } from '../helpers/temp-dir.js';

const missing = missingGnomeTools;
/** What a GNOME session sets for every program it starts. */
const GNOME_SESSION = { XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' };
if (missing.length > 0) {
  console.warn(`Skipping GNOME system proxy tests: ${missing.join(', ')} not installed (libglib2.0-bin, dbus).`);
}

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A user's own manual proxy with a bypass list and credentials, set key by key as a user would. */
async function setUserManualProxy(run: GsettingsRunner): Promise<void> {
  const s = 'org.gnome.system.proxy';
  for (const args of [
    [s, 'ignore-hosts', "['corp.example', '10.0.0.0/8', '*.it\\'s.test']"],
    [s, 'use-same-proxy', 'false'],
    [s, 'autoconfig-url', "'http://wpad.corp.example/proxy.pac'"],
    [`${s}.http`, 'host', "'squid.corp.example'"],
    [`${s}.http`, 'port', '3128'],
    [`${s}.http`, 'use-authentication', 'true'],
    [`${s}.http`, 'authentication-user', "'alice'"],
    [`${s}.http`, 'authentication-password', "'p@ss w\"o\\'rd'"],
    [`${s}.https`, 'host', "'secure.corp.example'"],
    [`${s}.https`, 'port', '3129'],
    [`${s}.ftp`, 'host', "'ftp.corp.example'"],
    [`${s}.ftp`, 'port', '2121'],
    [`${s}.socks`, 'host', "'socks.corp.example'"],
    [`${s}.socks`, 'port', '1080'],
    [s, 'mode', "'manual'"],
  ]) {
    await run(['set', ...args]);
  }
}

const OURS = { host: '127.0.0.1', port: 8899, bypass: ['internal.test'] };

describe.skipIf(missing.length > 0)('GNOME system proxy adapter (real gsettings, private bus)', () => {
  let session: PrivateSession;
  let run: GsettingsRunner;
  let adapter: GnomeProxyAdapter;
  const dirs: { remove: () => Promise<void> }[] = [];

  beforeEach(async () => {
    session = await privateSession();
    run = execGsettings(session.env);
    adapter = new GnomeProxyAdapter({ env: { ...session.env, ...GNOME_SESSION } });
  });
  afterEach(async () => {
    await session.close();
    while (dirs.length > 0) await dirs.pop()!.remove();
  });

  async function store(): Promise<SwitchRecordStore> {
    const dir = await tempDir();
    dirs.push(dir);
    return new SwitchRecordStore(dir.path);
  }

  async function get(schema: string, key: string): Promise<string> {
    return (await run(['get', `org.gnome.system.proxy${schema}`, key])).trim();
  }

  it('is available in a session with gsettings, the schema and a bus', async () => {
    expect(await adapter.available()).toEqual({ ok: true });
  });

  it('with a bus but no desktop session (ssh, a server) is not available, and says why', async () => {
    const calls: string[][] = [];
    const run: GsettingsRunner = (args) => (calls.push(args), execGsettings(session.env)(args));
    const headless = new GnomeProxyAdapter({ env: session.env, run });
    expect(await headless.available()).toEqual({
      ok: false,
      reason: 'No GNOME or KDE session is running (XDG_CURRENT_DESKTOP and DESKTOP_SESSION are not set).',
    });
    expect(calls).toEqual([]);
    // Plasma's GTK programs (Firefox among them) read GNOME's settings too.
    const plasma = new GnomeProxyAdapter({ env: { ...session.env, XDG_CURRENT_DESKTOP: 'KDE' } });
    expect(await plasma.available()).toEqual({ ok: true });
  });

  it('applies ours over a manual proxy, reads back every key, and restores exactly', async () => {
    await setUserManualProxy(run);
    const before = await adapter.read();
    expect(before.mode).toBe('manual');
    expect(before.ignoreHosts).toEqual(['corp.example', '10.0.0.0/8', "*.it's.test"]);
    expect(before.http.authenticationPassword).toBe('p@ss w"o\'rd');
    expect(isGnomeSnapshot(before)).toBe(true);

    const records = await store();
    await switchOn([adapter], records, OURS);

    // The record was written, 0600, with the previous settings.
    expect((await stat(records.path)).mode & 0o777).toBe(0o600);
    const record = (await records.read()) as { previous: { GNOME: GnomeProxySnapshot }; proxy: unknown; pid: number };
    expect(record.previous.GNOME).toEqual(before);
    expect(record.proxy).toEqual({ host: '127.0.0.1', port: 8899 });
    expect(record.pid).toBe(process.pid);

    // Every key, straight from gsettings.
    expect(await get('', 'mode')).toBe("'manual'");
    expect(await get('.http', 'host')).toBe("'127.0.0.1'");
    expect(await get('.http', 'port')).toBe('8899');
    expect(await get('.https', 'host')).toBe("'127.0.0.1'");
    expect(await get('.https', 'port')).toBe('8899');
    expect(await get('.http', 'use-authentication')).toBe('false');
    expect(await get('.ftp', 'host')).toBe("''");
    expect(await get('.socks', 'host')).toBe("''");
    const applied = await adapter.read();
    expect(applied.ignoreHosts).toEqual(
      expect.arrayContaining([
        'localhost',
        '127.0.0.1',
        '::1',
        'internal.test',
        'corp.example',
        '10.0.0.0/8',
        "*.it's.test",
      ]),
    );
    expect(adapter.pointsAt(applied, OURS)).toBe(true);

    expect(await switchOff([adapter], records)).toEqual({ restored: ['GNOME'], leftAlone: [] });
    expect(await adapter.read()).toEqual(before);
    // GLib prints this one double-quoted (`"p@ss w\\"o'rd"`); the parser reads both forms.
    expect(await get('.http', 'authentication-password')).toBe(`"p@ss w\\"o'rd"`);
    expect(parseString(await get('.http', 'authentication-password'))).toBe('p@ss w"o\'rd');
    expect(await get('', 'ignore-hosts')).toBe(`['corp.example', '10.0.0.0/8', "*.it's.test"]`);
    expect(await records.read()).toBeNull();
  });

  it('restores a PAC (auto) setup and an empty bypass list', async () => {
    await run(['set', 'org.gnome.system.proxy', 'autoconfig-url', "'http://wpad.example/wpad.dat'"]);
    await run(['set', 'org.gnome.system.proxy', 'ignore-hosts', '@as []']);
    await run(['set', 'org.gnome.system.proxy', 'mode', "'auto'"]);
    const before = await adapter.read();
    expect(before.ignoreHosts).toEqual([]);

    const records = await store();
    await switchOn([adapter], records, { host: '127.0.0.1', port: 8899 });
    expect(await get('', 'mode')).toBe("'manual'");
    expect((await adapter.read()).ignoreHosts).toEqual(['localhost', '127.0.0.1', '::1']);

    await switchOff([adapter], records);
    expect(await adapter.read()).toEqual(before);
    expect(await get('', 'mode')).toBe("'auto'");
    expect(await get('', 'autoconfig-url')).toBe("'http://wpad.example/wpad.dat'");
    expect(await get('', 'ignore-hosts')).toBe('@as []');
  });

  it('keeps the first previous settings when switched on twice (port change)', async () => {
    await setUserManualProxy(run);
    const before = await adapter.read();
    const records = await store();
    await switchOn([adapter], records, OURS);
    await switchOn([adapter], records, { ...OURS, port: 9000 });
    expect(await get('.https', 'port')).toBe('9000');
    await switchOff([adapter], records);
    expect(await adapter.read()).toEqual(before);
  });

  it('recovers after a crash: a record whose proxy is gone is restored and the user told', async () => {
    await setUserManualProxy(run);
    const before = await adapter.read();
    const records = await store();
    const port = await deadPort();
    await switchOn([adapter], records, { host: '127.0.0.1', port });
    // "Crash": the process is gone, the record and our settings stay behind.

    const message = await recoverIfStale([adapter], records, (r) => instanceAnswers(r));
    expect(message).toMatch(/did not shut down cleanly/);
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(await adapter.read()).toEqual(before);
    expect(await records.read()).toBeNull();
    expect(await recoverIfStale([adapter], records, (r) => instanceAnswers(r))).toBeNull();
  });

  it('leaves things alone when the recorded proxy is still running', async () => {
    const records = await store();
    await switchOn([adapter], records, OURS);
    expect(await recoverIfStale([adapter], records, () => Promise.resolve(true))).toBeNull();
    expect(await get('.http', 'port')).toBe('8899');
    expect(await records.read()).not.toBeNull();
  });

  it('does not overwrite settings the user changed after the crash', async () => {
    const records = await store();
    await switchOn([adapter], records, OURS);
    await run(['set', 'org.gnome.system.proxy', 'mode', "'none'"]);
    const message = await recoverIfStale([adapter], records, () => Promise.resolve(false));
    expect(message).toMatch(/no longer point at it and were left as they are/);
    expect(await get('', 'mode')).toBe("'none'");
    expect(await records.read()).toBeNull();
  });

  it('on switch-off keeps settings the user changed while Sluice had them', async () => {
    await setUserManualProxy(run);
    const records = await store();
    await switchOn([adapter], records, OURS);
    await run(['set', 'org.gnome.system.proxy', 'mode', "'none'"]);
    expect(await switchOff([adapter], records)).toEqual({ restored: [], leftAlone: ['GNOME'] });
    expect(await get('', 'mode')).toBe("'none'");
    expect(await records.read()).toBeNull();
  });

  it('reports a damaged record instead of applying it', async () => {
    const records = await store();
    await records.write({
      version: 1,
      previous: { GNOME: { mode: 'bogus' } },
      proxy: OURS,
      owner: '1',
      pid: 1,
      at: '',
    });
    const message = await recoverIfStale([adapter], records, () => Promise.resolve(false));
    expect(message).toMatch(/damaged/);
    expect(await get('', 'mode')).toBe("'none'");
  });

  it('knows whether a record belongs to this process, another live Sluice, or nobody', async () => {
    const records = await store();
    expect(await recordOwner(records, () => Promise.resolve(true))).toEqual({ kind: 'none' });
    await switchOn([adapter], records, OURS);
    expect((await recordOwner(records, () => Promise.resolve(true))).kind).toBe('self');
    expect((await recordOwner(records, () => Promise.resolve(true), 'another-sluice')).kind).toBe('other');
    // Another process's record whose proxy is gone is stale: nobody owns it.
    expect((await recordOwner(records, () => Promise.resolve(false), 'another-sluice')).kind).toBe('none');
    await switchOff([adapter], records);
  });
});

describe('GNOME adapter in unsupported environments', () => {
  it('says clearly when gsettings is not installed', async () => {
    const adapter = new GnomeProxyAdapter({
      env: GNOME_SESSION,
      run: execGsettings(process.env, 'gsettings-not-installed-sluice'),
    });
    const result = await adapter.available();
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/gsettings command is not installed/) });
    await expect(adapter.read()).rejects.toThrow(/Could not read the GNOME proxy settings/);
  });

  it('says clearly when the schema is missing', async () => {
    const run: GsettingsRunner = (args) =>
      args[0] === '--version' ? Promise.resolve('2.74\n') : Promise.reject(new Error('No such schema'));
    const result = await new GnomeProxyAdapter({ run, env: GNOME_SESSION }).available();
    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(/schema org.gnome.system.proxy is not installed/),
    });
  });

  it('says clearly when there is no session bus', async () => {
    const run: GsettingsRunner = () => Promise.resolve('');
    const result = await new GnomeProxyAdapter({ run, env: GNOME_SESSION }).available();
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/no D-Bus session bus/) });
  });
});
