/**
 * The Electron app, end to end: the contract cases (test/contract/contract-cases.ts) run through
 * `window.sluice`, the preload's bridge in the real window, against the host in its utility
 * process; then the shell's guards and a clean quit. Needs Electron's binary and the build
 * (`npm run build`); without the binary every test is skipped with the reason.
 */
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BridgeApi, CallOutcome, CommandName, EventBatch } from '../app/contract.js';
import { findElectronBinary } from '../main/electron-binary.js';
import { BatchFanout } from '../app/transport/batch-fanout.js';
import { HostClient } from '../renderer/src/transport/host-client.js';
import { contractCases, sendThroughProxy } from '../test/contract/contract-cases.js';
import { tempDir } from '../test/helpers/temp-dir.js';

const ELECTRON_MAIN = fileURLToPath(new URL('../dist/main/electron/main.js', import.meta.url));
const SKIP_REASON =
  "Electron's binary is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD); this suite runs where Electron can start";

/** What the page has, as the spec sees it. */
interface SluicePage {
  sluice: BridgeApi & { onConnection: unknown };
  /** Exposed by the spec: hands a batch the page received to the Node side. */
  __sluiceContractBatch: (batch: EventBatch) => void;
}

const binary = findElectronBinary();
if (!binary) console.log(`electron.spec.ts: skipped: ${SKIP_REASON}`);

test.describe('the Electron app (preload bridge, utility-process host)', () => {
  test.skip(!binary, SKIP_REASON);
  test.describe.configure({ mode: 'serial' });

  let app: ElectronApplication;
  let page: Page;
  let removeDataDir: (() => Promise<void>) | undefined;
  /** Batches of the page load under test; a reload starts a new feed, so a new fanout. */
  let feed = new BatchFanout();

  test.beforeAll(async () => {
    const dataDir = await tempDir('sluice-electron-');
    removeDataDir = dataDir.remove;
    app = await electron.launch({ executablePath: binary!, args: [ELECTRON_MAIN, '--data-dir', dataDir.path] });
    page = await app.firstWindow();
    await page.exposeFunction('__sluiceContractBatch', (batch: EventBatch) => feed.deliver(batch));
    // The page's own UI listens as soon as its script runs and would take the feed's first batch
    // (seq 0); this runs before any page script, right after the preload has exposed the bridge.
    await page.addInitScript(() => {
      const page = window as unknown as SluicePage;
      page.sluice?.listen((batch) => page.__sluiceContractBatch(batch));
    });
  });

  test.afterAll(async () => {
    await app?.close().catch(() => undefined);
    await removeDataDir?.();
  });

  /** A fresh page load: a fresh port and feed, with the spec listening from its first batch. */
  async function freshClient(): Promise<HostClient> {
    feed = new BatchFanout();
    await page.reload();
    await page.waitForFunction(() => 'sluice' in window);
    const bridge: BridgeApi = {
      call: (command: CommandName, request: unknown) =>
        page.evaluate(([c, r]) => (window as unknown as SluicePage).sluice.call(c as CommandName, r), [
          command,
          request,
        ] as const) as Promise<CallOutcome>,
      listen: (onBatch) => feed.add(onBatch),
    };
    return new HostClient(bridge);
  }

  for (const contractCase of contractCases) {
    test(contractCase.name, async () => {
      await contractCase.run({ client: await freshClient(), send: sendThroughProxy });
    });
  }

  test('the page gets one bridge object and nothing of Node or IPC', async () => {
    await freshClient();
    const seen = await page.evaluate(() => {
      const global = window as unknown as Record<string, unknown>;
      return {
        bridge: Object.keys(global['sluice'] as object).sort(),
        require: typeof global['require'],
        process: typeof global['process'],
        ipcRenderer: typeof global['ipcRenderer'],
      };
    });
    expect(seen).toEqual({
      bridge: ['call', 'listen', 'onConnection'],
      require: 'undefined',
      process: 'undefined',
      ipcRenderer: 'undefined',
    });
  });

  test('the window opens no other windows and does not navigate away', async () => {
    await freshClient();
    const before = page.url();
    const opened = await page.evaluate(() => window.open('file:///etc/hostname') === null);
    expect(opened).toBe(true);
    await page.evaluate(() => {
      window.location.href = 'file:///etc/hostname';
    });
    await page.waitForTimeout(300);
    expect(page.url()).toBe(before);
    expect(app.windows()).toHaveLength(1);
  });

  test('quitting stops the proxy and frees its port', async () => {
    const client = await freshClient();
    const status = await client.call('proxy.status', {});
    expect(status.state).toBe('running');
    await app.close();
    expect(await canListenOn(status.port)).toBe(true);
  });
});

function canListenOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
