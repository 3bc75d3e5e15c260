import type { Page } from '@playwright/test';
import { bedrockChunk, CLAUDE_EVENTS, eventStreamMessage } from '../test/helpers/aws-event-stream.js';
import { expect, gate, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

const WORDS = ['The', ' sluice', ' lets', ' each', ' token', ' through', ' as', ' it', ' comes', '.'];

function openAiChunk(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-e2e',
    object: 'chat.completion.chunk',
    model: 'gpt-test',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  });
}

test('SSE events appear while the upstream stream is still open, then the stream completes', async ({
  page,
  sluice,
  upstream,
}) => {
  const last = gate();
  let lastEventSent = false;
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    for (const [i, word] of WORDS.slice(0, -1).entries()) {
      res.write(`id: ${i}\ndata: ${openAiChunk(word)}\n\n`);
      await new Promise((r) => setTimeout(r, 40));
    }
    await last.promise;
    lastEventSent = true;
    res.write(`id: ${WORDS.length - 1}\ndata: ${openAiChunk(WORDS.at(-1)!)}\n\n`);
    res.end('data: [DONE]\n\n');
  });

  const response = requestViaProxy(sluice.proxyPort, `${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: '{"model":"gpt-test","stream":true}',
  });
  const body = response.then(readAll);

  const row = page.getByTestId('exchange-row').filter({ hasText: '/v1/chat/completions' });
  await expect(row).toHaveAttribute('data-state', 'streaming');
  await row.click();
  await page.getByRole('tab', { name: /Events/ }).click();

  // Every event sent so far is on screen, and the upstream has not sent its last one yet.
  await expect(page.getByTestId('sse-row')).toHaveCount(WORDS.length - 1);
  expect(lastEventSent).toBe(false);
  await expect(page.getByTestId('sse-stats')).toContainText(`${WORDS.length - 1} events`);
  await screenshot(page, 'sse-events-live');

  await page.getByRole('tab', { name: /Joined text/i }).click();
  await expect(page.getByTestId('sse-joined-text')).toHaveText(WORDS.slice(0, -1).join(''));
  expect(lastEventSent).toBe(false);

  last.open();
  expect((await body).toString()).toContain('[DONE]');
  await expect(page.getByTestId('sse-joined-text')).toHaveText(WORDS.join(''));
  // How the answer came: the stream held its last token back while the test looked, the longest stall.
  const metrics = page.getByTestId('llm-metrics');
  await expect(metrics.locator('[data-metric="model"]')).toContainText('gpt-test');
  await expect(metrics.locator('[data-metric="first token"]')).toBeVisible();
  await expect(metrics.locator('[data-metric="rate"]')).toContainText('tokens/s');
  await expect(metrics.locator('[data-metric="longest stall"]')).toContainText(`before event ${WORDS.length - 1}`);
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-outcome', 'completed');
  await expect(row).toHaveAttribute('data-state', 'completed');
  await screenshot(page, 'sse-joined-text');

  await page.getByRole('tab', { name: 'Timeline' }).click();
  const summary = page.getByTestId('timeline-summary').first();
  await expect(summary).toHaveAttribute('data-chunks', String(WORDS.length + 1));
  await screenshot(page, 'timeline-sse');

  // Zoom and fit from the keyboard; hovering a chunk tells its offset, size and time.
  const plot = page.locator('.tl-plot').first();
  await plot.focus();
  await page.keyboard.press('+');
  await expect(plot).toHaveAttribute('data-mode', 'manual');
  await page.keyboard.press('0');
  await expect(plot).toHaveAttribute('data-mode', 'fit');
  const box = (await plot.boundingBox())!;
  const tooltip = page.locator('.tl-tooltip');
  for (let x = box.x + 2; x < box.x + box.width; x += 3) {
    await page.mouse.move(x, box.y + box.height / 2);
    if (((await tooltip.textContent({ timeout: 50 }).catch(() => null)) ?? '').includes('chunk #')) break;
  }
  await expect(tooltip).toContainText(/chunk #\d+ · offset \d+ · .+ · read \+/);
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'timeline-sse-dark');
});

test('an NDJSON stream (Ollama-style) shows its lines as events and its joined text, live', async ({
  page,
  sluice,
  upstream,
}) => {
  const last = gate();
  const words = ['Lines', ' of', ' JSON', ' flow', ' too'];
  const line = (content: string, done: boolean) =>
    `${JSON.stringify({ model: 'llama-test', message: { role: 'assistant', content }, done })}\n`;
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    for (const word of words.slice(0, -1)) {
      res.write(line(word, false));
      await new Promise((r) => setTimeout(r, 40));
    }
    await last.promise;
    res.end(line(words.at(-1)!, true));
  });

  const body = requestViaProxy(sluice.proxyPort, `${server.url}/api/chat`, { method: 'POST', body: '{}' }).then(
    readAll,
  );
  const row = page.getByTestId('exchange-row').filter({ hasText: '/api/chat' });
  await expect(row).toHaveAttribute('data-state', 'streaming');
  await row.click();
  await page.getByRole('tab', { name: /Events/ }).click();
  await expect(page.getByTestId('sse-row')).toHaveCount(words.length - 1);
  await page.getByRole('tab', { name: /Joined text/i }).click();
  await expect(page.getByTestId('sse-joined-text')).toHaveText(words.slice(0, -1).join(''));

  last.open();
  await body;
  await expect(page.getByTestId('sse-joined-text')).toHaveText(words.join(''));
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByTestId('sse-row')).toHaveCount(words.length);
});

test('a tab opened after a stream ended is sent it in short, and shows all its events once it is selected', async ({
  page,
  sluice,
  upstream,
}) => {
  const words = Array.from({ length: 30 }, (_, i) => ` w${i}`);
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const word of words) res.write(`data: ${openAiChunk(word)}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/v1/chat/completions`, { method: 'POST' }));
  const row = page.getByTestId('exchange-row').filter({ hasText: '/v1/chat/completions' });
  await expect(row).toHaveAttribute('data-state', 'completed');

  // Once the finished exchange is in the capture store, a new page's replay sends it in short.
  let heldFrames = 0;
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      if (String(payload).includes('"type":"exchange-held"')) heldFrames++;
    }),
  );
  for (let attempt = 0; attempt < 10 && heldFrames === 0; attempt++) {
    await page.waitForTimeout(100 * attempt);
    await page.reload();
    await expect(row).toHaveAttribute('data-state', 'completed');
  }
  expect(heldFrames).toBeGreaterThan(0);

  await row.click();
  const eventsTab = page.getByRole('tab', { name: /Events/ });
  await eventsTab.click();
  await expect(page.getByTestId('sse-row')).toHaveCount(words.length + 1);
  await expect(eventsTab).toHaveText(`Events (${words.length + 1})`);
  await expect(page.getByTestId('held-details')).toHaveCount(0);
  await page.getByRole('tab', { name: /Joined text/i }).click();
  await expect(page.getByTestId('sse-joined-text')).toHaveText(words.join(''));
});

test('a Bedrock event stream reads like Claude direct: its messages as events, the answer and its measure', async ({
  page,
  sluice,
  upstream,
}) => {
  const tampered = eventStreamMessage({ ':event-type': 'chunk' }, '{"bytes":"e30="}');
  tampered.writeUInt8(tampered[tampered.length - 5]! ^ 0xff, tampered.length - 5);
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.amazon.eventstream' });
    for (const event of CLAUDE_EVENTS.slice(0, 4)) {
      res.write(bedrockChunk(event));
      await new Promise((r) => setTimeout(r, 30));
    }
    res.write(tampered);
    for (const event of CLAUDE_EVENTS.slice(4)) res.write(bedrockChunk(event));
    res.end();
  });
  const path = '/model/anthropic.claude-sonnet-4-5/invoke-with-response-stream';
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}${path}`, { method: 'POST', body: '{}' }));

  const row = page.getByTestId('exchange-row').filter({ hasText: 'invoke-with-response-stream' });
  await expect(row.locator('.c-type')).toHaveText('eventstream');
  await row.click();
  await page.getByRole('tab', { name: /Events/ }).click();
  const rows = page.getByTestId('sse-row');
  await expect(rows).toHaveCount(CLAUDE_EVENTS.length + 1);
  await expect(rows.nth(2)).toContainText('chunk');
  // What the chunk added to the answer, read from the Claude event inside it.
  await expect(rows.nth(2).locator('[data-kind="text"]')).toHaveText('Hello');
  // The tampered message is said, not read.
  await expect(rows.nth(4)).toContainText('invalid message');
  await expect(rows.nth(4)).toContainText('does not match its bytes');

  await page.getByRole('tab', { name: /Joined text/i }).click();
  await expect(page.getByTestId('sse-joined-text')).toHaveText('Hello from Bedrock');
  await expect(page.locator('.sse-joined-foot')).toContainText('Anthropic Messages');
  const metrics = page.getByTestId('llm-metrics');
  await expect(metrics.locator('[data-metric="model"]')).toContainText('claude-sonnet-4-5');
  await expect(metrics.locator('[data-metric="finish"]')).toContainText('end_turn');
  await expect(metrics.locator('[data-metric="tokens"]')).toContainText('9 in, 4 out');
});

