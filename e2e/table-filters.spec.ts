import http from 'node:http';
import type net from 'node:net';
import type { Page } from '@playwright/test';
import WebSocket, { WebSocketServer } from 'ws';
import { connectThroughProxy } from '../test/helpers/client.js';
import { expect, gate, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const WORDS = ['Filters', ' find', ' the', ' tokens', ' you', ' want'];

/** An Anthropic-style stream, as `event:` name and JSON data. */
function anthropicEvent(name: string, data: object): string {
  return `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
}

function textDelta(text: string): string {
  return anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
}

/** Presses Tab until `target` has the focus, as a keyboard user would get there; fails past `most` presses. */
async function tabTo(page: Page, target: ReturnType<Page['getByRole']>, most = 8): Promise<void> {
  for (let i = 0; i < most && !(await target.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(target).toBeFocused();
}

test('the events table filters by text and by event name, and new matches show while the stream grows', async ({
  page,
  sluice,
  upstream,
}) => {
  const rest = gate();
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(anthropicEvent('message_start', { message: { id: 'msg_filter', role: 'assistant' } }));
    res.write(anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    for (const word of WORDS.slice(0, 3)) res.write(textDelta(word));
    res.write(anthropicEvent('ping', {}));
    await rest.promise;
    for (const word of WORDS.slice(3)) res.write(textDelta(word));
    res.write(anthropicEvent('content_block_stop', { index: 0 }));
    res.write(anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn' } }));
    res.end(anthropicEvent('message_stop', {}));
  });
  const body = requestViaProxy(sluice.proxyPort, `${server.url}/v1/messages`, { method: 'POST', body: '{}' }).then(
    readAll,
  );

  await page.getByTestId('exchange-row').filter({ hasText: '/v1/messages' }).click();
  const eventsTab = page.getByRole('tab', { name: /Events/ });
  await eventsTab.click();
  const rows = page.getByTestId('sse-row');
  const stats = page.getByTestId('sse-stats');
  await expect(rows).toHaveCount(6);

  // From the tabs, Tab reaches the filter; text matches the data, ignoring case.
  const filter = page.getByRole('searchbox', { name: 'Filter events' });
  await eventsTab.focus();
  await tabTo(page, filter);
  await page.keyboard.type('TEXT_delta');
  await expect(rows).toHaveCount(3);
  await expect(stats).toContainText('3 of 6 events');
  await page.keyboard.type('","text":"Filters');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Filters');

  // Escape clears the text; a name chosen from those seen keeps only its events.
  await page.keyboard.press('Escape');
  await expect(filter).toHaveValue('');
  await expect(rows).toHaveCount(6);
  const name = page.getByRole('combobox', { name: 'Event name' });
  await expect(name.locator('option')).toHaveText([
    'All event names',
    'message_start (1)',
    'content_block_start (1)',
    'content_block_delta (3)',
    'ping (1)',
  ]);
  await name.selectOption({ label: 'content_block_delta (3)' });
  await expect(rows).toHaveCount(3);
  await expect(stats).toContainText('3 of 6 events');

  // The stream goes on: its new deltas join the filtered table, nothing else does.
  rest.open();
  await body;
  await expect(rows).toHaveCount(WORDS.length);
  await expect(stats).toContainText(`${WORDS.length} of 12 events`);
  await expect(rows.last()).toContainText('want');
  await filter.fill('you');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('content_block_delta');
  await screenshot(page, 'sse-events-filtered');

  // The name filter and the text together: a stop event holds no "you".
  await name.selectOption({ label: 'message_stop (1)' });
  await expect(rows).toHaveCount(0);
  await expect(stats).toContainText('0 of 12 events');
  // One Escape clears the text, the next the name.
  await filter.press('Escape');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('message_stop');
  await filter.press('Escape');
  await expect(name).toHaveValue('');
  await expect(rows).toHaveCount(12);
  await expect(stats).toContainText('12 events');
  await expect(stats).not.toContainText(' of ');

  // A click on a filtered row opens that event, not the one at its place in the whole stream.
  await filter.fill('message_delta');
  await rows.first().click();
  await expect(page.getByTestId('sse-detail')).toContainText('Event 10 · message_delta');
});

test('the messages table filters by direction and text, live', async ({ page, sluice }) => {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.send(JSON.stringify({ type: 'welcome' }));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) socket.send(JSON.stringify({ type: 'echo', text: (data as Buffer).toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/filter-chat`;

  try {
    const socket = await connectThroughProxy(sluice.proxyPort, new URL(url));
    const client = new WebSocket(url, { createConnection: () => socket });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    client.send('hello');
    client.send('Weather in Oslo?');
    client.send(Buffer.from([0xca, 0xfe, 0xba, 0xbe]), { binary: true });

    await page.getByTestId('exchange-row').filter({ hasText: '/filter-chat' }).click();
    await page.getByRole('tab', { name: /Messages/ }).click();
    const rows = page.getByTestId('ws-row');
    const stats = page.getByTestId('ws-stats');
    // welcome, hello, echo, Oslo, echo, binary
    await expect(rows).toHaveCount(6);

    const direction = page.getByRole('combobox', { name: 'Direction' });
    await direction.selectOption({ label: '↓ From the server' });
    await expect(rows).toHaveCount(3);
    await expect(stats).toContainText('3 of 6 messages');
    for (const row of await rows.all()) await expect(row).toHaveAttribute('data-direction', 'response');

    const filter = page.getByRole('searchbox', { name: 'Filter messages' });
    await filter.fill('oslo');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('"type":"echo"');

    // Sent by the client: the question itself; a new matching message shows as it comes.
    await direction.selectOption({ label: '↑ Sent by the client' });
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Weather in Oslo?');
    client.send('And in OSLO tomorrow?');
    await expect(rows).toHaveCount(2);
    await expect(stats).toContainText('2 of 8 messages');
    await screenshot(page, 'websocket-messages-filtered');

    // A binary message is found by the hex its row shows.
    await filter.fill('fe ba');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute('data-kind', 'binary');

    // Escape clears the text, then the direction.
    await filter.press('Escape');
    await expect(rows).toHaveCount(4);
    await filter.press('Escape');
    await expect(rows).toHaveCount(8);
    await expect(stats).not.toContainText(' of ');
    client.close();
  } finally {
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
