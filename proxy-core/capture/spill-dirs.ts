import { mkdtemp, readdir, rm } from 'node:fs/promises';
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
 * Removes the spill folders of Sluice processes that are gone. Never throws: a folder of another
 * user, or one that vanished meanwhile, is simply left. Resolves with the folders removed.
 */
export async function sweepStaleSpillDirs(root = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const pid = /^sluice-spill-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    try {
      await rm(join(root, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Not ours to remove (another user's), or busy: leave it.
    }
  }
  return removed;
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
