import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  SettingsError,
  SettingsStore,
  validateSettings,
  type SettingsPatch,
} from '../../main/host/settings-store.js';
import { useCleanup } from '../helpers/cleanup.js';

const { freshDir: dataDir } = useCleanup();

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

async function asideFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith('settings.json.corrupt-'));
}

describe('SettingsStore', () => {
  it('uses the defaults without a notice or a write when there is no file', async () => {
    const dir = await dataDir();
    const { store, notices } = await SettingsStore.open(dir);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    expect(store.get().timeouts.idleMs).toBe(600_000);
    expect(notices).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('saves an update 0600 and atomically, and a reopen sees it', async () => {
    const dir = await dataDir();
    const { store } = await SettingsStore.open(dir);
    const result = await store.update({
      proxyPort: 9090,
      passThroughHosts: ['*.bank.test'],
      timeouts: { idleMs: 5000 },
    });
    expect(result.notice).toBeUndefined();
    expect(result.settings).toBe(store.get());
    expect(store.get()).toMatchObject({ proxyPort: 9090, passThroughHosts: ['*.bank.test'], captureEnabled: true });
    expect(store.get().timeouts).toEqual({ ...DEFAULT_SETTINGS.timeouts, idleMs: 5000 });

    expect((await stat(join(dir, 'settings.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['settings.json']); // no temp file left behind
    const reopened = await SettingsStore.open(dir);
    expect(reopened.notices).toEqual([]);
    expect(reopened.store.get()).toEqual(store.get());
  });

  it('treats an undefined patch field as "leave alone" and returns frozen settings', async () => {
    const { store } = await SettingsStore.open(await dataDir());
    await store.update({ proxyPort: 9000 });
    await store.update({ proxyPort: undefined, captureEnabled: false });
    expect(store.get()).toMatchObject({ proxyPort: 9000, captureEnabled: false });
    expect(Object.isFrozen(store.get())).toBe(true);
    expect(Object.isFrozen(store.get().timeouts)).toBe(true);
    expect(Object.isFrozen(store.get().passThroughHosts)).toBe(true);
  });

  it('writes concurrent updates in order, the last one winning on disk', async () => {
    const dir = await dataDir();
    const { store } = await SettingsStore.open(dir);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => store.update({ proxyPort: 9000 + n })));
    expect(results.map((r) => r.notice)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect((await readJson(join(dir, 'settings.json')))['proxyPort']).toBe(9005);
  });

  it('keeps a file that is not JSON aside byte for byte, says so, and starts from defaults', async () => {
    const dir = await dataDir();
    const bad = Buffer.from('{"proxyPort": 9000,, \u00e9\n', 'utf8');
    await writeFile(join(dir, 'settings.json'), bad);

    const { store, notices } = await SettingsStore.open(dir);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    const [aside, ...more] = await asideFiles(dir);
    expect(more).toEqual([]);
    expect(aside).toMatch(/^settings\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`${join(dir, 'settings.json')} was not valid JSON (`);
    expect(notices[0]).toContain('using default settings');
    expect(notices[0]).toContain(`kept as ${join(dir, aside!)}`);
    expect(await readFile(join(dir, aside!))).toEqual(bad);

    // Decision under test: the repaired settings are written at once, so the next start is quiet.
    expect(await readJson(join(dir, 'settings.json'))).toEqual(DEFAULT_SETTINGS);
    const reopened = await SettingsStore.open(dir);
    expect(reopened.notices).toEqual([]);
    expect(await asideFiles(dir)).toHaveLength(1);
  });

  it('names each bad field, keeps the good ones, and keeps the file aside', async () => {
    const dir = await dataDir();
    const original = JSON.stringify({
      version: 1,
      proxyHost: '0.0.0.0',
      proxyPort: 70000,
      captureEnabled: 'yes',
      keepCapture: 'always',
      passThroughHosts: ['keep.test', 42, ''],
      timeouts: { idleMs: -5, upstreamConnectMs: 1234, responseHeaderMs: 1.5 },
    });
    await writeFile(join(dir, 'settings.json'), original);

    const { store, notices } = await SettingsStore.open(dir);
    expect(notices).toHaveLength(1);
    const notice = notices[0]!;
    expect(notice).toContain('proxyPort is 70000 (expected an integer from 0 to 65535)');
    expect(notice).toContain('captureEnabled is "yes" (expected true or false)');
    expect(notice).toContain('keepCapture is "always" (expected true or false)');
    expect(notice).toContain('passThroughHosts[1] is 42');
    expect(notice).toContain('passThroughHosts[2] is ""');
    expect(notice).toContain('timeouts.idleMs is -5');
    expect(notice).toContain('timeouts.responseHeaderMs is 1.5');
    expect(notice).not.toContain('proxyHost');
    expect(notice).not.toContain('upstreamConnectMs');
    expect(store.get()).toEqual({
      ...DEFAULT_SETTINGS,
      proxyHost: '0.0.0.0',
      passThroughHosts: ['keep.test'],
      timeouts: { ...DEFAULT_SETTINGS.timeouts, upstreamConnectMs: 1234 },
    });

    const [aside] = await asideFiles(dir);
    expect(notice).toContain(`kept as ${join(dir, aside!)}`);
    expect(await readFile(join(dir, aside!), 'utf8')).toBe(original);
    const reopened = await SettingsStore.open(dir);
    expect(reopened.notices).toEqual([]);
    expect(reopened.store.get()).toEqual(store.get());
  });

  it.each([
    ['another version', { version: 2, proxyPort: 9000 }, 'version is 2, but this Sluice reads version 1'],
    ['a list', [1, 2], 'the file holds a list, not an object'],
    ['null', null, 'the file holds null, not an object'],
  ])('uses every default for a file holding %s', async (_name, content, message) => {
    const dir = await dataDir();
    await writeFile(join(dir, 'settings.json'), JSON.stringify(content));
    const { store, notices } = await SettingsStore.open(dir);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    expect(notices[0]).toContain(message);
    expect(await asideFiles(dir)).toHaveLength(1);
  });

  it('reads a hand-written file without a version as version 1, quietly', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ keepCapture: true, proxyPort: 9000 }));
    const { store, notices } = await SettingsStore.open(dir);
    expect(store.get()).toEqual({ ...DEFAULT_SETTINGS, keepCapture: true, proxyPort: 9000 });
    expect(notices).toEqual([]);
    expect(await asideFiles(dir)).toEqual([]);
  });

  it('never overwrites an earlier copy kept aside', async () => {
    const dir = await dataDir();
    for (const text of ['first bad', 'second bad', 'third bad']) {
      await writeFile(join(dir, 'settings.json'), text);
      await SettingsStore.open(dir);
    }
    const kept = await Promise.all((await asideFiles(dir)).map((f) => readFile(join(dir, f), 'utf8')));
    expect(kept.sort()).toEqual(['first bad', 'second bad', 'third bad']);
  });

  it('keeps unknown fields through a save, without a notice', async () => {
    const dir = await dataDir();
    await writeFile(
      join(dir, 'settings.json'),
      JSON.stringify({ version: 1, theme: 'dark', timeouts: { futureMs: 7 } }),
    );
    const { store, notices } = await SettingsStore.open(dir);
    expect(notices).toEqual([]);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    await store.update({ proxyPort: 9000 });
    const saved = await readJson(join(dir, 'settings.json'));
    expect(saved).toMatchObject({ theme: 'dark', proxyPort: 9000, timeouts: { futureMs: 7, idleMs: 600_000 } });
  });

  it('reads a file saved with a UTF-8 byte-order mark', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'settings.json'), `\uFEFF${JSON.stringify({ version: 1, proxyPort: 9000 })}`);
    const { store, notices } = await SettingsStore.open(dir);
    expect(notices).toEqual([]);
    expect(store.get().proxyPort).toBe(9000);
  });

  it.each<[string, unknown, RegExp]>([
    ['a port out of range', { proxyPort: 70000 }, /proxyPort is 70000 \(expected an integer from 0 to 65535\)/],
    ['a fractional port', { proxyPort: 80.5 }, /proxyPort is 80.5/],
    ['a negative timeout', { timeouts: { idleMs: -5 } }, /timeouts\.idleMs is -5 \(expected whole milliseconds/],
    ['a timeout past what timers honour', { timeouts: { idleMs: 2 ** 31 } }, /timeouts\.idleMs is 2147483648/],
    ['timeouts not an object', { timeouts: 5 }, /timeouts is 5 \(expected an object/],
    ['an empty host', { proxyHost: ' ' }, /proxyHost is " " \(expected a non-empty address\)/],
    ['a bad pass-through entry', { passThroughHosts: ['ok.test', 3] }, /passThroughHosts\[1\] is 3/],
    ['a string boolean', { insecureUpstream: 'true' }, /insecureUpstream is "true" \(expected true or false\)/],
    ['an unknown key', { proxyPrt: 1, timeouts: { idle: 1 } }, /unknown setting: proxyPrt, timeouts\.idle/],
    ['the version', { version: 2 }, /unknown setting: version/],
    ['not an object', null, /must be an object, not null/],
  ])('rejects %s with a SettingsError and writes nothing', async (_name, patch, message) => {
    const dir = await dataDir();
    const { store } = await SettingsStore.open(dir);
    await store.update({ proxyPort: 9000 });
    const before = await readFile(join(dir, 'settings.json'));

    const attempt = store.update(patch as SettingsPatch);
    await expect(attempt).rejects.toBeInstanceOf(SettingsError);
    await expect(attempt).rejects.toThrow(message);
    expect(store.get().proxyPort).toBe(9000);
    expect(store.get().timeouts).toEqual(DEFAULT_SETTINGS.timeouts);
    expect(await readFile(join(dir, 'settings.json'))).toEqual(before);
    expect(await readdir(dir)).toEqual(['settings.json']);
  });

  it('keeps going in memory when the data dir cannot be written', async () => {
    // A path under a regular file fails for everyone, root included, unlike permission bits.
    const dir = await dataDir();
    await writeFile(join(dir, 'file'), 'not a folder');
    const { store, notices } = await SettingsStore.open(join(dir, 'file', 'sub'));
    expect(notices).toEqual([]);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);

    const result = await store.update({ proxyPort: 9000 });
    expect(result.settings.proxyPort).toBe(9000);
    expect(store.get().proxyPort).toBe(9000);
    expect(result.notice).toMatch(
      /^Settings changed, but saving .*settings\.json failed \(.+\); they will not survive/,
    );
    expect(await readFile(join(dir, 'file'), 'utf8')).toBe('not a folder');
  });

  it('never saves over a settings file it could not read', async () => {
    const dir = await dataDir();
    // A folder where the file should be: EISDIR, which (unlike EACCES) fails for root too.
    await mkdir(join(dir, 'settings.json'));
    await writeFile(join(dir, 'settings.json', 'inside'), 'precious');
    const { store, notices } = await SettingsStore.open(dir);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/could not read .*settings\.json \(.+\); using default settings for this run/);

    const result = await store.update({ captureEnabled: false });
    expect(store.get().captureEnabled).toBe(false);
    expect(result.notice).toMatch(/^Settings changed for this run only: Sluice could not read/);
    expect(await readFile(join(dir, 'settings.json', 'inside'), 'utf8')).toBe('precious');
    expect(await readdir(dir)).toEqual(['settings.json']);
  });
});

describe('validateSettings', () => {
  it('fills missing fields with defaults and reports nothing', () => {
    expect(validateSettings({ version: 1 })).toEqual({ settings: DEFAULT_SETTINGS, problems: [] });
    expect(validateSettings({ version: 1, timeouts: { idleMs: 10 } }).settings.timeouts).toEqual({
      ...DEFAULT_SETTINGS.timeouts,
      idleMs: 10,
    });
  });

  it('accepts port 0 (pick a free one) and rejects non-numbers', () => {
    expect(validateSettings({ version: 1, proxyPort: 0 }).problems).toEqual([]);
    expect(validateSettings({ version: 1, proxyPort: '8080' }).problems).toEqual([
      'proxyPort is "8080" (expected an integer from 0 to 65535)',
    ]);
  });
});