test('a streamed tool call shows as one call: its name, its id and its arguments once whole', async ({
  page,
  sluice,
  upstream,
}) => {
  const call = (delta: object) =>
    JSON.stringify({
      object: 'chat.completion.chunk',
      model: 'gpt-test',
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...delta }] } }],
    });
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(
      `data: ${call({ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '' } })}\n\n`,
    );
    res.write(`data: ${call({ function: { arguments: '{"city":' } })}\n\n`);
    res.write(`data: ${call({ function: { arguments: '"Oslo"}' } })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  await askAndShowJoinedText(page, sluice.proxyPort, server.url);
  const tool = page.getByTestId('sse-tool-call');
  await expect(tool).toHaveCount(1);
  await expect(tool).toContainText('get_weather (call_abc)');
  await expect(tool.locator('pre')).toHaveText('{\n  "city": "Oslo"\n}');
});

test('the answer shows as Markdown on request, as text elements only', async ({ page, sluice, upstream }) => {
  const answer = '## Steps\n- run `npm ci`\n- then **test**\n\n<img src=x onerror="window.pwned=1">';
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const piece of answer.match(/[\s\S]{1,12}/g)!) res.write(`data: ${openAiChunk(piece)}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  await askAndShowJoinedText(page, sluice.proxyPort, server.url);
  await expect(page.getByTestId('sse-joined-text')).toHaveText(answer);
  await page.getByRole('button', { name: 'Show as Markdown' }).click();
  const markdown = page.getByTestId('sse-joined-markdown');
  await expect(markdown.getByRole('heading', { name: 'Steps' })).toBeVisible();
  await expect(markdown.locator('li')).toHaveCount(2);
  await expect(markdown.locator('li code')).toHaveText('npm ci');
  await expect(markdown.locator('li strong')).toHaveText('test');
  // Model output never becomes markup: the tag is text.
  await expect(markdown.locator('img')).toHaveCount(0);
  await expect(markdown).toContainText('<img src=x');
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  await page.getByRole('button', { name: 'Show as text' }).click();
  await expect(page.getByTestId('sse-joined-text')).toHaveText(answer);
});

