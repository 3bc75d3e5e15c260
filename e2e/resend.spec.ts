import { expect, readAll, requestViaProxy, test } from './fixtures.js';

test('a captured request sent again, as it was and edited, becomes a new exchange linked to the first', async ({
  page,
  sluice,
  upstream,
}) => {
  const received: { method: string; url: string; body: string; trace: string | undefined }[] = [];
  const server = await upstream((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body, trace: req.headers['x-trace'] as string });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ echoed: body }));
    });
  });
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace': 'first' },
      body: '{"item":"tea"}',
    }),
  );
  const rows = page.getByTestId('exchange-row');
  await expect(rows).toHaveCount(1);
  await rows.first().click();

  await page.getByTestId('resend').click();
  await expect(rows).toHaveCount(2);
  // The new exchange is selected, and says where it came from.
  await expect(page.getByTestId('resent-from')).toHaveText('Sent again from exchange 1');
  await expect(rows.nth(1).getByTestId('resent-badge')).toBeVisible();
  await expect(rows.nth(1)).toHaveAttribute('data-state', 'completed');
  expect(received[1]).toEqual({ method: 'POST', url: '/v1/orders', body: '{"item":"tea"}', trace: 'first' });

  await page.getByTestId('resend-edit').click();
  const head = page.getByTestId('resend-head');
  await expect(head).toHaveValue(/^POST http:\/\/127\.0\.0\.1:\d+\/v1\/orders HTTP\/1\.1\n/);
  const original = await head.inputValue();
  await head.fill(original.replace(`${server.url}/v1/orders`, 'http://elsewhere.test/v1/orders'));
  await page.getByTestId('resend-send').click();
  await expect(page.getByTestId('resend-error')).toContainText('where the request goes cannot change');

  const text = original.replace('/v1/orders', '/v1/orders?dry=1').replace('x-trace: first', 'x-trace: edited');
  await head.fill(text);
  await expect(page.getByTestId('resend-body')).toHaveValue('{"item":"tea"}');
  await page.getByTestId('resend-body').fill('{"item":"coffee"}');
  await page.getByTestId('resend-send').click();
  await expect(rows).toHaveCount(3);
  await expect(page.getByTestId('resent-from')).toHaveText('Sent again from exchange 2');
  await expect.poll(() => received.length).toBe(3);
  expect(received[2]).toEqual({ method: 'POST', url: '/v1/orders?dry=1', body: '{"item":"coffee"}', trace: 'edited' });

  await page.getByTestId('resent-from').getByRole('button').click();
  await expect(page.getByTestId('resent-from')).toHaveText('Sent again from exchange 1');
});

test('a stream that never ends, sent again, can be stopped from the details', async ({ page, sluice, upstream }) => {
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('data: tick\n\n');
  });
  const first = requestViaProxy(sluice.proxyPort, `${server.url}/ticks`);
  const rows = page.getByTestId('exchange-row');
  await expect(rows.first()).toHaveAttribute('data-state', 'streaming');
  await rows.first().click();
  await page.getByTestId('resend').click();
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toHaveAttribute('data-state', 'streaming');
  await page.getByTestId('stop-exchange').click();
  await expect(rows.nth(1)).toHaveAttribute('data-state', 'client-closed');
  await expect(page.getByTestId('outcome')).toContainText('stopped from Sluice');
  await expect(page.getByTestId('stop-exchange')).toHaveCount(0);
  // The first one goes on until it is stopped too.
  await expect(rows.first()).toHaveAttribute('data-state', 'streaming');
  await rows.first().click();
  await page.getByTestId('stop-exchange').click();
  await expect(rows.first()).toHaveAttribute('data-state', 'client-closed');
  await first.catch(() => undefined);
});
