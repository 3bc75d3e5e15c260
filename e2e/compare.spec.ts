import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const TOKENS = ['Hello', ' there', ', how', ' can', ' I', ' help', '?'];

test('two runs of one stream compared: the changed event and the stall are named, the timelines share an axis', async ({
  page,
  sluice,
  upstream,
}) => {
  let run = 0;
  const server = await upstream(async (_req, res) => {
    run++;
    const second = run === 2;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const [i, token] of TOKENS.entries()) {
      // The second run says one token differently and stalls before the sixth event.
      await new Promise((r) => setTimeout(r, second && i === 5 ? 600 : 30));
      res.write(`data: ${second && i === 2 ? ', who' : token}\n\n`);
    }
    res.end();
  });
  const url = `${server.url}/v1/answer`;
  await readAll(await requestViaProxy(sluice.proxyPort, url));
  await readAll(await requestViaProxy(sluice.proxyPort, url));

  const rows = page.getByTestId('exchange-row').filter({ hasText: '/v1/answer' });
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toHaveAttribute('data-state', 'completed');
  await rows.nth(0).click();
  await page.getByTestId('compare-choose').click();
  await expect(page.getByTestId('compare-chosen')).toBeVisible();
  await rows.nth(1).click();
  await page.getByTestId('compare-with').click();

  const differences = page.getByTestId('compare-differences');
  await expect(differences).toContainText('event 3 changed: ", how" → ", who"');
  const stall = differences.locator('li', { hasText: 'stall before' });
  await expect(stall).toHaveCount(1);
  const [before, after] = [...((await stall.textContent()) ?? '').matchAll(/([\d.]+) ms/g)].map((m) => Number(m[1]));
  expect(before).toBeLessThan(200);
  expect(after).toBeGreaterThanOrEqual(550);
  await expect(stall).toContainText('stall before event 6:');
  await expect(differences.locator('li', { hasText: 'changed' })).toHaveCount(1);
  const table = page.getByTestId('compare-table');
  await expect(table.locator('tr.compare-changed')).toHaveCount(1);
  await expect(table.locator('tr.compare-stall')).toHaveCount(1);
  // Both runs on one axis: B's lane ends later than A's, by the stall.
  await expect(page.getByTestId('compare-timeline').locator('.compare-lane')).toHaveCount(2);
  await screenshot(page, 'compare-runs');

  // The same run against itself: nothing to name.
  await page.getByRole('button', { name: 'Close' }).click();
  await rows.nth(0).click();
  await page.getByTestId('compare-choose').click();
  await rows.nth(0).click();
  await expect(page.getByTestId('compare-chosen')).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('compare-choose')).toBeVisible();
});
