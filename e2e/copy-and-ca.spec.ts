import { execFile } from 'node:child_process';
import type http from 'node:http';
import { expect, readAll, requestViaProxy, screenshot, test, type Sluice } from './fixtures.js';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

/** What the upstream received, as on the wire. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
}

function recorder(into: Received[]): http.RequestListener {
  return (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      into.push({ method: req.method ?? '', url: req.url ?? '', headers, body: Buffer.concat(parts) });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('stored');
    });
  };
}

/** Headers a server acts on: lower-cased, without the connection's own and the framing each client picks. */
function meaningful(headers: [string, string][]): [string, string][] {
  const framing = new Set(['connection', 'keep-alive', 'content-length', 'transfer-encoding', 'expect']);
  return headers.map(([n, v]): [string, string] => [n.toLowerCase(), v]).filter(([n]) => !framing.has(n));
}

/** Runs a copied command the way a terminal would: bash reads it as typed (or pasted). */
function runInBash(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', ['-s'], { timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(command);
  });
}

const clipboard = (page: import('@playwright/test').Page): Promise<string> =>
  page.evaluate(() => navigator.clipboard.readText());

async function send(sluice: Sluice, url: string, body: string): Promise<void> {
  const res = await requestViaProxy(sluice.proxyPort, url, {
    method: 'PUT',
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'X-Api-Key': `it's $SECRET "quoted"`,
      Authorization: 'Bearer token-123',
      Cookie: 'session=abc; theme=dark',
    },
    body,
  });
  await readAll(res);
}

test('Copy as cURL sends the same request again; headers copy per row and all at once', async ({
  page,
  sluice,
  upstream,
}) => {
  const received: Received[] = [];
  const server = await upstream(recorder(received));
  const body = JSON.stringify({ text: 'it\'s a "body" with $dollars and `ticks`\n', emoji: 'ü🙂' });
  await send(sluice, `${server.url}/items/7?x=1&y=$z`, body);
  expect(received).toHaveLength(1);

  await page.getByTestId('exchange-row').filter({ hasText: '/items/7' }).click();
  await page.getByRole('button', { name: 'Copy as cURL' }).click();
  await expect(page.getByText('Copied')).toBeVisible();
  const command = await clipboard(page);
  expect(command).toContain(`curl '${server.url}/items/7?x=1&y=$z'`);

  // Straight to the upstream, as a user reproducing a request would.
  expect(await runInBash(command)).toBe('stored');
  expect(received).toHaveLength(2);
  const [original, copy] = received as [Received, Received];
  expect(copy.method).toBe('PUT');
  expect(copy.url).toBe(original.url);
  expect(copy.body.equals(original.body)).toBe(true);
  const copied = meaningful(copy.headers);
  // curl adds its User-Agent and Accept where the original had none; everything else the same, in order.
  expect(copied.filter(([n]) => n !== 'user-agent' && n !== 'accept')).toEqual(meaningful(original.headers));

  await page.getByRole('tab', { name: 'Headers' }).click();
  const request = page.getByRole('region', { name: 'Request headers' });
  await request.getByRole('row', { name: /X-Api-Key/i }).hover();
  await request.getByRole('button', { name: /Copy header X-Api-Key/i }).click();
  expect(await clipboard(page)).toBe(`X-Api-Key: it's $SECRET "quoted"`);
  await screenshot(page, 'copy-request-and-headers');
  await request.getByRole('button', { name: /Copy the value of Authorization/i }).click();
  expect(await clipboard(page)).toBe('Bearer token-123');
  await request.getByRole('button', { name: 'Copy all request headers' }).click();
  // Every row as the table shows it (the head as the client sent it), one per line.
  const shown = await request
    .locator('tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => `${r.querySelector('th')?.textContent}: ${r.querySelector('td')?.textContent}`),
    );
  expect(shown).toContain('Cookie: session=abc; theme=dark');
  await expect.poll(() => clipboard(page)).toBe(shown.join('\n'));
});

test('a request body Sluice did not keep is said, not silently left out', async ({ page, sluice, upstream }) => {
  const received: Received[] = [];
  const server = await upstream(recorder(received));
  await page.getByRole('button', { name: /Recording/ }).click();
  await expect(page.getByRole('button', { name: /Capture paused/ })).toBeVisible();
  await send(sluice, `${server.url}/unkept`, '{"kept": false}');

  await page.getByTestId('exchange-row').filter({ hasText: '/unkept' }).click();
  await page.getByRole('button', { name: 'Copy as cURL' }).click();
  await expect(page.getByTestId('copy-body-note')).toContainText('kept no copy');
  const command = await clipboard(page);
  expect(command.split('\n')[0]).toMatch(/^# Sluice kept no copy of this request's 15-byte body/);
});

const SYSTEM_NAMES: Record<string, string> = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };

test("the CA dialog shows this computer's system first, then the tools, with the real path and copy buttons", async ({
  page,
  sluice,
}) => {
  await page.getByRole('button', { name: 'CA certificate' }).click();
  const dialog = page.getByRole('dialog');
  const first = dialog.getByTestId('ca-system').first();
  await expect(first).toHaveAttribute('data-os', process.platform);
  await expect(first.getByRole('heading')).toHaveText(`${SYSTEM_NAMES[process.platform]} (this computer)`);
  // Alternatives, not steps: no numbered list anywhere.
  await expect(dialog.locator('ol')).toHaveCount(0);

  const path = (await dialog.locator('.ca-file code').textContent()) ?? '';
  expect(path).toMatch(/ca\.pem$/);
  const tools = dialog.getByTestId('ca-tools');
  for (const name of [
    'NODE_EXTRA_CA_CERTS',
    'REQUESTS_CA_BUNDLE',
    'SSL_CERT_FILE',
    'curl --cacert',
    'http.sslCAInfo',
    'keytool',
    'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
  ]) {
    await expect(tools).toContainText(name);
  }
  await expect(tools).toContainText(path);
  await screenshot(page, 'ca-dialog');
  await expect(tools).toContainText(`http://127.0.0.1:${sluice.proxyPort}`);
  await tools.getByRole('button', { name: 'Copy the command for Node.js' }).click();
  expect(await clipboard(page)).toBe(`export NODE_EXTRA_CA_CERTS='${path}'`);

  // The other systems are there, folded away.
  const others = dialog.locator('details.ca-others');
  await expect(others).not.toHaveAttribute('open');
  await others.locator('summary').click();
  await expect(others.getByTestId('ca-system')).toHaveCount(2);
});
