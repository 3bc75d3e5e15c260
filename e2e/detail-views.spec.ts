import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import type { Page } from '@playwright/test';
import WebSocket, { WebSocketServer } from 'ws';
import { connectThroughProxy } from '../test/helpers/client.js';
import { tempDir } from '../test/helpers/temp-dir.js';
import { expect, gate, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

/** Lets the page write and read the clipboard, so a test can read back what a Copy button put there. */
async function allowClipboard(page: Page, uiUrl: string): Promise<void> {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(uiUrl).origin });
}

function readClipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Cells (other than the free-width data column) whose text does not fit: what a user sees cut with "…". */
function cutCells(page: Page, rowTestId: string): Promise<string[]> {
  return page
    .getByTestId(rowTestId)
    .evaluateAll((rows) =>
      rows.flatMap((row) =>
        [...row.querySelectorAll<HTMLElement>('[role="gridcell"]:not(.live-data)')]
          .filter((cell) => cell.scrollWidth > cell.clientWidth)
          .map((cell) => cell.textContent ?? ''),
      ),
    );
}

test("a WebSocket's Body tab points to its messages; a message can be copied", async ({ page, sluice }) => {
  await allowClipboard(page, sluice.uiUrl);
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(JSON.stringify({ echo: (data as Buffer).toString() })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/socket`;
  try {
    const socket = await connectThroughProxy(sluice.proxyPort, new URL(url));
    const client = new WebSocket(url, { createConnection: () => socket });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    client.send('hello');

    await page.getByTestId('exchange-row').filter({ hasText: '/socket' }).click();
    await expect(page.getByRole('tab', { name: 'Messages (2)' })).toBeVisible();
    await page.getByRole('tab', { name: 'Body' }).click();
    const panel = page.getByRole('tabpanel');
    // Recording was on the whole time: nothing was paused or cleared, and nothing is loading.
    await expect(panel).toContainText('2 messages');
    await expect(panel).not.toContainText('No copy');
    await expect(panel).not.toContainText('paused');
    await expect(panel).not.toContainText('loading');
    await screenshot(page, 'websocket-body');

    await panel.getByRole('button', { name: 'Show messages' }).click();
    await expect(page.getByRole('tab', { name: 'Messages (2)' })).toHaveAttribute('aria-selected', 'true');
    await page.getByTestId('ws-row').nth(1).click();
    await page.getByRole('button', { name: 'Copy message' }).click();
    await expect.poll(() => readClipboard(page)).toBe('{"echo":"hello"}');
    client.close();
  } finally {
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const ANTHROPIC_EVENTS: [name: string, data: object][] = [
  ['message_start', { type: 'message_start', message: { id: 'msg_e2e', role: 'assistant', content: [] } }],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Slow' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' tokens' } }],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' } }],
  ['message_stop', { type: 'message_stop' }],
];

test("Anthropic's event names and gaps over 100 ms are shown whole; an event can be copied", async ({
  page,
  sluice,
  upstream,
}) => {
  await allowClipboard(page, sluice.uiUrl);
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const [name, data] of ANTHROPIC_EVENTS) {
      res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
      // A model thinking between tokens: gaps of well over 100 ms.
      await new Promise((r) => setTimeout(r, 160));
    }
    res.end();
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/v1/messages`, { method: 'POST', body: '{}' }));

  await page.getByTestId('exchange-row').filter({ hasText: '/v1/messages' }).click();
  await page.getByRole('tab', { name: 'Events (7)' }).click();
  const rows = page.getByTestId('sse-row');
  await expect(rows).toHaveCount(7);
  await expect(rows.nth(6)).toContainText('message_stop');
  const gaps = await rows.locator('[role="gridcell"]:nth-child(6)').allTextContents();
  expect(gaps.filter((gap) => /^\d{3}(\.\d)? ms$/.test(gap)).length).toBeGreaterThan(3);
  expect(await cutCells(page, 'sse-row')).toEqual([]);
  await screenshot(page, 'sse-anthropic-columns');

  await rows.nth(2).click();
  await page.getByRole('button', { name: 'Copy event data' }).click();
  await expect.poll(() => readClipboard(page)).toBe(JSON.stringify(ANTHROPIC_EVENTS[2]![1]));
});

