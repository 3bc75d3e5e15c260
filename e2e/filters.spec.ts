import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

test('filters narrow the list by text, host, status, type, protocol and streaming; arrow keys move the selection', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    if (req.url === '/missing') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('no such thing');
    } else if (req.url === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('data: one\n\ndata: two\n\n');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, ok: true }));
    }
  });
  // Before any traffic the list says how to send some, with the real address.
  await expect(page.getByTestId('empty-hint')).toContainText(`curl -x http://127.0.0.1:${sluice.proxyPort} `);
  // Two host names for one server: the host filter must tell them apart.
  const byIp = server.url;
  const byName = server.url.replace('127.0.0.1', 'localhost');
  for (const url of [`${byIp}/api/users`, `${byIp}/missing`, `${byName}/events`, `${byName}/api/orders`]) {
    await readAll(await requestViaProxy(sluice.proxyPort, url));
  }

  const rows = page.getByTestId('exchange-row');
  await expect(rows).toHaveCount(4);
  await expect(rows.filter({ hasText: 'completed' })).toHaveCount(4);

  await page.getByLabel('Filter by text').fill('/api/');
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('row-count')).toHaveText('2 of 4 exchanges');
  await page.getByLabel('Filter by text').fill('');

  await page.getByLabel('Filter by host').fill('localhost');
  await expect(rows).toHaveCount(2);
  await page.getByLabel('Filter by host').fill('');

  await page.getByLabel('Filter by status').selectOption('4xx');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('/missing');
  await page.getByLabel('Filter by status').selectOption('all');

  await page.getByLabel('Filter by content type').selectOption('json');
  await expect(rows).toHaveCount(2);
  await page.getByLabel('Filter by content type').selectOption('all');

  // Every exchange here is HTTP/1.1 (the detail pane says so too, further down).
  const protocols = page.locator('.exchange-row .c-protocol');
  await expect(protocols).toHaveText(Array(4).fill('HTTP/1.1'));
  // Shown whole, not cut to "HTTP/…" by the column's width.
  const cut = await protocols.evaluateAll((cells) =>
    cells
      .filter((cell) => {
        const text = document.createRange();
        text.selectNodeContents(cell);
        return text.getBoundingClientRect().width > cell.getBoundingClientRect().width;
      })
      .map((cell) => cell.textContent),
  );
  expect(cut).toEqual([]);
  await page.getByLabel('Filter by protocol').selectOption('HTTP/2');
  await expect(rows).toHaveCount(0);
  await expect(page.getByTestId('row-count')).toHaveText('0 of 4 exchanges');
  await page.getByLabel('Filter by protocol').selectOption('HTTP/1.1');
  await expect(rows).toHaveCount(4);
  await page.getByLabel('Filter by protocol').selectOption('all');

  await page.getByLabel('Streaming only').check();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('/events');
  await page.getByLabel('Streaming only').uncheck();
  await expect(rows).toHaveCount(4);

  // Keyboard: focus the list, Home selects the first row, ArrowDown the next.
  await page.getByTestId('exchange-list').focus();
  await page.keyboard.press('Home');
  await expect(rows.nth(0)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowDown');
  await expect(rows.nth(1)).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('outcome')).toContainText('404');
  await expect(page.getByTestId('protocol')).toHaveText(/^HTTP\/1\.1( · connection \d+)?$/);
  await page.getByRole('tab', { name: 'Body' }).click();
  await expect(page.getByTestId('body-content').last()).toHaveText('no such thing');
  await page.keyboard.press('ArrowDown');
  await page.getByTestId('exchange-list').focus();
  await page.keyboard.press('End');
  await expect(rows.nth(3)).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('body-content').last()).toContainText('"ok": true');
  await screenshot(page, 'exchange-list-json-body');
});
