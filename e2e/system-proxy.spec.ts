import { test as base } from '@playwright/test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execGsettings, type GsettingsRunner } from '../main/system-proxy/gnome-adapter.js';
import { CLI, startCli } from '../test/helpers/cli.js';
import { missingGnomeTools, privateSession } from '../test/helpers/private-session.js';
import { tempDir } from '../test/helpers/temp-dir.js';
import { expect, screenshot } from './fixtures.js';

const SCHEMA = 'org.gnome.system.proxy';

/**
 * The toolbar's system proxy switch against real GNOME settings: `sluice` runs with a private
 * session bus and config dir, so the machine's own proxy settings are never touched.
 */
const test = base;
test.skip(missingGnomeTools.length > 0, `needs ${missingGnomeTools.join(', ')} (libglib2.0-bin, dbus)`);

test('the toolbar switch points GNOME at Sluice, every tab shows it, and switching off restores', async ({
  page,
  context,
}) => {
  const session = await privateSession();
  const dir = await tempDir('sluice-e2e-');
  const gsettings: GsettingsRunner = execGsettings(session.env);
  const get = async (key: string, child = '') => (await gsettings(['get', `${SCHEMA}${child}`, key])).trim();
  // The user's own proxy: a corporate PAC script and a bypass list.
  await gsettings(['set', SCHEMA, 'autoconfig-url', "'http://wpad.corp.example/proxy.pac'"]);
  await gsettings(['set', SCHEMA, 'ignore-hosts', "['corp.example']"]);
  await gsettings(['set', SCHEMA, 'mode', "'auto'"]);
  const cli = await startCli(['--port', '0', '--data-dir', dir.path], CLI, {
    ...session.env,
    XDG_CURRENT_DESKTOP: 'GNOME',
  });
  try {
    const uiUrl = (await cli.line('ui: ')).slice(4);
    await page.goto(uiUrl);
    const switchButton = page.getByRole('switch', { name: /System proxy/ });
    await expect(switchButton).toHaveAttribute('aria-checked', 'false');
    await expect(switchButton).toBeEnabled();
    await expect(switchButton).toHaveAttribute('title', /GNOME/);

    const other = await context.newPage();
    await other.goto(uiUrl);
    await expect(other.getByRole('switch', { name: /System proxy/ })).toHaveText(/off/);

    await switchButton.click();
    await expect(switchButton).toHaveAttribute('aria-checked', 'true');
    await expect(switchButton).toHaveText(/System proxy: on/);
    expect(await get('mode')).toBe("'manual'");
    expect(await get('port', '.http')).toBe(String(cli.port));
    expect(await get('host', '.https')).toBe("'127.0.0.1'");
    // The other tab hears it from the host, not from its own click.
    await expect(other.getByRole('switch', { name: /System proxy/ })).toHaveAttribute('aria-checked', 'true');
    await screenshot(page, 'system-proxy-on');

    await other.getByRole('switch', { name: /System proxy/ }).click();
    await expect(switchButton).toHaveAttribute('aria-checked', 'false');
    expect(await get('mode')).toBe("'auto'");
    expect(await get('autoconfig-url')).toBe("'http://wpad.corp.example/proxy.pac'");
    expect(await get('ignore-hosts')).toBe("['corp.example']");

    // PAC mode from the same switch.
    await page.getByLabel('System proxy mode').selectOption('pac');
    await switchButton.click();
    await expect(switchButton).toHaveAttribute('aria-checked', 'true');
    expect(await get('autoconfig-url')).toBe(`'http://127.0.0.1:${cli.port}/sluice.pac'`);
    await other.close();
  } finally {
    // Quitting restores the user's settings.
    expect(await cli.stop()).toBe(0);
    expect(await get('mode')).toBe("'auto'");
    expect(await get('autoconfig-url')).toBe("'http://wpad.corp.example/proxy.pac'");
    await session.close();
    await dir.remove();
  }
});

test('where the system proxy cannot be changed, the switch is off and says why', async ({ page }) => {
  const dir = await tempDir('sluice-e2e-');
  // A GNOME session without gsettings on PATH and no session bus.
  const cli = await startCli(['--port', '0', '--data-dir', dir.path], CLI, {
    PATH: '/nonexistent',
    HOME: dir.path,
    XDG_CURRENT_DESKTOP: 'GNOME',
  });
  try {
    await page.goto((await cli.line('ui: ')).slice(4));
    const switchButton = page.getByRole('switch', { name: /System proxy/ });
    await expect(switchButton).toBeDisabled();
    await expect(switchButton).toHaveAttribute(
      'title',
      /cannot be changed here: The gsettings command is not installed/,
    );
  } finally {
    await cli.stop();
    await dir.remove();
  }
});

test('in a session without a desktop (ssh, a server) the switch is off, says why, and nothing is written', async ({
  page,
}) => {
  // gsettings, a session bus and (where installed) kwriteconfig5, but no desktop session.
  const session = await privateSession();
  const dir = await tempDir('sluice-e2e-');
  const cli = await startCli(['--port', '0', '--data-dir', dir.path], CLI, session.env);
  try {
    await page.goto((await cli.line('ui: ')).slice(4));
    const switchButton = page.getByRole('switch', { name: /System proxy/ });
    await expect(switchButton).toBeDisabled();
    await expect(switchButton).toHaveAttribute(
      'title',
      /cannot be changed here: No GNOME or KDE session is running \(XDG_CURRENT_DESKTOP and DESKTOP_SESSION are not set\)\.$/,
    );
    await expect(page.getByTestId('notice')).toHaveCount(0);
  } finally {
    await cli.stop();
    expect(existsSync(join(session.env['XDG_CONFIG_HOME']!, 'kioslaverc'))).toBe(false);
    expect(existsSync(join(session.env['XDG_CONFIG_HOME']!, 'dconf'))).toBe(false);
    await session.close();
    await dir.remove();
  }
});
