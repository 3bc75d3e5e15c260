import { readFile } from 'node:fs/promises';
import { harErrors, harValidator } from '../test/helpers/har-schema.js';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

interface Har {
  log: {
    comment?: string;
    entries: {
      request: { url: string; headers: { name: string; value: string }[] };
      response: { status: number; content: { text?: string } };
      _eventSourceMessages?: { data: string }[];
    }[];
  };
}

test('exports HAR from the UI: all, or the selected exchange with secrets redacted; the file is valid HAR', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('data: first\n\ndata: second\n\n');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ you: req.url }));
    }
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/events`));
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/private`, {
      headers: { authorization: 'Bearer sk-secret-token', 'x-api-key': 'key-123' },
    }),
  );
  await expect(page.getByTestId('exchange-row')).toHaveCount(2);
  const validate = harValidator();

  const download = async (): Promise<Har> => {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /^Export \d+ exchange/ }).click(),
    ]);
    expect(file.suggestedFilename()).toMatch(/^sluice-\d{4}-\d\d-\d\d-\d{6}\.har$/);
    const har = JSON.parse(await readFile((await file.path())!, 'utf8')) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    // Closed once the download started, the file whole all the same.
    await expect(page.getByRole('dialog')).toHaveCount(0);
    return har;
  };

  await page.getByRole('button', { name: 'Export HAR…' }).click();
  await expect(page.getByRole('dialog')).toContainText('All (2)');
  const all = await download();
  expect(all.log.entries.map((e) => new URL(e.request.url).pathname)).toEqual(['/events', '/private']);
  expect(all.log.entries[0]!._eventSourceMessages?.map((m) => m.data)).toEqual(['first', 'second']);

  await page.getByTestId('exchange-row').filter({ hasText: '/private' }).click();
  await page.getByRole('button', { name: 'Export HAR…' }).click();
  // All by default even with an exchange selected; the selected one is a click away.
  await expect(page.getByLabel(/All \(\d+\)/)).toBeChecked();
  await page.getByLabel(/The selected exchange/).check();
  await page.getByLabel(/Redact/).check();
  await page.getByLabel('More header names to redact').fill('x-api-key');
  await screenshot(page, 'har-export-dialog');
  const selected = await download();
  expect(selected.log.entries).toHaveLength(1);
  const headers = Object.fromEntries(
    selected.log.entries[0]!.request.headers.map((h) => [h.name.toLowerCase(), h.value]),
  );
  expect(headers.authorization).not.toContain('sk-secret-token');
  expect(headers['x-api-key']).not.toContain('key-123');
  expect(JSON.stringify(selected)).not.toContain('sk-secret-token');
  expect(selected.log.entries[0]!.response.content.text).toBe('{"you":"/private"}');
});
