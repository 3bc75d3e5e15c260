import { expect, gate, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const TOKENS = ['The', ' answer', ' is', ' 42', '.'];

function chunk(delta: object, finish: string | null = null): string {
  return JSON.stringify({
    id: 'chatcmpl-e2e-llm',
    object: 'chat.completion.chunk',
    created: 1764930000,
    model: 'gpt-test',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
}

test('an LLM stream’s events show what each one added while the stream is open', async ({ page, sluice, upstream }) => {
  const last = gate();
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(`data: ${chunk({ role: 'assistant', content: '' })}\n\n`);
    for (const token of TOKENS.slice(0, -1)) {
      res.write(`data: ${chunk({ content: token })}\n\n`);
      await new Promise((r) => setTimeout(r, 30));
    }
    res.write(
      `data: ${chunk({ tool_calls: [{ index: 0, id: 'call_7', type: 'function', function: { name: 'lookup', arguments: '' } }] })}\n\n`,
    );
    res.write(`data: ${chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":"42"}' } }] })}\n\n`);
    await last.promise;
    res.write(`data: ${chunk({ content: TOKENS.at(-1)! }, 'stop')}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  const body = requestViaProxy(sluice.proxyPort, `${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"gpt-test","stream":true}',
  }).then(readAll);

  const row = page.getByTestId('exchange-row').filter({ hasText: '/v1/chat/completions' });
  await expect(row).toHaveAttribute('data-state', 'streaming');
  await row.click();
  await page.getByRole('tab', { name: /Events/ }).click();
  const rows = page.getByTestId('sse-row');
  await expect(rows).toHaveCount(TOKENS.length + 2);
  await expect(page.getByRole('columnheader', { name: 'contributed' })).toBeVisible();
  // The summary's figures are all there to read, none cut off at the pane's edge.
  const stats = page.getByTestId('sse-stats');
  await expect(stats).toContainText('events/s');
  expect(await stats.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
  // Each delta's text in its own row, not the prefix every event shares.
  for (const [i, token] of TOKENS.slice(0, -1).entries()) {
    await expect(rows.nth(i + 1).locator('[data-kind="text"]')).toHaveText(token);
  }
  await expect(rows.nth(TOKENS.length).locator('[data-kind="tool"]')).toHaveText('toollookup (call_7)');
  await expect(rows.nth(TOKENS.length + 1).locator('[data-kind="args"]')).toHaveText('args{"q":"42"}');
  await expect(row).toHaveAttribute('data-state', 'streaming');
  await screenshot(page, 'llm-events-contributed');

  last.open();
  await body;
  await expect(rows).toHaveCount(TOKENS.length + 4);
  await expect(rows.nth(TOKENS.length + 2).locator('[data-kind="stop"]')).toHaveText('stopstop');
  await expect(rows.nth(TOKENS.length + 3).locator('[data-kind="done"]')).toHaveText('done');
});

test('other event streams show what differs between events, not the start they share', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (let i = 1; i <= 4; i++) res.write(`data: {"kind":"progress","job":"build-42","done":${i * 25}}\n\n`);
    res.end();
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/jobs/42/events`));
  await page.getByTestId('exchange-row').filter({ hasText: '/jobs/42/events' }).click();
  await page.getByRole('tab', { name: /Events/ }).click();
  const first = page.getByTestId('sse-row').first();
  await expect(first.locator('.live-data')).toHaveText('…"done":25}');
  await expect(first.locator('.live-data')).toHaveAttribute('title', '{"kind":"progress","job":"build-42","done":25}');
});

test('an LLM call reads as a conversation: the system prompt, the turns, the tools offered, then the answer', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      for (const token of ['It is ', 'sunny.']) res.write(`data: ${chunk({ content: token })}\n\n`);
      res.end(`data: ${chunk({}, 'stop')}\n\ndata: [DONE]\n\n`);
    });
  });
  const plain = await upstream((_req, res) => res.end('{"ok":true}'));
  const request = {
    model: 'gpt-test',
    stream: true,
    temperature: 0.3,
    messages: [
      { role: 'system', content: 'You answer about the weather only.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi! Which city?' },
      { role: 'user', content: 'Oslo, please' },
    ],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ],
  };
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    }),
  );
  await readAll(await requestViaProxy(sluice.proxyPort, `${plain.url}/status`));

  const rows = page.getByTestId('exchange-row');
  await expect(rows).toHaveCount(2);
  const call = rows.filter({ hasText: '/v1/chat/completions' });
  await expect(call.getByTestId('llm-badge')).toHaveText('openai · gpt-test');
  await page.getByLabel('Filter by content type').selectOption('llm');
  await expect(rows).toHaveCount(1);

  await call.click();
  await page.getByRole('tab', { name: 'Conversation' }).click();
  const view = page.getByTestId('conversation');
  await expect(view.getByTestId('conversation-model')).toHaveText('gpt-test');
  await expect(view).toContainText('temperature 0.3');
  await expect(view.getByTestId('conversation-system')).toContainText('You answer about the weather only.');
  const turns = view.getByTestId('conversation-turn');
  await expect(turns).toHaveCount(3);
  await expect(turns.nth(0)).toHaveAttribute('data-role', 'user');
  await expect(turns.nth(1)).toContainText('Hi! Which city?');
  await expect(turns.nth(2)).toContainText('Oslo, please');
  await expect(view.getByTestId('conversation-answer')).toContainText('It is sunny.');
  const tool = view.getByTestId('conversation-tool');
  await expect(tool).toContainText('get_weather');
  await tool.locator('summary').click();
  await expect(tool).toContainText('"required": [');
  await screenshot(page, 'llm-conversation');
  await view.getByRole('button', { name: 'Raw JSON' }).click();
  await expect(page.getByRole('tab', { name: 'Body' })).toHaveAttribute('aria-selected', 'true');
});

test('a call made without streaming reads the same way: its answer from the JSON response', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          model: 'claude-e2e',
          content: [
            { type: 'text', text: 'Let me look that up.' },
            { type: 'tool_use', id: 'toolu_9', name: 'search', input: { q: 'sluice' } },
          ],
          stop_reason: 'tool_use',
        }),
      );
    });
  });
  await readAll(
    await requestViaProxy(sluice.proxyPort, `${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-e2e',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Find sluice' }],
      }),
    }),
  );
  await page.getByTestId('exchange-row').filter({ hasText: '/v1/messages' }).click();
  await page.getByRole('tab', { name: 'Conversation' }).click();
  const answer = page.getByTestId('conversation-answer');
  await expect(answer).toContainText('claude-e2e · tool_use');
  await expect(answer).toContainText('Let me look that up.');
  await expect(answer).toContainText('calls search toolu_9');
  await expect(answer).toContainText('"q": "sluice"');
});
