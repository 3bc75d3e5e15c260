import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../write-atomic.js';

/**
 * A small JSON file only this user may read (0600, in a 0700 folder), replaced atomically: a crash
 * leaves the old content or the new, never half. The system proxy keeps its crash record and its
 * owner marker this way; the record holds the user's proxy settings, passwords included.
 */
export class PrivateJsonFile<T> {
  readonly path: string;

  constructor(
    readonly dir: string,
    fileName: string,
  ) {
    this.path = join(dir, fileName);
  }

  async write(value: T): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.path, JSON.stringify(value, null, 2) + '\n', 0o600);
  }

  /** The parsed content, not yet checked; null when there is no file. Throws on one that is not JSON. */
  async read(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(text) as unknown;
  }

  async remove(): Promise<void> {
    await unlink(this.path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
}