/** Sends a chat completion through Sluice, reads its answer to the end, and opens its joined text. */
async function askAndShowJoinedText(page: Page, proxyPort: number, upstreamUrl: string): Promise<void> {
  await readAll(await requestViaProxy(proxyPort, `${upstreamUrl}/v1/chat/completions`, { method: 'POST', body: '{}' }));
  await page.getByTestId('exchange-row').filter({ hasText: '/v1/chat/completions' }).click();
  await page.getByRole('tab', { name: /Events/ }).click();
  await page.getByRole('tab', { name: /Joined text/i }).click();
}

test('a stream past the messages the host keeps says so, live and in a window opened later; the client gets every event', async ({
  page,
  sluice,
  upstream,
}) => {
  // The host keeps 20,000 messages of an exchange for windows opened later and for export.
  const sent = 20_100;
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const events = Array.from({ length: sent }, (_, i) => `data: ${i}\n\n`);
    for (let i = 0; i < sent; i += 1_000) res.write(events.slice(i, i + 1_000).join(''));
    res.end();
  });

  const body = (await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/feed`))).toString();
  expect(body.match(/^data: /gm)).toHaveLength(sent);
  expect(body.endsWith(`data: ${sent - 1}\n\n`)).toBe(true);

  const showEvents = async (): Promise<void> => {
    const row = page.getByTestId('exchange-row').filter({ hasText: '/feed' });
    await expect(row).toHaveAttribute('data-state', 'completed');
    await row.click();
    await page.getByRole('tab', { name: /Events/ }).click();
  };
  const note = page.getByTestId('messages-not-kept');

  // This window was open as they came: it has every event, and says later windows will not.
  await showEvents();
  await expect(page.getByTestId('sse-stats')).toContainText('20,100 events');
  await expect(note).toContainText('first 20,000 messages');
  await expect(note).toContainText('forwarded whole');

  await page.reload();
  await showEvents();
  await expect(page.getByTestId('sse-stats')).toContainText('20,000 events');
  await expect(note).toContainText('not in windows opened later');
});

test('a window on a long stream keeps its newest 50,000 events and counts the older ones it let go', async ({
  page,
  sluice,
  upstream,
}) => {
  const sent = 55_000;
  const server = await upstream(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const events = Array.from({ length: sent }, (_, i) => `data: ${i}\n\n`);
    // Paced, so the window keeps up: a flood past what a page can draw is thinned (and says so).
    for (let i = 0; i < sent; i += 1_000) {
      res.write(events.slice(i, i + 1_000).join(''));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    res.end();
  });

  const row = page.getByTestId('exchange-row').filter({ hasText: '/long' });
  const body = (await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/long`))).toString();
  expect(body.match(/^data: /gm)).toHaveLength(sent);
  await expect(row).toHaveAttribute('data-state', 'completed');
  await row.click();
  await page.getByRole('tab', { name: /Events/ }).click();
  // Past 50,000 the oldest tenth goes: 5,001 let go, every event still counted.
  const stats = page.getByTestId('sse-stats');
  await expect(stats).toContainText('55,000 events');
  await expect(stats).toContainText('5,001 older not shown');
});
