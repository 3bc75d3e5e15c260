import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import type * as SourceModule from '../../../main/store/capture-store.js';
import type { ExchangeRow } from '../../../main/store/store-rows.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { exchangeRow } from './rows.js';

// The figures in docs/adr/0003-capture-store.md, measured, not asserted:
//   npx tsc -p tsconfig.node.json && SLUICE_STORE_MEASURE=1 npx vitest run test/main/store/store-throughput.test.ts
// CPU per thread comes from /proc (Linux): this thread's own, and the process's minus it (the
// worker, plus V8's helper threads). Row building is measured alone and taken off.
const measure = process.env['SLUICE_STORE_MEASURE'] === '1' && process.platform === 'linux';
const built = new URL('../../../dist/main/store/capture-store.js', import.meta.url);
const hasBuild = existsSync(fileURLToPath(built));

const TICK_US = 10_000; // USER_HZ is 100 on Linux

function thisThreadCpuUs(): number {
  // /proc/self/task/<pid>/stat is the main thread; fields 14 and 15 are utime and stime in ticks.
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

function processCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function row(id: number, eventsChars: number, bodyBytes: number): ExchangeRow {
  return exchangeRow(id, {
    eventsJson: JSON.stringify([{ type: 'exchange-opened', id, pad: 'x'.repeat(Math.max(0, eventsChars - 60)) }]),
    bodies: bodyBytes > 0 ? { response: { bytes: Buffer.alloc(bodyBytes, 97), captured: bodyBytes } } : {},
  });
}

describe.skipIf(!measure || !hasBuild)('capture store throughput (SLUICE_STORE_MEASURE=1, after a build)', () => {
  const { freshDir } = useCleanup();
  const cases = [
    { name: '300 B of events', rows: 100_000, events: 300, body: 0 },
    { name: '1.2 KB of events', rows: 50_000, events: 1200, body: 0 },
    { name: '300 B + 4 KiB body', rows: 20_000, events: 300, body: 4096 },
    { name: '300 B + 1 MiB body', rows: 200, events: 300, body: 1 << 20 },
  ];

  for (const thread of ['worker', 'inline'] as const) {
    it(`${thread}`, { timeout: 600_000 }, async () => {
      const { CaptureStore } = (await import(built.href)) as typeof SourceModule;
      for (const c of cases) {
        const feed = async (put: ((row: ExchangeRow) => void) | undefined, settle: () => Promise<unknown>) => {
          for (let first = 1; first <= c.rows; first += 500) {
            const rows: ExchangeRow[] = [];
            for (let id = first; id < first + 500 && id <= c.rows; id += 1) rows.push(row(id, c.events, c.body));
            if (put !== undefined) for (const r of rows) put(r);
            await settle();
          }
        };
        const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));
        let mainStart = thisThreadCpuUs();
        await feed(undefined, yieldOnce);
        const buildUs = thisThreadCpuUs() - mainStart;

        const store = await CaptureStore.open(join(await freshDir(), 'capture.sqlite'), { thread });
        const processStart = processCpuUs();
        mainStart = thisThreadCpuUs();
        const wallStart = performance.now();
        await feed(
          (r) => store.put(r),
          async () => {
            if (store.backlog > 10_000) await store.messagesNotKept(0);
            await yieldOnce();
          },
        );
        await store.messagesNotKept(0);
        const wallMs = performance.now() - wallStart;
        const processUs = processCpuUs() - processStart;
        const mainUs = thisThreadCpuUs() - mainStart;

        const pageStart = processCpuUs();
        let afterId = 0;
        let paged = 0;
        for (;;) {
          const page = await store.page({ afterId, upTo: store.generation(), maxRows: 1000, maxBytes: 1 << 20 });
          if (page.length === 0) break;
          paged += page.length;
          afterId = page[page.length - 1]!.id;
        }
        const pageUs = processCpuUs() - pageStart;
        await store.close();

        const perRow = (us: number) => (us / c.rows).toFixed(1);
        console.log(
          `${thread.padEnd(6)} ${c.name.padEnd(20)} ${Math.round((c.rows / wallMs) * 1000)} rows/s, ` +
            `CPU ${perRow(processUs - buildUs)} µs/row (this thread ${perRow(mainUs - buildUs)}, ` +
            `others ${perRow(processUs - mainUs)}), paging ${(pageUs / paged).toFixed(1)} µs/row`,
        );
      }
    });
  }
});
