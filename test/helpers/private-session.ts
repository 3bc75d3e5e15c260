import { execFileSync, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './temp-dir.js';

export function installed(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** What the GNOME tests need and this machine lacks; empty when they can run. */
export const missingGnomeTools = ['gsettings', 'dbus-run-session'].filter((c) => !installed(c));

export interface PrivateSession {
  /** HOME, XDG dirs and DBUS_SESSION_BUS_ADDRESS of the private session; PATH from ours. */
  readonly env: NodeJS.ProcessEnv;
  /** The session's own folder (HOME). */
  readonly dir: string;
  close(): Promise<void>;
}

/**
 * A private session bus and config dir, so nothing here can touch the machine's own settings:
 * dconf keeps values in XDG_CONFIG_HOME/dconf/user. The bus lives until we close its stdin.
 */
export async function privateSession(): Promise<PrivateSession> {
  const dir = await tempDir('sluice-gnome-');
  // Separate config and runtime dirs: dconf keeps its database at config/dconf/user and a
  // shared-memory flag at runtime/dconf/user, which would clobber each other in one dir.
  const config = join(dir.path, 'config');
  const runtime = join(dir.path, 'runtime');
  await mkdir(config, { mode: 0o700 });
  await mkdir(runtime, { mode: 0o700 });
  const base = { PATH: process.env['PATH'], HOME: dir.path, XDG_CONFIG_HOME: config, XDG_RUNTIME_DIR: runtime };
  const child = spawn('dbus-run-session', ['--', 'sh', '-c', 'echo "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null'], {
    env: base,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('no bus address from dbus-run-session')), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    env: { ...base, DBUS_SESSION_BUS_ADDRESS: address },
    dir: dir.path,
    close: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await dir.remove();
    },
  };
}
