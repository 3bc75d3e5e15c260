import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { expect, requestViaProxy, screenshot, test } from './fixtures.js';

const MIB = 1024 * 1024;

/** Reads like a slow client: one chunk, then a pause, so the proxy's buffer to it fills. */
async function readSlowly(res: http.IncomingMessage, pauseMs: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of res) {
    parts.push(part as Buffer);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return Buffer.concat(parts);
}

test('a slow client shows backpressure pauses on the timeline, and every byte arrives', async ({
  page,
  sluice,
  upstream,
}) => {
  const payload = randomBytes(12 * MIB);
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': payload.length });
    res.end(payload);
  });

  const res = await requestViaProxy(sluice.proxyPort, `${server.url}/big.bin`);
  const received = await readSlowly(res, 8);
  expect(createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));

  await page.getByTestId('exchange-row').filter({ hasText: '/big.bin' }).click();
  await expect(page.getByTestId('outcome')).toHaveAttribute('data-outcome', 'completed');
  await page.getByRole('tab', { name: 'Timeline' }).click();

  const summary = page.getByTestId('timeline-summary').first();
  await expect(summary).toHaveAttribute('data-bytes', String(payload.length));
  const pauses = Number(await summary.getAttribute('data-pauses'));
  expect(pauses).toBeGreaterThan(0);
  expect(Number(await summary.getAttribute('data-paused-ms'))).toBeGreaterThan(0);
  await expect(page.getByTestId('timeline-pause')).toHaveCount(pauses);
  await expect(page.getByTestId('timeline-pause').first()).toContainText(/paused .+ queued/);
  await expect(summary).toContainText(/backpressure pause/);
  await screenshot(page, 'timeline-backpressure');
});
