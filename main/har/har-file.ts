import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { writeHar, type HarExportOptions, type HarExportResult, type HarSource } from './har-writer.js';

/**
 * Writes a HAR file next to `path` and renames it into place when complete, so a failed or
 * interrupted export never leaves a half-written file under the name. Mode 0600: a HAR holds
 * bodies and, unless redacted, credentials.
 */
export async function writeHarFile(
  path: string,
  source: HarSource,
  options: HarExportOptions = {},
): Promise<HarExportResult> {
  const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  const handle = await open(partial, 'w', 0o600);
  const out = handle.createWriteStream();
  try {
    const result = await writeHar(out, source, options);
    out.end();
    await finished(out);
    await rename(partial, path);
    return result;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}
