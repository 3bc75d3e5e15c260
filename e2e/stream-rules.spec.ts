import http from 'node:http';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connectThroughProxy } from '../test/helpers/client.js';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

/** An SSE upstream sending `data: token N` events, `count` of them, `everyMs` apart. */
function tokenStream(count: number, everyMs: number): http.RequestListener {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    let n = 0;
    const timer = setInterval(() => {
      if (res.destroyed || n === count) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(`data: token ${n++}\n\n`);
    }, everyMs);
  };
}

test('a rule added in the Rules dialog cuts a live stream, and the exchange and the dialog say so', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream(tokenStream(20, 20));

  await expect(page.getByTestId('rules-button')).toHaveText('Rules…');
  await page.getByTestId('rules-button').click();
  await expect(page.getByTestId('rules-none')).toBeVisible();
  await page.getByRole('button', { name: 'Add a rule…' }).click();
  const json = page.getByTestId('rules-json');
  // A mistake is refused with the field named, and nothing changes.
  await json.fill(
    JSON.stringify({
      rules: [{ name: 'cut after 2', match: { path: '/sse*' }, actions: [{ type: 'end', afterEvent: 2 }] }],
    }),
  );
  await page.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('rules-error')).toContainText('rules[0].actions[0].afterEvent: is not a field here');
  await json.fill(
    JSON.stringify({
      rules: [{ name: 'cut after 2', match: { path: '/sse*' }, actions: [{ type: 'end', afterEvents: 2 }] }],
    }),
  );
  await page.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('rule-row')).toContainText('cut after 2');
  await expect(page.getByTestId('rule-matched')).toHaveText('nothing yet');
  await expect(page.getByTestId('rules-button')).toHaveText('Rules (1 on)…');

  const body = (await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/sse`))).toString();
  expect(body).toBe('data: token 0\n\ndata: token 1\n\n');
  await expect(page.getByTestId('rule-matched')).toHaveText('1 exchange');
  await screenshot(page, 'stream-rules-dialog');
  await page.getByRole('button', { name: 'Close' }).click();

  const row = page.getByTestId('exchange-row').filter({ hasText: '/sse' });
  // The list says a rule changed this exchange, before it is even opened.
  await expect(row.getByTestId('rule-badge')).toHaveText('rule');
  await row.click();
  await expect(page.getByTestId('rules-applied')).toHaveText('Rule cut after 2: ended the stream after 2 events');
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-outcome', 'completed');
  await screenshot(page, 'stream-rules-exchange');

  // Off, the rule is kept and matches nothing: the stream passes whole.
  await page.getByTestId('rules-button').click();
  // The switch turns once the host has the change.
  const on = page.getByRole('checkbox', { name: 'cut after 2 on' });
  await on.click();
  await expect(on).not.toBeChecked();
  await expect(page.getByTestId('rule-matched')).toHaveText('off');
  await expect(page.getByTestId('rules-button')).toHaveText('Rules…');
  const whole = (await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/sse`))).toString();
  expect(whole.split('\n\n').length - 1).toBe(20);
});

