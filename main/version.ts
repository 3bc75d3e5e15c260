import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * Sluice's version as its package.json gives it: what `--version` prints and what a HAR names
 * as its creator. Looked for upwards from this file, which runs from the source tree (tests) or
 * from `dist/` (the build), one folder deeper.
 */
export function sluiceVersion(): string {
  if (cached !== undefined) return cached;
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sluice' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // Not at this level: try the next.
    }
  }
  return (cached = 'unknown');
}
