import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

test('every exchange says how it ended; a stream the client closed is not shown as a failure', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    if (req.url === '/reset') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 100_000 });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 50);
    } else if (req.url === '/sse') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: hello\n\n');
      // Never ends: the client will leave.
    } else {
      res.end('fine');
    }
  });

  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/ok`));
  const reset = await requestViaProxy(sluice.proxyPort, `${server.url}/reset`);
  await readAll(reset).catch(() => undefined);
  const sse = await requestViaProxy(sluice.proxyPort, `${server.url}/sse`);
  await new Promise<void>((resolve) => sse.once('data', () => resolve()));
  sse.destroy();

  const row = (path: string) => page.getByTestId('exchange-row').filter({ hasText: path });
  await expect(row('/ok')).toHaveAttribute('data-state', 'completed');
  await expect(row('/reset')).toHaveAttribute('data-state', 'upstream-reset');
  await expect(row('/reset')).toContainText('upstream reset');
  await expect(row('/sse')).toHaveAttribute('data-state', 'client-closed');
  await expect(row('/sse')).toContainText('client closed');

  await row('/reset').click();
  await expect(page.getByTestId('outcome')).toHaveClass(/failed/);
  await expect(page.getByTestId('outcome')).toContainText('upstream reset');
  await row('/sse').click();
  await expect(page.getByTestId('outcome')).not.toHaveClass(/failed/);
  await expect(page.getByTestId('outcome')).toContainText('client closed (the client stopped reading; not an error)');
  await screenshot(page, 'endings');
});

test('a long list stays a screenful of rows in the page and follows new traffic', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => res.end(`n=${req.url}`));
  const total = 1500;
  for (let i = 0; i < total; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, j) =>
        readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/item/${i + j}`)),
      ),
    );
  }
  await expect(page.getByTestId('row-count')).toHaveText(`${total} exchanges`);
  // Virtualised: far fewer row elements than exchanges, and the newest is in view.
  const rendered = await page.getByTestId('exchange-row').count();
  expect(rendered).toBeLessThan(100);
  await expect(page.getByTestId('exchange-row').filter({ hasText: `/item/${total - 1}` })).toBeVisible();
  await page.getByTestId('exchange-list').focus();
  await page.keyboard.press('Home');
  await expect(page.getByTestId('exchange-row').first()).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('#exchange-1')).toBeVisible();
});
