import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../write-atomic.js';
import type { HostPort } from './types.js';

export const OWNER_MARKER_FILE = 'system-proxy-owner.json';

/** Which Sluice has the system proxy, for every Sluice of this user whatever its data dir. */
export interface OwnerMarker {
  readonly owner: string;
  readonly pid: number;
  readonly proxy: HostPort;
  readonly dataDir: string;
}

function isOwnerMarker(x: unknown): x is OwnerMarker {
  const m = x as Partial<OwnerMarker> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.owner === 'string' &&
    Number.isInteger(m.pid) &&
    typeof m.proxy?.host === 'string' &&
    Number.isInteger(m.proxy.port) &&
    typeof m.dataDir === 'string'
  );
}

/**
 * The marker file. A stale one (its Sluice crashed) is harmless: whoever reads it checks that its
 * owner still answers, and the crash record in that Sluice's data dir does the repair.
 */
export class OwnerMarkerFile {
  readonly path: string;
  constructor(readonly dir: string) {
    this.path = join(dir, OWNER_MARKER_FILE);
  }

  /** The marker; null when there is none or it cannot be read as one. */
  async read(): Promise<OwnerMarker | null> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      return isOwnerMarker(parsed) ? parsed : null;
    } catch {
      return null;
    }
  }

  async write(marker: OwnerMarker): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.path, JSON.stringify(marker) + '\n', 0o600);
  }

  async removeIfOwnedBy(owner: string): Promise<void> {
    if ((await this.read())?.owner !== owner) return;
    await unlink(this.path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
}
