import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { platformAdapters } from '../../main/system-proxy/platform-adapters.js';
import { SWITCH_RECORD_FILE } from '../../main/system-proxy/switch-record.js';
import { SystemProxySwitch } from '../../main/system-proxy/system-proxy-switch.js';
import type { Availability, OurProxy, SystemProxyAdapter } from '../../main/system-proxy/types.js';
import { useCleanup } from '../helpers/cleanup.js';

const { freshDir } = useCleanup();

interface Setting {
  proxy: string;
}

/**
 * A desktop's settings held in memory, for what the switch itself decides (which adapters, order,
 * roll-back, ownership); each real adapter has its own tests against the real tool or a fake one.
 */
class MemoryDesktop implements SystemProxyAdapter<Setting> {
  setting: Setting = { proxy: 'corp:3128' };
  failApply = false;
  readonly log: string[] = [];
  constructor(
    readonly name: string,
    private readonly availability: Availability = { ok: true },
  ) {}
  available = async (): Promise<Availability> => this.availability;
  read = async (): Promise<Setting> => ({ ...this.setting });
  apply = async (ours: OurProxy): Promise<void> => {
    this.log.push(`apply ${ours.pacUrl ?? `${ours.host}:${ours.port}`}`);
    if (this.failApply) throw new Error(`${this.name} refused`);
    this.setting = { proxy: ours.pacUrl ?? `${ours.host}:${ours.port}` };
  };
  restore = async (previous: Setting): Promise<void> => {
    this.log.push(`restore ${previous.proxy}`);
    this.setting = { ...previous };
  };
  pointsAt = (current: Setting, ours: OurProxy): boolean =>
    current.proxy === (ours.pacUrl ?? `${ours.host}:${ours.port}`);
  isSnapshot = (x: unknown): x is Setting => typeof (x as Setting | null)?.proxy === 'string';
}

const PROXY = { host: '127.0.0.1', port: 8899 };

describe('the system proxy switch', () => {
  it('changes every available desktop, names them, and restores each', async () => {
    const gnome = new MemoryDesktop('GNOME');
    const kde = new MemoryDesktop('KDE');
    const absent = new MemoryDesktop('Other', { ok: false, reason: 'Other is not installed.' });
    const { proxySwitch, notice } = await SystemProxySwitch.open({
      dataDir: await freshDir(),
      adapters: [gnome, kde, absent],
      isProxyAlive: async () => true,
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
      isProxyAlive: async () => false,
    });
    expect(second.notice).toMatch(/restored \(KDE\).*GNOME settings cannot be changed from here/);
    expect(kde.setting.proxy).toBe('corp:3128');
    expect(existsSync(join(dataDir, SWITCH_RECORD_FILE))).toBe(true);
    // A start with GNOME back finishes the job.
    const third = await SystemProxySwitch.open({ dataDir, adapters: [gnome, kde], isProxyAlive: async () => false });
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
