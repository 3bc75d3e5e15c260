import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSpillDir, sweepStaleSpillDirs } from '../../proxy-core/capture/spill-dirs.js';
import { tempDir } from '../helpers/temp-dir.js';

const dirs: { remove: () => Promise<void> }[] = [];
afterEach(async () => {
  while (dirs.length > 0) await dirs.pop()!.remove();
});

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { timeout: 10_000 });
  return child.pid!;
}

describe('spill folders', () => {
  it('are named for their process, and those of processes that are gone are removed', async () => {
    const root = await tempDir('sluice-spill-root-');
    dirs.push(root);
    const mine = await makeSpillDir(root.path);
    expect(mine).toMatch(new RegExp(`sluice-spill-${process.pid}-\\w+$`));
    const stale = join(root.path, `sluice-spill-${deadPid()}-abc123`);
    await mkdir(stale);
    await writeFile(join(stale, 'body-1-response'), Buffer.alloc(1024));
    // A folder of the old naming (no pid) and anything else are not ours to judge.
    const unnamed = join(root.path, 'sluice-spill-Xy12Zq');
    const other = join(root.path, 'something-else');
    await mkdir(unnamed);
    await mkdir(other);

    expect(await sweepStaleSpillDirs(root.path)).toEqual([stale.split('/').at(-1)]);
    expect(existsSync(stale)).toBe(false);
    for (const kept of [mine, unnamed, other]) expect(existsSync(kept)).toBe(true);
  });

  it('a missing temp folder is nothing to sweep', async () => {
    expect(await sweepStaleSpillDirs('/nonexistent/sluice')).toEqual([]);
  });
});
