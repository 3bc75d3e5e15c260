import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The per-user config folder, where Electron's `app.getPath('userData')` would put it for an
 * app named Sluice, so the CLI and the desktop app share one CA and one set of settings.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Sluice');
  if (platform === 'win32') return join(env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), 'Sluice');
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'Sluice');
}
