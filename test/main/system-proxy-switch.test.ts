import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { platformAdapters } from '../../main/system-proxy/platform-adapters.js';
import { SWITCH_RECORD_FILE } from '../../main/system-proxy/switch-record.js';
import { SystemProxySwitch } from '../../main/system-proxy/system-proxy-switch.js';
import { useCleanup } from '../helpers/cleanup.js';
import { MemoryDesktop } from '../helpers/memory-desktop.js';

const { freshDir } = useCleanup();

const PROXY = { host: '127.0.0.1', port: 8899 };

describe('the system proxy switch', () => {
  it('changes every available desktop, names them, and restores each', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    const absent = new MemoryDesktop('Other', { ok: false, reason: 'Other is not installed.' });
    const { proxySwitch, notice } = await SystemProxySwitch.open({
      dataDir: await freshDir(),
      adapters: [gnome, kde, absent],
      isOwnerAlive: async () => true,
    });
    expect(notice).toBeNull();
    expect(proxySwitch.status()).toMatchObject({ supported: true, targets: ['GNOME', 'KDE'], state: 'off' });
    const on = await proxySwitch.enable(PROXY);
    expect(on).toMatchObject({ state: 'on', targets: ['GNOME', 'KDE'], address: '127.0.0.1:8899' });
    expect([gnome.setting.proxy, kde.setting.proxy, absent.setting.proxy]).toEqual([
      '127.0.0.1:8899',
      '127.0.0.1:8899',
      'corp:3128',
    ]);
    expect((await proxySwitch.disable()).state).toBe('off');
    expect([gnome.setting.proxy, kde.setting.proxy]).toEqual(['corp:3128', 'corp:3128']);
  });

  it('when one desktop refuses, the one already changed is put back and the error said', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    kde.failApply = true;
    const dataDir = await freshDir();
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir, adapters: [gnome, kde] });
    const result = await proxySwitch.enable(PROXY);
    expect(result).toMatchObject({ state: 'error', message: 'KDE refused' });
    expect(gnome.setting.proxy).toBe('corp:3128');
    expect(gnome.log).toEqual(['apply 127.0.0.1:8899', 'restore corp:3128']);
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(false);
  });

  it('switching off keeps what the user set meanwhile, restores the rest, and says so', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir: await freshDir(), adapters: [gnome, kde] });
    await proxySwitch.enable(PROXY);
    gnome.setting = { proxy: 'new-corp:8080' };
    const off = await proxySwitch.disable();
    expect(off).toMatchObject({
      state: 'off',
      message: 'Your GNOME proxy settings were changed while Sluice had them, so they were left as you set them.',
    });
    expect([gnome.setting.proxy, kde.setting.proxy]).toEqual(['new-corp:8080', 'corp:3128']);
  });

  it('a failed switch-on puts every desktop back; if that fails too, the record stays for the next start', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    kde.failApply = true;
    kde.failRestore = true;
    const dataDir = await freshDir();
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir, adapters: [gnome, kde] });
    const result = await proxySwitch.enable(PROXY);
    expect(result.state).toBe('error');
    expect(result.message).toMatch(
      /^KDE refused\. Putting back your settings failed too \(KDE: KDE would not restore\)/,
    );
    expect(gnome.setting.proxy).toBe('corp:3128');
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(true);
  });

  it('a port change one desktop refuses puts every desktop back, not only that one', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    const dataDir = await freshDir();
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir, adapters: [gnome, kde] });
    await proxySwitch.enable(PROXY);
    kde.failApply = true;
    expect((await proxySwitch.enable({ host: '127.0.0.1', port: 9000 })).state).toBe('error');
    // GNOME had moved to 9000 and KDE still named the old port: both are the user's again.
    expect([gnome.setting.proxy, kde.setting.proxy]).toEqual(['corp:3128', 'corp:3128']);
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(false);
  });

  it('a Sluice with another data dir never applies over a running one (one marker per user)', async () => {
    const markerDir = await freshDir();
    const gnome = new MemoryDesktop('GNOME');
    const first = await SystemProxySwitch.open({ dataDir: await freshDir(), adapters: [gnome], markerDir });
    const firstDir = first.proxySwitch;
    const alive = new Set<string>([firstDir.ownerId]);
    const isOwnerAlive = async ({ owner }: { owner: string }): Promise<boolean> => alive.has(owner);
    const secondDir = await freshDir();
    const second = await SystemProxySwitch.open({ dataDir: secondDir, adapters: [gnome], markerDir, isOwnerAlive });
    expect((await firstDir.enable(PROXY)).state).toBe('on');
    const refused = await second.proxySwitch.enable({ host: '127.0.0.1', port: 9000 });
    expect(refused.state).toBe('off');
    expect(refused.message).toMatch(
      /^Another Sluice \(process \d+, data folder .+\) has the system proxy pointed at 127\.0\.0\.1:8899/,
    );
    expect(gnome.setting.proxy).toBe('127.0.0.1:8899');
    // Once the first has switched off (or is gone), the second may.
    await firstDir.disable();
    expect((await second.proxySwitch.enable({ host: '127.0.0.1', port: 9000 })).state).toBe('on');
    await second.proxySwitch.close();
    expect(gnome.setting.proxy).toBe('corp:3128');
  });

  it('never switches on once closed (quitting)', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir: await freshDir(), adapters: [gnome] });
    await proxySwitch.close();
    expect(await proxySwitch.enable(PROXY)).toMatchObject({ state: 'off', message: 'Sluice is quitting.' });
    expect(gnome.log).toEqual([]);
  });

  it('runs one change at a time: a double click cannot interleave two', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir: await freshDir(), adapters: [gnome] });
    const results = await Promise.all([proxySwitch.enable(PROXY), proxySwitch.disable(), proxySwitch.enable(PROXY)]);
    expect(results.map((r) => r.state)).toEqual(['on', 'off', 'on']);
    expect(gnome.log).toEqual(['apply 127.0.0.1:8899', 'restore corp:3128', 'apply 127.0.0.1:8899']);
    await proxySwitch.close();
    expect(gnome.setting.proxy).toBe('corp:3128');
  });

  it('keeps a crash record for a desktop it cannot reach now, and restores it on a later start', async () => {
    const dataDir = await freshDir();
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    const first = await SystemProxySwitch.open({ dataDir, adapters: [gnome, kde] });
    await first.proxySwitch.enable(PROXY);
    // "Crash": no close. The next start sees KDE only (say, GNOME's bus is not there).
    const gnomeAway = new MemoryDesktop('GNOME', { ok: false, reason: 'no bus' });
    gnomeAway.setting = gnome.setting;
    const second = await SystemProxySwitch.open({
      dataDir,
      adapters: [gnomeAway, kde],
      isOwnerAlive: async () => false,
    });
    expect(second.notice).toMatch(/restored \(KDE\).*GNOME settings cannot be changed from here/);
    expect(kde.setting.proxy).toBe('corp:3128');
    // Only what is still to do stays in the record.
    const kept = JSON.parse(readFileSync(join(dataDir, SWITCH_RECORD_FILE), 'utf8')) as { previous: object };
    expect(Object.keys(kept.previous)).toEqual(['GNOME']);
    // Switching on meanwhile keeps GNOME's saved settings (not reachable now) in the record.
    kde.setting = { proxy: 'kde-user:1' };
    await second.proxySwitch.enable(PROXY);
    const merged = JSON.parse(readFileSync(join(dataDir, SWITCH_RECORD_FILE), 'utf8')) as {
      previous: Record<string, { proxy: string }>;
    };
    expect(merged.previous).toEqual({ GNOME: { proxy: 'corp:3128' }, KDE: { proxy: 'kde-user:1' } });
    await second.proxySwitch.disable();
    expect(kde.setting.proxy).toBe('kde-user:1');
    // A start with GNOME back finishes the job.
    const third = await SystemProxySwitch.open({ dataDir, adapters: [gnome, kde], isOwnerAlive: async () => false });
    expect(third.notice).toMatch(/restored \(GNOME\)/);
    expect(gnome.setting.proxy).toBe('corp:3128');
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(false);
  });

  it('says so on a platform it has no adapters for', async () => {
    expect(platformAdapters('freebsd')).toEqual([]);
    const { proxySwitch } = await SystemProxySwitch.open({ dataDir: await freshDir(), adapters: [] });
    expect(proxySwitch.status()).toMatchObject({
      supported: false,
      message: 'The system proxy cannot be changed on this platform.',
    });
    expect((await proxySwitch.enable(PROXY)).state).toBe('off');
  });

  it('offers each platform its own adapters', () => {
    expect(platformAdapters('linux', {}).map((a) => a.name)).toEqual(['GNOME', 'KDE']);
    expect(platformAdapters('darwin', {}).map((a) => a.name)).toEqual(['macOS']);
    expect(platformAdapters('win32', {}).map((a) => a.name)).toEqual(['Windows']);
  });
});
