import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeSpillDir } from '../../proxy-core/index.js';
import { CaptureStore } from '../store/capture-store.js';
import { errorMessage } from '../../app/error-message.js';

/** The data folder's subfolder that holds the capture store. */
export const CAPTURE_DIR = 'capture';
const STORE_FILE = 'capture.db';

/**
 * The capture store of this run and where it lives, or why there is none. `kept` stores live in
 * the data folder and can outlast the run; the others in a temporary folder removed on close.
 */
export type RunStore =
  | { readonly store: CaptureStore; readonly dir: string; readonly inDataDir: boolean }
  | { readonly store?: undefined; readonly problem: string };

/** A store that opened, with what the user should be told about how it did. */
export type OpenedRunStore = RunStore & { readonly notice?: string };

/**
 * Opens the capture store in `<dataDir>/capture`: with `keep` it holds what the last run kept,
 * otherwise it starts empty. If that folder cannot be used (another Sluice with this data folder
 * has it, or it is not writable) this run's capture goes to a temporary folder named as the
 * proxy's spill folders are (so a Sluice that starts after a crash removes it), and is not kept.
 * Failing that too, the capture stays in memory, bounded; never fatal.
 */
export async function openRunStore(
  dataDir: string,
  keep: boolean,
  onError: (message: string) => void,
): Promise<OpenedRunStore> {
  const dir = join(dataDir, CAPTURE_DIR);
  let dataDirProblem: string;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = await CaptureStore.open(join(dir, STORE_FILE), { onError, temporary: false, kept: keep });
    return { store, dir, inDataDir: true };
  } catch (err) {
    dataDirProblem = errorMessage(err);
  }
  let tmp: string | undefined;
  try {
    tmp = await makeSpillDir();
    const store = await CaptureStore.open(join(tmp, STORE_FILE), { onError });
    return {
      store,
      dir: tmp,
      inDataDir: false,
      notice: `the capture cannot live in ${dir} (${dataDirProblem}); this run's capture is on disk in ${tmp} and is not kept`,
    };
  } catch (err) {
    if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    return {
      problem: `the capture cannot be kept on disk (${errorMessage(err)}); it stays in memory, and past a million events the oldest finished exchanges are forgotten`,
    };
  }
}

/** Closes the store; its folder goes too unless it is the data folder's and `keep` says so. */
export async function closeRunStore(runStore: RunStore, keep: boolean): Promise<void> {
  if (!runStore.store) return;
  await runStore.store.close();
  if (!(keep && runStore.inDataDir)) await rm(runStore.dir, { recursive: true, force: true });
}

/**
 * The highest ids a kept capture holds below and from `importedFrom` (0 when none): this run's
 * exchanges and imports go on past them, so no id means two exchanges.
 */
export async function highestStoredIds(
  runStore: RunStore,
  importedFrom: number,
): Promise<{ captured: number; imported: number }> {
  const ids = runStore.store ? await runStore.store.idsNewestFirst() : [];
  const imported = ids[0] !== undefined && ids[0] >= importedFrom ? ids[0] : 0;
  return { captured: ids.find((id) => id < importedFrom) ?? 0, imported };
}
