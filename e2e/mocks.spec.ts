import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const EVENTS = ['first', 'second', 'third'];

test('an exchange served as a mock answers the same request again, with no upstream asked', async ({
  page,
  sluice,
  upstream,
}) => {
  let upstreamHits = 0;
  const server = await upstream(async (_req, res) => {
    upstreamHits++;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const [i, word] of EVENTS.entries()) {
      res.write(`id: ${i}\ndata: ${word}\n\n`);
      await new Promise((r) => setTimeout(r, 60));
    }
    res.end();
  });
  const url = `${server.url}/v1/updates`;
  const live = (await readAll(await requestViaProxy(sluice.proxyPort, url))).toString();
  expect(upstreamHits).toBe(1);

  const rows = page.getByTestId('exchange-row').filter({ hasText: '/v1/updates' });
  await expect(rows.first()).toHaveAttribute('data-state', 'completed');
  await rows.first().click();
  await page.getByTestId('serve-as-mock').click();
  await expect(page.getByTestId('serve-as-mock-outcome')).toHaveText(/Served as mock 1/);
  await expect(page.getByTestId('mocks-button')).toHaveText('Mocks (1)…');

  const mocked = (await readAll(await requestViaProxy(sluice.proxyPort, url))).toString();
  expect(mocked).toBe(live);
  expect(upstreamHits).toBe(1);
  await expect(rows).toHaveCount(2);
  const answered = rows.nth(1);
  await expect(answered.getByTestId('mock-badge')).toBeVisible();
  await answered.click();
  await expect(page.getByTestId('protocol')).toContainText('answered by mock 1, not the upstream');
  await page.getByRole('tab', { name: /Events/ }).click();
  await expect(page.getByTestId('sse-row')).toHaveCount(EVENTS.length);

  await page.getByTestId('mocks-button').click();
  const mockRow = page.getByTestId('mock-row');
  await expect(mockRow).toContainText(`GET ${url}`);
  await expect(mockRow).toContainText('3 pieces');
  await expect(mockRow.getByTestId('mock-served')).toHaveText('1 time');
  await page.getByTestId('mock-speed').selectOption({ label: 'x2' });
  await expect(page.getByTestId('mock-speed')).toHaveValue('2');
  await page.getByTestId('mock-jitter').fill('15');
  await page.getByTestId('mock-jitter').press('Enter');
  await screenshot(page, 'mocks-dialog');

  await page.getByRole('button', { name: 'Remove mock 1' }).click();
  await expect(page.getByTestId('mocks-none')).toBeVisible();
  await page.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByTestId('mocks-button')).toHaveText('Mocks…');
  await readAll(await requestViaProxy(sluice.proxyPort, url));
  expect(upstreamHits).toBe(2);
});

test('an exchange still open cannot be served as a mock yet', async ({ page, sluice, upstream }) => {
  let finish: () => void = () => undefined;
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('data: open\n\n');
    finish = () => res.end();
  });
  const response = requestViaProxy(sluice.proxyPort, `${server.url}/open`);
  const row = page.getByTestId('exchange-row').filter({ hasText: '/open' });
  await expect(row).toHaveAttribute('data-state', 'streaming');
  await row.click();
  await expect(page.getByTestId('serve-as-mock')).toBeDisabled();
  finish();
  await readAll(await response);
  await expect(page.getByTestId('serve-as-mock')).toBeEnabled();
});
