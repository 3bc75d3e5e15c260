import { fileURLToPath } from 'node:url';
import type { Locator, Page } from '@playwright/test';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/har/mitmproxy-tests/', import.meta.url));
/** Three WebSocket exchanges with demo.piesocket.com. */
const WEBSOCKET_HAR = 'mitmproxy-export-websocket.har';
/** Two SSE exchanges with clientstream.launchdarkly.com. */
const EVENTS_HAR = 'mitmproxy-export-event_stream.har';

/** Imports a fixture through the page's file input and waits for the host to say it is done. */
async function importFixture(page: Page, name: string, count: number): Promise<void> {
  await page.getByTestId('har-import-input').setInputFiles(`${FIXTURES}${name}`);
  await expect(page.getByTestId('har-import-status').filter({ hasText: `Imported ${count} exchanges` })).toHaveCount(1);
  // The next import's line must not be confused with this one's.
  await page.getByTestId('har-import-status').getByRole('button', { name: 'Dismiss' }).click();
}

/** The cells under `cells` whose text does not fit them (an ellipsis shows), as `class: text`. */
function cutCells(cells: Locator): Promise<string[]> {
  return cells.evaluateAll((elements) =>
    elements.filter((e) => e.scrollWidth > e.clientWidth).map((e) => `${e.className}: ${e.textContent ?? ''}`),
  );
}

test('list columns show headers and the values that tell rows apart whole while the pane has room', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    if (req.url === '/reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/api/with/a/rather/long/path?page=2&size=50`));
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/reset`)).catch(() => undefined);
  await importFixture(page, WEBSOCKET_HAR, 3);
  const rows = page.getByTestId('exchange-row');
  await expect(rows).toHaveCount(5);
  await expect(rows.filter({ hasText: 'websocket' }).first().locator('.c-protocol')).toHaveText('WS');
  await expect(rows.filter({ hasText: '/reset' }).locator('.c-state')).not.toHaveText('waiting');

  expect.soft(await cutCells(page.locator('.exchange-header > span'))).toEqual([]);
  // The path takes what is left and is the one column that may be cut.
  expect.soft(await cutCells(rows.locator(':scope > span:not(.c-path)'))).toEqual([]);
  const path = rows.filter({ hasText: '/api/with' }).locator('.c-path');
  await expect(path).toHaveAttribute('title', '/api/with/a/rather/long/path?page=2&size=50');
  await screenshot(page, 'exchange-list-columns');
});

test.describe('in a maximised window', () => {
  // Wide enough for the file badges to show their names beside the paths (narrower, they keep their icon).
  test.use({ viewport: { width: 1920, height: 900 } });

  test('imported exchanges name their file; the list shows live traffic or one file, and a file can be removed', async ({
    page,
    sluice,
    upstream,
  }) => {
    const server = await upstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('live');
    });
    await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/seen-live`));
    const rows = page.getByTestId('exchange-row');
    await expect(rows).toHaveCount(1);
    // Nothing imported yet: no source to choose.
    await expect(page.getByLabel('Filter by source')).toHaveCount(0);

    await importFixture(page, WEBSOCKET_HAR, 3);
    await importFixture(page, EVENTS_HAR, 2);
    await expect(rows).toHaveCount(6);
    const badge = rows.filter({ hasText: 'piesocket' }).first().getByTestId('imported-from');
    // Both files start "mitmproxy-export-": the badges leave that out, so they differ even when cut.
    await expect(badge).toHaveText('…websocket');
    await expect(badge).toHaveAttribute('title', `imported from ${WEBSOCKET_HAR}`);
    await expect(rows.filter({ hasText: '/seen-live' }).getByTestId('imported-from')).toHaveCount(0);
    await screenshot(page, 'imported-files');

    const source = page.getByLabel('Filter by source');
    await source.selectOption('live');
    await expect(rows).toHaveCount(1);
    await expect(rows).toContainText('/seen-live');
    await expect(page.getByTestId('row-count')).toHaveText('1 of 6 exchanges');

    await source.selectOption({ label: WEBSOCKET_HAR });
    await expect(rows).toHaveCount(3);
    await expect(rows.getByTestId('imported-from')).toHaveText(['…websocket', '…websocket', '…websocket']);

    // Removing asks first; cancelling keeps everything.
    const remove = page.getByRole('button', { name: `Remove ${WEBSOCKET_HAR}…` });
    await remove.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await expect(rows).toHaveCount(3);
    await remove.click();
    await expect(page.getByRole('dialog')).toContainText(`the 3 exchanges imported from ${WEBSOCKET_HAR}`);
    await page.getByRole('dialog').getByRole('button', { name: 'Remove 3 exchanges' }).click();

    // The list shows everything again, without the file's exchanges, and the file is no choice any more.
    await expect(rows).toHaveCount(3);
    await expect(source).toHaveValue('all');
    await expect(source.locator('option')).toHaveText(['all', 'live', EVENTS_HAR]);
    await expect(rows.filter({ hasText: 'piesocket' })).toHaveCount(0);
    // One file left: its badge names it whole again.
    await expect(rows.getByTestId('imported-from').first()).toHaveText('mitmproxy-export-event_stream');

    // The host forgot them: a reload replays the capture without them.
    await page.reload();
    await expect(page.getByTestId('proxy-state')).toContainText('running');
    await expect(rows).toHaveCount(3);
    await expect(rows.filter({ hasText: 'piesocket' })).toHaveCount(0);
    await expect(rows.filter({ hasText: 'launchdarkly' })).toHaveCount(2);
  });
});