test('the timeline draws a rule’s delays apart from backpressure', async ({ page, sluice, upstream }) => {
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end('data: a\n\ndata: b\n\ndata: c\n\ndata: d\n\n');
  });
  await page.getByTestId('rules-button').click();
  await page.getByRole('button', { name: 'Edit as JSON…' }).click();
  await page
    .getByTestId('rules-json')
    .fill(JSON.stringify({ rules: [{ name: 'slow events', actions: [{ type: 'latency', ms: 150 }] }] }));
  await page.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('rules-button')).toHaveText('Rules (1 on)…');
  await page.getByRole('button', { name: 'Close' }).click();

  const started = Date.now();
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/sse`));
  expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 150 - 10);
  await page.getByTestId('exchange-row').filter({ hasText: '/sse' }).click();
  await expect(page.getByTestId('rules-applied')).toHaveText('Rule slow events: delayed 4 times, 600 ms in all');
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await expect(page.getByTestId('timeline-summary')).toContainText(
    'no backpressure pauses, held 600 ms by stream rules',
  );
  await screenshot(page, 'stream-rules-timeline');
});

test('a breakpoint holds an event in the UI; the user edits it and releases it, and the client gets the edit', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream(tokenStream(6, 10));
  await page.getByTestId('rules-button').click();
  await page.getByRole('button', { name: 'Edit as JSON…' }).click();
  await page
    .getByTestId('rules-json')
    .fill(JSON.stringify({ rules: [{ name: 'inspect', actions: [{ type: 'breakpoint', event: 2 }] }] }));
  await page.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('rules-button')).toHaveText('Rules (1 on)…');
  await page.getByRole('button', { name: 'Close' }).click();

  const res = await requestViaProxy(sluice.proxyPort, `${server.url}/tokens`);
  const body = readAll(res);
  await page.getByTestId('breakpoints-held').click();
  await expect(page.getByTestId('exchange-row').filter({ hasText: '/tokens' }).getByTestId('rule-badge')).toHaveText(
    'held',
  );
  const panel = page.getByTestId('breakpoint');
  await expect(panel).toContainText('Held by rule inspect before event 2');
  await expect(page.getByTestId('breakpoint-text')).toHaveValue('data: token 1\n\n');
  await page.getByTestId('breakpoint-text').fill('data: changed by hand\n\n');
  await screenshot(page, 'stream-rules-breakpoint');
  await page.getByRole('button', { name: 'Release edited' }).click();
  expect((await body).toString()).toBe(
    'data: token 0\n\ndata: changed by hand\n\n' + [2, 3, 4, 5].map((n) => `data: token ${n}\n\n`).join(''),
  );
  await expect(panel).toHaveCount(0);
  await expect(page.getByTestId('breakpoints-held')).toHaveCount(0);
  await expect(page.getByTestId('rules-applied')).toContainText('released, edited, event 2');
});

test('a request breakpoint holds a request before it goes upstream, until the user sends it, edited', async ({
  page,
  sluice,
  upstream,
}) => {
  let asked = 0;
  const server = await upstream((req, res) => {
    asked++;
    req.resume();
    req.on('end', () => res.end(`answered ${req.url} ${req.headers['x-note'] ?? '-'}`));
  });
  await page.getByTestId('rules-button').click();
  await page.getByRole('button', { name: 'Edit as JSON…' }).click();
  await page.getByTestId('rules-json').fill(
    JSON.stringify({
      rules: [
        { name: 'look first', match: { method: 'POST' }, actions: [{ type: 'breakpoint', direction: 'request' }] },
      ],
    }),
  );
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByRole('button', { name: 'Close' }).click();

  const res = requestViaProxy(sluice.proxyPort, `${server.url}/ask`, { method: 'POST', body: '{"q":1}' });
  await page.getByTestId('breakpoints-held').click();
  await expect(page.getByTestId('breakpoint')).toContainText('before its request goes upstream');
  await expect(page.getByTestId('breakpoint-text')).toHaveValue(/^POST http:\/\/127\.0\.0\.1:\d+\/ask HTTP\/1\.1\n/);
  expect(asked).toBe(0);
  await expect(page.getByRole('button', { name: 'Send request' })).toBeVisible();
  const held = await page.getByTestId('breakpoint-text').inputValue();
  const [, ...fields] = held.trimEnd().split('\n');
  await page
    .getByTestId('breakpoint-text')
    .fill(['POST /ask?edited=1 HTTP/1.1', ...fields, 'x-note: from the UI'].join('\n'));
  await page.getByRole('button', { name: 'Send edited' }).click();
  expect((await readAll(await res)).toString()).toBe('answered /ask?edited=1 from the UI');
  expect(asked).toBe(1);
  await expect(page.getByTestId('rules-applied')).toContainText('sent the request as edited: POST /ask?edited=1');
});

test('the Events view marks an event a rule put in', async ({ page, sluice, upstream }) => {
  const server = await upstream(tokenStream(4, 5));
  await page.getByTestId('rules-button').click();
  await page.getByRole('button', { name: 'Edit as JSON…' }).click();
  await page.getByTestId('rules-json').fill(
    JSON.stringify({
      rules: [{ name: 'add done', actions: [{ type: 'inject', event: 4, data: 'data: [DONE]' }] }],
    }),
  );
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByRole('button', { name: 'Close' }).click();

  const body = (await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/tokens`))).toString();
  expect(body.endsWith('data: token 3\n\ndata: [DONE]\n\n')).toBe(true);
  await page.getByTestId('exchange-row').filter({ hasText: '/tokens' }).click();
  await page.getByRole('tab', { name: /Events/ }).click();
  const rows = page.getByTestId('sse-row');
  await expect(rows).toHaveCount(5);
  await expect(rows.nth(4)).toHaveAttribute('data-rule-mark', 'put in by rule add done');
  await expect(rows.nth(3)).not.toHaveAttribute('data-rule-mark', /./);
});

