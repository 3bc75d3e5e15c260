import { test as base, expect, type Page } from '@playwright/test';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli, type RunningCli } from '../test/helpers/cli.js';
import { startServer, type TestServer } from '../test/helpers/servers.js';
import { tempDir } from '../test/helpers/temp-dir.js';

export { expect };

/** Screenshots of each main view land here (a CI artifact); the README uses the best of them. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../test-artifacts/screenshots/', import.meta.url));

export interface Sluice {
  readonly cli: RunningCli;
  readonly proxyPort: number;
  readonly uiUrl: string;
}

interface Fixtures {
  /** The real `sluice` command with a fresh data dir, its UI open in `page`. */
  sluice: Sluice;
  /** Starts an upstream on 127.0.0.1:0, closed after the test. */
  upstream: (handler: http.RequestListener) => Promise<TestServer>;
}

export const test = base.extend<Fixtures>({
  sluice: async ({ page }, use) => {
    const dir = await tempDir('sluice-e2e-');
    const cli = await startCli(['--port', '0', '--data-dir', dir.path]);
    try {
      const uiUrl = (await cli.line('ui: ')).slice(4);
      await page.goto(uiUrl);
      await expect(page.getByTestId('proxy-state')).toContainText('running');
      await use({ cli, proxyPort: cli.port, uiUrl });
    } finally {
      await page.close();
      await cli.stop();
      await dir.remove();
    }
  },
  // Playwright reads a fixture's dependencies from its destructured first parameter: none here.
  // eslint-disable-next-line no-empty-pattern
  upstream: async ({}, use) => {
    const servers: TestServer[] = [];
    await use(async (handler) => {
      const server = await startServer(handler);
      servers.push(server);
      return server;
    });
    await Promise.all(servers.map((s) => s.close()));
  },
});

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/** A request through the proxy in absolute form, as curl -x sends it; resolves with the response. */
export function requestViaProxy(
  proxyPort: number,
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: options.method ?? 'GET',
      path: target.href,
      headers: { host: target.host, ...options.headers },
      agent: false,
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Reads a response to its end. */
export async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** A promise with its resolve function, to let a test hold an upstream until it says go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