test('an NDJSON stream counts its lines on the tab; a line can be copied', async ({ page, sluice, upstream }) => {
  await allowClipboard(page, sluice.uiUrl);
  const lines = [
    { n: 1, word: 'one' },
    { n: 2, word: 'two' },
    { n: 3, word: 'three' },
  ].map((o) => JSON.stringify(o));
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.end(lines.map((line) => `${line}\n`).join(''));
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/api/generate`));

  await page.getByTestId('exchange-row').filter({ hasText: '/api/generate' }).click();
  // Counted before the tab is opened, as the SSE tab is.
  await page.getByRole('tab', { name: 'Events (3)' }).click();
  await page.getByTestId('sse-row').nth(1).click();
  await page.getByRole('button', { name: 'Copy event data' }).click();
  await expect.poll(() => readClipboard(page)).toBe(lines[1]);
});

test('the Body tab names the request and the response body, and copies the one shown', async ({
  page,
  sluice,
  upstream,
}) => {
  await allowClipboard(page, sluice.uiUrl);
  const server = await upstream(async (req, res) => {
    await readAll(req);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"saved":true,"id":42}');
  });
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'remember the milk',
    }),
  );

  await page.getByTestId('exchange-row').filter({ hasText: '/notes' }).click();
  await page.getByRole('tab', { name: 'Body' }).click();
  const request = page.getByRole('region', { name: 'Request body' });
  const response = page.getByRole('region', { name: 'Response body' });
  await expect(request).toContainText('remember the milk');
  await expect(response).toContainText('"saved": true');
  await screenshot(page, 'body-request-response');

  await response.getByRole('button', { name: 'Copy response body' }).click();
  await expect.poll(() => readClipboard(page)).toBe('{\n  "saved": true,\n  "id": 42\n}');
  await request.getByRole('button', { name: 'Copy request body' }).click();
  await expect.poll(() => readClipboard(page)).toBe('remember the milk');
});

test('an upload the client gave up on says how much of its Content-Length arrived', async ({
  page,
  sluice,
  upstream,
}) => {
  const received = gate();
  let bytes = 0;
  const server = await upstream((req) => {
    req.on('data', (part: Buffer) => {
      bytes += part.length;
      if (bytes >= 3000) received.open();
    });
  });
  const client = net.connect(sluice.proxyPort, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  const target = `${server.url}/upload`;
  client.write(`POST ${target} HTTP/1.1\r\nHost: ${new URL(target).host}\r\nContent-Length: 10000\r\n\r\n`);
  client.write(Buffer.alloc(3000, 0x61));
  await received.promise;
  client.destroy();

  const row = page.getByTestId('exchange-row').filter({ hasText: '/upload' });
  await expect(row).toHaveAttribute('data-state', 'client-closed');
  await row.click();
  await expect(page.getByTestId('outcome')).toContainText('client closed (before sending all of its request body)');
  await page.getByRole('tab', { name: 'Body' }).click();
  const request = page.getByRole('region', { name: 'Request body' });
  await expect(request).toContainText('2.9 KiB of 9.8 KiB');
  await screenshot(page, 'body-upload-cut');
});

test("an imported exchange's detail is named by its display id", async ({ page, sluice }) => {
  await expect(page.getByTestId('proxy-state')).toContainText(String(sluice.proxyPort));
  const entry = (path: string) => ({
    startedDateTime: '2024-05-01T10:00:00.000Z',
    time: 12,
    request: {
      method: 'GET',
      url: `http://example.test${path}`,
      httpVersion: 'HTTP/1.1',
      headers: [],
      queryString: [],
      cookies: [],
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      status: 200,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      headers: [{ name: 'Content-Type', value: 'text/plain' }],
      cookies: [],
      content: { size: 2, mimeType: 'text/plain', text: 'ok' },
      redirectURL: '',
      headersSize: -1,
      bodySize: 2,
    },
    cache: {},
    timings: { send: 1, wait: 10, receive: 1 },
  });
  const har = {
    log: { version: '1.2', creator: { name: 'e2e', version: '1' }, entries: [entry('/first'), entry('/second')] },
  };
  const dir = await tempDir('sluice-e2e-har-');
  try {
    const file = `${dir.path}/two.har`;
    await writeFile(file, JSON.stringify(har));
    await page.getByTestId('har-import-input').setInputFiles(file);
    const row = page.getByTestId('exchange-row').filter({ hasText: '/second' });
    await expect(row.locator('.c-id')).toHaveText('i2');
    await row.click();
    await expect(page.getByRole('region', { name: 'Exchange i2' })).toBeVisible();
  } finally {
    await dir.remove();
  }
});
