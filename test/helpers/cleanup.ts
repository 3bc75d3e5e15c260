import { afterEach } from 'vitest';
import { tempDir } from './temp-dir.js';

/**
 * Things to undo after each test, last in first out. Call once at the top of a test file;
 * `defer` adds an undo step, `freshDir` makes a temp folder that is removed after the test.
 */
export function useCleanup(): { defer: (undo: () => Promise<unknown>) => void; freshDir: () => Promise<string> } {
  const undo: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (undo.length > 0) await undo.pop()!();
  });
  return {
    defer: (step) => undo.push(step),
    freshDir: async () => {
      const dir = await tempDir();
      undo.push(dir.remove);
      return dir.path;
    },
  };
}
