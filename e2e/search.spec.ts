import { gzipSync } from 'node:zlib';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

test('the filter finds a header value, and with "in bodies" a value only a gzip response body holds', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    req.resume();
    if (req.url === '/v1/chat') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ model: 'zeta-model-42', choices: [{ text: 'hi' }] })));
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    }
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/v1/chat`));
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/v1/traced`, { headers: { 'x-request-id': 'trace-9f2c' } }),
  );
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/v1/other`));
  const rows = page.getByTestId('exchange-row');
  await expect(rows).toHaveCount(3);

  const text = page.getByLabel('Filter by text');
  // A request header's value, without reaching for bodies.
  await text.fill('TRACE-9F2C');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('/v1/traced');

  // Only the response body (gzip on the wire) holds the model's name: not found until bodies are searched.
  await text.fill('zeta-model-42');
  await expect(rows).toHaveCount(0);
  await page.getByLabel('in bodies').check();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('/v1/chat');
  await expect(page.getByTestId('body-search-status')).toHaveText('1 body matches (3 searched)');
  await screenshot(page, 'search-in-bodies');

  // Traffic that comes while the search is on is searched too.
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/v1/upload`, {
      method: 'POST',
      body: '{"model":"zeta-model-42"}',
      headers: { 'content-type': 'application/json' },
    }),
  );
  await expect(rows).toHaveCount(2);
});
