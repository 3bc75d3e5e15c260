import path from 'node:path';

/**
 * Where the shell's files are, seen from the built main process (dist/main/electron/), and the
 * few command-line options it takes. Plain Node, so tests can check them.
 */
export interface ShellPaths {
  /** The built renderer's page (dist/renderer/index.html). */
  readonly rendererIndex: string;
  /** The bundled preload (one CommonJS file: a sandboxed preload cannot load others). */
  readonly preload: string;
  /** The host's utility process entry. */
  readonly hostProcess: string;
  /**
   * The tray images (build/tray, made by scripts/make-icons.mjs): beside dist/ in the repository,
   * and in the packaged app inside app.asar, whose `files` list takes them in, so the same relative
   * path finds them in both. Electron's image loading reads from the asar.
   */
  readonly trayIcons: string;
}

export function shellPaths(electronDir: string): ShellPaths {
  return {
    rendererIndex: path.join(electronDir, '..', '..', 'renderer', 'index.html'),
    preload: path.join(electronDir, 'preload.cjs'),
    hostProcess: path.join(electronDir, 'host-process.js'),
    trayIcons: path.join(electronDir, '..', '..', '..', 'build', 'tray'),
  };
}

/**
 * `--data-dir DIR` or `--data-dir=DIR`: another folder for the CA, settings and Electron's profile,
 * as for the CLI. Tests use it so an app under test never meets the user's own instance.
 */
export function dataDirArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--data-dir') return argv[i + 1] || undefined;
    if (arg.startsWith('--data-dir=')) return arg.slice('--data-dir='.length) || undefined;
  }
  return undefined;
}