test('the Messages view marks the WebSocket messages a rule put in or rewrote', async ({ page, sluice }) => {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    for (const text of ['first', 'second', 'third']) socket.send(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/marked-socket`;
  try {
    await page.getByTestId('rules-button').click();
    await page.getByRole('button', { name: 'Edit as JSON…' }).click();
    await page.getByTestId('rules-json').fill(
      JSON.stringify({
        rules: [
          {
            name: 'ws edits',
            match: { path: '/marked-socket' },
            actions: [
              { type: 'rewrite', event: 2, replace: { from: 'second', to: 'SECOND' } },
              { type: 'inject', event: 3, data: 'extra' },
            ],
          },
        ],
      }),
    );
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByRole('button', { name: 'Close' }).click();

    const socket = await connectThroughProxy(sluice.proxyPort, new URL(url));
    const client = new WebSocket(url, { createConnection: () => socket });
    const got: string[] = [];
    client.on('message', (data) => got.push(String(data)));
    await expect.poll(() => got).toEqual(['first', 'SECOND', 'third', 'extra']);

    await page.getByTestId('exchange-row').filter({ hasText: '/marked-socket' }).click();
    await page.getByRole('tab', { name: /Messages/ }).click();
    const rows = page.getByTestId('ws-row');
    await expect(rows).toHaveCount(4);
    await expect(rows.nth(1)).toHaveAttribute('data-rule-mark', 'rewritten by rule ws edits');
    await expect(rows.nth(3)).toHaveAttribute('data-rule-mark', 'put in by rule ws edits');
    await expect(rows.nth(0)).not.toHaveAttribute('data-rule-mark', /./);
    await expect(rows.nth(1).locator('.rule-mark')).toBeVisible();
    client.terminate();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a breakpoint on what the client sends holds a WebSocket message; the server gets the edit', async ({
  page,
  sluice,
}) => {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const received: string[] = [];
  wss.on('connection', (socket) => socket.on('message', (data) => received.push(String(data))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/outbox`;
  try {
    await page.getByTestId('rules-button').click();
    await page.getByRole('button', { name: 'Edit as JSON…' }).click();
    await page.getByTestId('rules-json').fill(
      JSON.stringify({
        rules: [{ name: 'redact', actions: [{ type: 'breakpoint', where: 'secret', direction: 'request' }] }],
      }),
    );
    await page.getByRole('button', { name: 'Save rules' }).click();
    await expect(page.getByTestId('rule-row')).toContainText(
      'stop before events with "secret" of what the client sends',
    );
    await page.getByRole('button', { name: 'Close' }).click();

    const socket = await connectThroughProxy(sluice.proxyPort, new URL(url));
    const client = new WebSocket(url, { createConnection: () => socket });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    client.send('hello');
    client.send('my secret is 42');
    await page.getByTestId('breakpoints-held').click();
    const panel = page.getByTestId('breakpoint');
    await expect(panel).toContainText('Held by rule redact before event 2 of what the client sends');
    await expect(page.getByTestId('breakpoint-text')).toHaveValue('my secret is 42');
    expect(received).toEqual(['hello']);
    await page.getByTestId('breakpoint-text').fill('my secret is [redacted]');
    await page.getByRole('button', { name: 'Release edited' }).click();
    await expect.poll(() => received).toEqual(['hello', 'my secret is [redacted]']);
    await page.getByRole('tab', { name: /Messages/ }).click();
    await expect(page.getByTestId('ws-row').nth(1)).toHaveAttribute(
      'data-rule-mark',
      'edited at a breakpoint by rule redact',
    );
    client.terminate();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
