import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as SourceModule from '../../../main/store/capture-store.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { exchangeRow } from './rows.js';
import { storeCases } from './store-cases.js';

// The worker is the compiled `dist/main/store/store-worker.js` (vitest runs TypeScript sources,
// which a worker thread cannot load), so these tests use the build: `npm test` builds first; by
// hand, `npx tsc -p tsconfig.node.json`.
const built = new URL('../../../dist/main/store/capture-store.js', import.meta.url);
const hasBuild = existsSync(fileURLToPath(built));
const { CaptureStore } = hasBuild
  ? ((await import(built.href)) as typeof SourceModule)
  : ({} as Partial<typeof SourceModule>);

describe.skipIf(!hasBuild)(
  'CaptureStore in a worker thread (skipped: no build in dist/; run npx tsc -p tsconfig.node.json)',
  () => {
    const open: typeof SourceModule.CaptureStore.open = (path, options) =>
      CaptureStore!.open(path, { ...options, thread: 'worker' });

    describe('behaves as inline', () => {
      storeCases(open);
    });

    describe('its own ways', () => {
      const { freshDir, defer } = useCleanup();

      it('runs in a worker by default once built', async () => {
        const store = await CaptureStore!.open(join(await freshDir(), 'capture.sqlite'));
        defer(() => store.close());
        expect(store.thread).toBe('worker');
      });

      it('moves a body that owns its whole buffer, and copies one that shares a buffer', async () => {
        const store = await open(join(await freshDir(), 'capture.sqlite'));
        defer(() => store.close());
        const owned = new Uint8Array(100_000).fill(7);
        const pooled = Buffer.from('a small body from the shared pool');
        expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
        const neighbour = Buffer.from('its neighbour in the pool');
        store.put(exchangeRow(1, { bodies: { response: { bytes: owned, captured: owned.length } } }));
        store.put(exchangeRow(2, { bodies: { request: { bytes: pooled, captured: pooled.length } } }));
        expect(await store.messagesNotKept(1)).toBe(0);

        expect(owned.byteLength).toBe(0); // moved to the worker
        expect(pooled.toString()).toBe('a small body from the shared pool');
        expect(neighbour.toString()).toBe('its neighbour in the pool');
        expect((await store.readBody(1, 'response'))?.bytes).toEqual(Buffer.alloc(100_000, 7));
        expect((await store.readBody(2, 'request'))?.bytes.toString()).toBe('a small body from the shared pool');
      });

      it('a worker that dies fails its calls with a clear error, tells onError once, and does not take the host', async () => {
        const dir = await freshDir();
        // Speaks the protocol for open and close, and throws on any other call.
        const script = join(dir, 'dying-worker.mjs');
        writeFileSync(
          script,
          `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (request) => {
  if (request.kind !== 'call') return;
  if (request.call.op === 'open') {
    parentPort.postMessage({ kind: 'result', seq: request.seq, result: { ids: new Float64Array(0), generation: 0 } });
  } else {
    throw new Error('the disk caught fire');
  }
});
`,
        );
        const errors: string[] = [];
        const path = join(dir, 'capture.sqlite');
        const store = await CaptureStore!.open(path, {
          workerScript: pathToFileURL(script),
          onError: (message) => errors.push(message),
        });
        store.put(exchangeRow(1));
        const message = `The capture store at ${path} stopped (the disk caught fire); the capture can no longer be read or written`;
        await expect(store.headers(1, 'request')).rejects.toThrow(message);
        expect(errors).toEqual([message]);
        await expect(store.messagesNotKept(1)).rejects.toThrow(message);
        await expect(store.idsNewestFirst()).rejects.toThrow(message);
        expect(() => store.put(exchangeRow(2))).not.toThrow();
        await store.close();
        expect(errors).toHaveLength(1);
      });
    });
  },
);
