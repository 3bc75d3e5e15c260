import { mkdtemp, readdir, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'sluice-spill-';

/**
 * A private folder for this process's spill files. Its name carries our pid, so a later Sluice can
 * tell the folder of one that crashed (or was killed) from one still running: spill files can add
 * up to gigabytes, and a crash must not leave them in the temp folder for good.
 */
export function makeSpillDir(root = tmpdir()): Promise<string> {
  return mkdtemp(join(root, `${PREFIX}${process.pid}-`));
}

/**
 * Removes the spill folders of Sluice processes that are gone, one file at a time. Never throws: a
 * folder of another user, or one that vanished meanwhile, is simply left. Resolves with the
 * folders removed.
 *
 * One at a time because it runs at start, beside the first traffic: `rm` with `recursive` removes a
 * folder's files all at once, each on one of libuv's four threads, and a crash's gigabytes of spill
 * files then held every thread while the first large body's spill file waited to open, so its
 * capture gave way ("spill-failed" at 16 MiB, 1.2 GB of leftovers, reproduced).
 */
export async function sweepStaleSpillDirs(root = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const pid = /^sluice-spill-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    try {
      await removeOneByOne(join(root, name));
      removed.push(name);
    } catch {
      // Not ours to remove (another user's), or busy: leave it.
    }
  }
  return removed;
}

async function removeOneByOne(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await removeOneByOne(path);
    else await unlink(path).catch(ignoreMissing);
  }
  await rmdir(dir).catch(ignoreMissing);
}

/** Something removed meanwhile (another Sluice sweeping too) is as good as removed. */
function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
