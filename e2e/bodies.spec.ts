import { gzipSync } from 'node:zlib';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const MIB = 1024 * 1024;

test('bodies: gzip decoded for display with both sizes, hex for binary, a truncated capture said plainly', async ({
  page,
  sluice,
  upstream,
}) => {
  const json = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) });
  const packed = gzipSync(json);
  const huge = Buffer.alloc(70 * MIB, 0x41);
  const server = await upstream((req, res) => {
    if (req.url === '/gzip') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(packed);
    } else if (req.url === '/binary') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.from([0x00, 0xff, 0x10, 0x80, 0x41, 0x42]));
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': huge.length });
      void (async () => {
        // A mebibyte at a time, a little apart: at full loopback speed a slow disk falls behind the
        // capture's spill, which then gives way first (said as spill-failed) before the body cap.
        for (let at = 0; at < huge.length; at += MIB) {
          if (!res.write(huge.subarray(at, at + MIB))) await new Promise((r) => res.once('drain', r));
          await new Promise((r) => setTimeout(r, 2));
        }
        res.end();
      })();
    }
  });
  const gz = await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/gzip`));
  // Forwarded as sent: still compressed.
  expect(gz.equals(packed)).toBe(true);
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/binary`));
  expect((await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/huge`))).length).toBe(huge.length);

  const row = (path: string) => page.getByTestId('exchange-row').filter({ hasText: path });
  await row('/gzip').click();
  await page.getByRole('tab', { name: 'Body' }).click();
  const info = page.getByTestId('body-info').last();
  await expect(info).toContainText(`gzip: ${packed.length} B encoded → `);
  await expect(page.getByTestId('body-content').last()).toContainText('"name": "item 199"');
  await screenshot(page, 'body-gzip-json');

  await row('/binary').click();
  await expect(page.getByTestId('body-content').last()).toContainText('00000000  00 ff 10 80 41 42');

  await row('/huge').click();
  // Where the capture stopped and why are said, and that the stream itself went through whole. On
  // a disk too slow for the spill the capture gives way before its cap: said so, not hidden.
  const truncated = page.getByTestId('body-truncated');
  await expect(truncated).toContainText(/Capture stopped after (64 MiB \(body-cap\)|[\d.]+ MiB \(spill-failed\))/);
  await expect(truncated).toContainText('forwarded in full (70 MiB)');
});
