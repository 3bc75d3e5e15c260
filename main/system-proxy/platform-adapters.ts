import { GnomeProxyAdapter } from './gnome-adapter.js';
import { KdeProxyAdapter } from './kde-adapter.js';
import { MacProxyAdapter } from './macos-adapter.js';
import { warnOnConsole, type SystemProxyAdapter } from './types.js';
import { WindowsProxyAdapter } from './windows-adapter.js';

/**
 * The adapters that may apply on this platform; the switch keeps those `available()` here. On
 * Linux each desktop's settings change only while its session runs (`desktop-session.ts`); in
 * Plasma GNOME's change too, since its GTK programs (Firefox among them) read them. `warn` hears
 * what went wrong after a successful change (running programs not told to re-read), so the host
 * can show it.
 */
export function platformAdapters(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = warnOnConsole,
): SystemProxyAdapter<unknown>[] {
  switch (platform) {
    case 'linux':
      return [new GnomeProxyAdapter({ env }), new KdeProxyAdapter({ env, warn })];
    case 'darwin':
      return [new MacProxyAdapter({ env })];
    case 'win32':
      return [new WindowsProxyAdapter({ env, onWarning: warn })];
    default:
      return [];
  }
}
