import { describe, expect, it } from 'vitest';
import { CaptureStore } from '../../../main/store/capture-store.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { storeCases } from './store-cases.js';
import { join } from 'node:path';

describe('CaptureStore, inline', () => {
  storeCases((path, options) => CaptureStore.open(path, { ...options, thread: 'inline' }));
});

describe('CaptureStore under vitest', () => {
  const { freshDir } = useCleanup();

  it('runs inline by default, since the sources have no compiled worker beside them', async () => {
    const store = await CaptureStore.open(join(await freshDir(), 'capture.sqlite'));
    expect(store.thread).toBe('inline');
    await store.close();
  });

  it('refuses worker mode without a compiled worker, saying which file is missing', async () => {
    const path = join(await freshDir(), 'capture.sqlite');
    await expect(CaptureStore.open(path, { thread: 'worker' })).rejects.toThrow(
      /^Cannot open the capture store at .*: its worker .*store-worker\.js is not built$/,
    );
  });
});
