import http from 'node:http';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connectThroughProxy } from '../test/helpers/client.js';
import { expect, screenshot, test } from './fixtures.js';

test('WebSocket messages appear live in the Messages tab, then the close', async ({ page, sluice }) => {
  // A chat-like upstream: answers each text message with a JSON echo.
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.send(JSON.stringify({ type: 'welcome', room: 'e2e' }));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) socket.send(JSON.stringify({ type: 'echo', text: (data as Buffer).toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/live-chat`;

  try {
    const socket = await connectThroughProxy(sluice.proxyPort, new URL(url));
    const client = new WebSocket(url, { createConnection: () => socket });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));

    const row = page.getByTestId('exchange-row').filter({ hasText: '/live-chat' });
    await expect(row.locator('.c-protocol')).toHaveText('WS');
    await row.click();
    await expect(page.getByTestId('protocol')).toContainText('WebSocket over HTTP/1.1');
    await page.getByRole('tab', { name: /Messages/ }).click();
    const rows = page.getByTestId('ws-row');
    const stats = page.getByTestId('ws-stats');

    // The welcome arrives before the client says anything.
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute('data-direction', 'response');
    await expect(rows.first()).toContainText('welcome');

    // Each message shows while the socket stays open.
    client.send('hello');
    await expect(rows).toHaveCount(3);
    client.send(Buffer.from([1, 2, 3, 4]), { binary: true });
    await expect(rows).toHaveCount(4);
    await expect(stats).toContainText('2 sent');
    await expect(stats).toContainText('2 received');
    await expect(rows.nth(1)).toContainText('↑');
    await expect(rows.nth(1)).toContainText('hello');
    await expect(rows.nth(3)).toHaveAttribute('data-kind', 'binary');
    await expect(rows.nth(3)).toContainText('01 02 03 04');
    await expect(page.getByRole('tab', { name: 'Messages (4)' })).toBeVisible();
    await expect(page.getByTestId('outcome')).not.toHaveAttribute('data-outcome', /completed|client-closed/);

    // A click opens the message in full, JSON indented.
    await rows.nth(2).click();
    const detail = page.getByTestId('ws-detail');
    await expect(detail).toContainText('JSON');
    await expect(detail.locator('pre')).toContainText('"text": "hello"');
    await screenshot(page, 'websocket-messages');
    // Enter closes it again from the keyboard.
    await page.getByRole('grid', { name: 'WebSocket messages' }).focus();
    await page.keyboard.press('Enter');
    await expect(detail).toHaveCount(0);

    client.close(4000, 'done');
    await new Promise((resolve) => client.once('close', resolve));
    await expect(rows).toHaveCount(6);
    const closes = rows.filter({ has: page.locator('.ws-kind-close') });
    await expect(closes).toHaveCount(2);
    await expect(closes.first()).toContainText('4000 done');
    await expect(page.getByTestId('outcome')).toHaveAttribute('data-outcome', /completed|client-closed/);
  } finally {
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
