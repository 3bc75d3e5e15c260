import { test, type Page, type WebSocketRoute } from '@playwright/test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCli } from '../test/helpers/cli.js';
import { tempDir } from '../test/helpers/temp-dir.js';
import { expect } from './fixtures.js';

/**
 * The host keeps its notices and replays them to every new feed, so a tab that reconnects or
 * reloads is told again: it must still show each notice once, and one the user dismissed must
 * stay dismissed.
 */
test('a host notice shows once after a reconnect and a reload, and a dismissed one stays dismissed', async ({
  page,
}) => {
  const dir = await tempDir('sluice-e2e-');
  // A settings file that is not JSON: the host starts with defaults and says so in a notice.
  await writeFile(join(dir.path, 'settings.json'), '{ "proxyPort": ');
  const cli = await startCli(['--port', '0', '--data-dir', dir.path]);
  try {
    const feeds: WebSocketRoute[] = [];
    let replays = 0;
    await page.routeWebSocket(/\/ws/, (ws) => {
      feeds.push(ws);
      const server = ws.connectToServer();
      server.onMessage((message) => {
        if (typeof message === 'string' && isFirstBatch(message)) replays++;
        ws.send(message);
      });
    });
    await page.goto((await cli.line('ui: ')).slice(4));
    const notices = page.getByTestId('notice');
    await expect(notices).toHaveCount(1);
    await expect(notices).toContainText('settings.json');

    // The connection drops; the page reconnects and the host replays its log, the notice included.
    await feeds[0]!.close();
    await expect.poll(() => replays).toBe(2);
    await expect(page.getByTestId('connection-banner')).toHaveCount(0);
    await nextFrames(page);
    await expect(notices).toHaveCount(1);

    await page.reload();
    await expect(page.getByTestId('proxy-state')).toContainText('running');
    await expect(notices).toHaveCount(1);
    await notices.getByRole('button', { name: 'Dismiss' }).click();
    await expect(notices).toHaveCount(0);

    await page.reload();
    await expect.poll(() => replays).toBe(4);
    await expect(page.getByTestId('proxy-state')).toContainText('running');
    await nextFrames(page);
    await expect(notices).toHaveCount(0);
  } finally {
    await cli.stop();
    await dir.remove();
  }
});

function isFirstBatch(message: string): boolean {
  const parsed = JSON.parse(message) as { kind?: string; batch?: { seq?: number } };
  return parsed.kind === 'batch' && parsed.batch?.seq === 0;
}

/** The store applies batches once per animation frame: after two, what arrived is on screen. */
async function nextFrames(page: Page): Promise<void> {
  await page.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
  );
}
