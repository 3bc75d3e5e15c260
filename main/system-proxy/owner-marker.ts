import { PrivateJsonFile } from './private-json-file.js';
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
  private readonly file: PrivateJsonFile<OwnerMarker>;

  constructor(dir: string) {
    this.file = new PrivateJsonFile(dir, OWNER_MARKER_FILE);
  }

  /** The marker; null when there is none or it cannot be read as one. */
  async read(): Promise<OwnerMarker | null> {
    const parsed = await this.file.read().catch(() => null);
    return isOwnerMarker(parsed) ? parsed : null;
  }

  write(marker: OwnerMarker): Promise<void> {
    return this.file.write(marker);
  }

  async removeIfOwnedBy(owner: string): Promise<void> {
    if ((await this.read())?.owner === owner) await this.file.remove();
  }
}
