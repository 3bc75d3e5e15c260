import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../test/helpers/temp-dir.js';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/har/', import.meta.url));

test('a HAR exported, cleared and imported again shows the same exchanges, SSE events and timeline', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream(async (req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      for (const word of ['alpha', 'beta', 'gamma']) {
        res.write(`event: word\ndata: ${word}\n\n`);
        await new Promise((r) => setTimeout(r, 30));
      }
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('nothing here');
    }
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/stream`));
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/missing`));
  await expect(page.getByTestId('exchange-row')).toHaveCount(2);

  const dir = await tempDir('sluice-e2e-har-');
  try {
    const file = `${dir.path}/round-trip.har`;
    const har = await fetch(sluice.uiUrl.replace('/?token=', '/har?token='));
    expect(har.status).toBe(200);
    await writeFile(file, Buffer.from(await har.arrayBuffer()));

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect(page.getByTestId('exchange-row')).toHaveCount(0);
    await page.getByTestId('har-import-input').setInputFiles(file);
    await expect(page.getByTestId('har-import-status')).toContainText('Imported 2 exchanges');
    await expect(page.getByTestId('exchange-row')).toHaveCount(2);
    // Imported exchanges are numbered apart from captured ones.
    await expect(page.getByTestId('exchange-row').first().locator('.c-id')).toHaveText('i1');

    await page.getByTestId('exchange-row').filter({ hasText: '/stream' }).click();
    await page.getByRole('tab', { name: /Events/ }).click();
    await expect(page.getByTestId('sse-row')).toHaveCount(3);
    await expect(page.getByTestId('sse-row').nth(2)).toContainText('gamma');
    await page.getByRole('tab', { name: 'Timeline' }).click();
    await expect(page.getByTestId('timeline-summary').first()).toHaveAttribute('data-chunks', /^[1-9]/);
    await page.getByTestId('exchange-row').filter({ hasText: '/missing' }).click();
    await page.getByRole('tab', { name: 'Body' }).click();
    await expect(page.getByTestId('body-content').last()).toHaveText('nothing here');
    await screenshot(page, 'har-imported');
  } finally {
    await dir.remove();
  }
});

test("another tool's HAR imports; a broken file is refused with what is wrong and where", async ({ page, sluice }) => {
  await expect(page.getByTestId('proxy-state')).toContainText(String(sluice.proxyPort));
  await page.getByTestId('har-import-input').setInputFiles(`${FIXTURES}mitmproxy-tests/insomnia.har`);
  await expect(page.getByTestId('har-import-status')).toContainText(/Imported [1-9]\d* exchanges/);
  await expect(page.getByTestId('exchange-row').first()).toBeVisible();

  await page.getByTestId('har-import-input').setInputFiles(`${FIXTURES}mitmproxy-tests/broken.har`);
  await expect(page.getByTestId('har-import-status').filter({ hasText: 'stopped' })).toContainText(/HAR|JSON/);
});

test('a HAR recorded by Chromium itself imports with its requests and bodies', async ({
  browser,
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>recorded</title><script>fetch("/api/data").then((r) => r.json())</script>');
    } else if (req.url === '/api/data') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ recordedBy: 'chromium', n: 42 }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const dir = await tempDir('sluice-e2e-record-');
  try {
    const file = `${dir.path}/chromium.har`;
    const recording = await browser.newContext({ recordHar: { path: file, content: 'embed' } });
    const recorded = await recording.newPage();
    const data = recorded.waitForResponse((r) => r.url().endsWith('/api/data'));
    await recorded.goto(server.url);
    await (await data).finished();
    await recording.close();

    // The recording went straight to the server: Sluice has seen none of it until the import.
    await expect(page.getByTestId('proxy-state')).toContainText(String(sluice.proxyPort));
    await expect(page.getByTestId('exchange-row')).toHaveCount(0);
    await page.getByTestId('har-import-input').setInputFiles(file);
    await expect(page.getByTestId('har-import-status')).toContainText(/Imported [2-9] exchanges/);
    const api = page.getByTestId('exchange-row').filter({ hasText: '/api/data' });
    await expect(api).toContainText('200');
    await api.click();
    await page.getByRole('tab', { name: 'Body' }).click();
    await expect(page.getByTestId('body-content').last()).toContainText('"recordedBy": "chromium"');
  } finally {
    await dir.remove();
  }
});
