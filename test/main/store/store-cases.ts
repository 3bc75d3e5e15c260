import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { CaptureStore, CaptureStoreOptions } from '../../../main/store/capture-store.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { exchangeRow, patternBytes } from './rows.js';

export type OpenStore = (path: string, options?: CaptureStoreOptions) => Promise<CaptureStore>;

/**
 * What a CaptureStore does, whichever thread its database runs on: the inline mode runs these
 * against the sources, the worker mode against the build.
 */
export function storeCases(openStore: OpenStore): void {
  const { freshDir, defer } = useCleanup();

  async function open(options: CaptureStoreOptions = {}): Promise<{ store: CaptureStore; path: string }> {
    const path = join(await freshDir(), 'capture.sqlite');
    const store = await openStore(path, options);
    defer(() => store.close());
    return { store, path };
  }

  it('a read sees every row put before it, without waiting for the batch', async () => {
    const { store } = await open();
    store.put(exchangeRow(2));
    store.put(exchangeRow(1, { bodies: { response: { bytes: patternBytes(10), captured: 10 } } }));
    expect(store.size).toBe(2);
    expect(store.backlog).toBeGreaterThan(0);
    const page = await store.page({ afterId: 0, upTo: store.generation(), maxRows: 10, maxBytes: 1 << 20 });
    expect(page.map((row) => row.id)).toEqual([1, 2]);
    expect((await store.readBody(1, 'response'))?.bytes).toEqual(Buffer.from(patternBytes(10)));
    expect(store.backlog).toBe(0);
  });

  it('bounds a page by generation: rows put after the mark wait for the live feed', async () => {
    const { store } = await open();
    for (const id of [1, 2, 3]) store.put(exchangeRow(id));
    const mark = store.generation();
    store.put(exchangeRow(4));
    store.put(exchangeRow(2, { eventsJson: '["put again"]' }));
    expect(store.generation()).toBe(mark + 2);
    const page = await store.page({ afterId: 0, upTo: mark, maxRows: 10, maxBytes: 1 << 20 });
    expect(page.map((row) => row.id)).toEqual([1, 3]);
    const everything = await store.page({ afterId: 0, upTo: store.generation(), maxRows: 10, maxBytes: 1 << 20 });
    expect(everything.map((row) => row.eventsJson)[1]).toBe('["put again"]');
    expect(store.size).toBe(4);
  });

  it('pages by maxBytes with at least one row', async () => {
    const { store } = await open();
    for (let id = 1; id <= 20; id += 1) store.put(exchangeRow(id, { eventsJson: `["${'x'.repeat(96)}"]` }));
    const query = { afterId: 0, upTo: store.generation(), maxRows: 100 };
    expect(await store.page({ ...query, maxBytes: 450 })).toHaveLength(5);
    expect(await store.page({ ...query, maxBytes: 1 })).toHaveLength(1);
  });

  it('answers headers, messages not kept and body ranges with why capture stopped', async () => {
    const { store } = await open();
    const body = patternBytes(1000);
    store.put(
      exchangeRow(7, {
        requestHeaders: [
          ['X-A', '1'],
          ['x-a', '2'],
        ],
        responseHeaders: undefined,
        messagesNotKept: 3,
        bodies: { request: { bytes: body, captured: 5000, limited: 'body-cap' } },
      }),
    );
    expect(await store.headers(7, 'request')).toEqual([
      ['X-A', '1'],
      ['x-a', '2'],
    ]);
    expect(await store.headers(7, 'response')).toBeUndefined();
    expect(await store.headers(8, 'request')).toBeUndefined();
    expect(await store.messagesNotKept(7)).toBe(3);
    const range = await store.readBody(7, 'request', 100, 110);
    expect(range).toEqual({
      bytes: Buffer.from(patternBytes(1000).subarray(100, 110)),
      captured: 5000,
      limited: 'body-cap',
    });
    expect(Buffer.isBuffer(range?.bytes)).toBe(true);
    expect((await store.readBody(7, 'request', 990))?.bytes).toHaveLength(10);
    expect(await store.readBody(7, 'response')).toBeUndefined();
    expect(await store.readBody(8, 'request')).toBeUndefined();
  });

  it('removes and clears, keeping size, has and the ids in step', async () => {
    const { store } = await open();
    for (const id of [1, 2, 3, 2 ** 40]) store.put(exchangeRow(id));
    expect(await store.idsNewestFirst()).toEqual([2 ** 40, 3, 2, 1]);
    expect(await store.remove([2, 9, 2 ** 40])).toEqual([2, 2 ** 40]);
    expect(store.size).toBe(2);
    expect(store.has(2)).toBe(false);
    expect(store.has(3)).toBe(true);
    expect(await store.idsNewestFirst()).toEqual([3, 1]);
    expect(await store.readBody(2, 'response')).toBeUndefined();

    store.put(exchangeRow(5));
    await store.clear();
    expect(store.size).toBe(0);
    expect(store.has(5)).toBe(false);
    expect(await store.page({ afterId: 0, upTo: store.generation(), maxRows: 10, maxBytes: 100 })).toEqual([]);
    store.put(exchangeRow(6));
    expect(await store.idsNewestFirst()).toEqual([6]);
  });

  it('tells onError about a write that failed, forgets its rows, and keeps going', async () => {
    const errors: string[] = [];
    const { store } = await open({ onError: (message) => errors.push(message) });
    store.put(exchangeRow(1));
    store.put(exchangeRow(2, { method: null as unknown as string }));
    await store.messagesNotKept(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Could not write 2 exchanges to the capture store: .*NOT NULL/);
    expect(store.has(1)).toBe(false);
    expect(store.size).toBe(0);

    store.put(exchangeRow(3));
    store.put(exchangeRow(-1));
    store.put(exchangeRow(1.5));
    expect(errors.slice(1)).toEqual([
      'Exchange -1 was not stored: an id must be a whole number from 0',
      'Exchange 1.5 was not stored: an id must be a whole number from 0',
    ]);
    expect(await store.idsNewestFirst()).toEqual([3]);
    expect((await store.page({ afterId: 0, upTo: store.generation(), maxRows: 10, maxBytes: 100 })).length).toBe(1);
  });

  it('rejects an open it cannot do with the path and the reason', async () => {
    const dir = await freshDir();
    writeFileSync(join(dir, 'file'), 'not a folder');
    const path = join(dir, 'file', 'capture.sqlite');
    await expect(openStore(path)).rejects.toThrow(`Cannot open the capture store at ${path}: ENOTDIR`);
  });

  it('keeps a capture across a reopen when asked, counting generations on', async () => {
    const { store, path } = await open({ temporary: false, kept: true });
    store.put(exchangeRow(1, { bodies: { response: { bytes: patternBytes(3), captured: 3 } } }));
    store.put(exchangeRow(2));
    await store.close();
    const again = await openStore(path, { temporary: false, kept: true });
    defer(() => again.close());
    expect(again.size).toBe(2);
    expect(again.has(1)).toBe(true);
    expect(again.generation()).toBe(2);
    again.put(exchangeRow(1));
    expect(again.generation()).toBe(3);
    expect(await again.page({ afterId: 0, upTo: 2, maxRows: 10, maxBytes: 1 << 20 })).toHaveLength(1);
    expect(await again.readBody(1, 'response')).toBeUndefined();
  });

  it('writes what is queued on close, then refuses calls and ignores puts; a temporary one leaves no files', async () => {
    const { store, path } = await open();
    store.put(exchangeRow(1));
    await store.close();
    await store.close();
    expect(readdirSync(join(path, '..'))).toEqual([]);
    await expect(store.page({ afterId: 0, upTo: 1, maxRows: 1, maxBytes: 1 })).rejects.toThrow(
      `The capture store at ${path} is closed`,
    );
    expect(() => store.put(exchangeRow(2))).not.toThrow();
    expect(store.has(2)).toBe(false);
  });
}
