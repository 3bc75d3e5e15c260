import { GnomeProxyAdapter } from './gnome-adapter.js';
import type { SystemProxyAdapter } from './types.js';

/**
 * The adapters that may apply on this platform; the switch keeps those `available()` here. On
 * Linux both desktops' settings are changed when both are present: a KDE user's browser may read
 * GNOME's settings and the other way round.
 */
export function platformAdapters(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): SystemProxyAdapter<unknown>[] {
  const adapters: SystemProxyAdapter<unknown>[] = [];
  if (platform === 'linux') adapters.push(new GnomeProxyAdapter({ env }));
  return adapters;
}
