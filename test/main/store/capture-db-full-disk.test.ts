import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../../helpers/cleanup.js';

const { freshDir } = useCleanup();

const BUILT = fileURLToPath(new URL('../../../dist/main/store/capture-db.js', import.meta.url));
const WRITER = fileURLToPath(new URL('../../fixtures/full-disk/write-past-limit.mjs', import.meta.url));

interface Outcome {
  readonly failed: string;
  readonly afterFailure: number[];
  readonly afterNext: number[];
  readonly body2Intact: boolean;
  readonly reopened: number[];
}

/** Runs the writer in a shell whose file size limit (`ulimit -f`, 512- or 1024-byte blocks) a batch passes. */
function writePastLimit(path: string, mode: 'kept' | 'not-kept'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'ulimit -f 4096 && exec "$0" "$@"', process.execPath, WRITER, BUILT, path, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Outcome);
      else reject(new Error(`the writer ended with ${code ?? signal}: ${err}`));
    });
  });
}

describe.skipIf(process.platform === 'win32')('the capture database on a full disk', () => {
  it.each(['kept', 'not-kept'] as const)(
    'a %s capture undoes the batch that did not fit, keeps what it had, and goes on',
    async (mode) => {
      if (!existsSync(BUILT)) throw new Error('the store is not built: run `npm run build` (npm test does)');
      const path = join(await freshDir(), 'capture.sqlite');
      const outcome = await writePastLimit(path, mode);
      expect(outcome.failed).toMatch(/disk I\/O error|full/);
      expect(outcome.afterFailure).toEqual([1, 2]);
      expect(outcome.afterNext).toEqual([1, 2, 50]);
      expect(outcome.body2Intact).toBe(true);
      expect(outcome.reopened).toEqual([1, 2, 50]);
    },
  );
});
