import type { Page } from '@playwright/test';
import { expect, readAll, requestViaProxy, test } from './fixtures.js';

/**
 * Starts checking, on every frame until `stopWatching`, which of the list's cells (the path aside,
 * the one column that may be cut) do not fit. The check runs where the browser is about to paint:
 * in a ResizeObserver callback (after the frame's layout), kept firing by a probe element whose
 * width changes every frame. A column widened a frame late is caught here, where a check after
 * the fact would see it fitted.
 */
async function watchCutCells(page: Page): Promise<void> {
  await page.evaluate(() => {
    const cut = new Set<string>();
    const probe = document.body.appendChild(document.createElement('div'));
    probe.style.cssText = 'position: fixed; left: 0; top: 0; height: 1px; width: 1px; visibility: hidden';
    const observer = new ResizeObserver(() => {
      for (const cell of document.querySelectorAll<HTMLElement>('.exchange-row > span:not(.c-path)')) {
        if (cell.scrollWidth > cell.clientWidth) cut.add(`${cell.className}: ${cell.textContent ?? ''}`);
      }
    });
    observer.observe(probe);
    const state = { cut, stop: false };
    const wobble = (): void => {
      if (state.stop) return observer.disconnect();
      probe.style.width = probe.style.width === '1px' ? '2px' : '1px';
      requestAnimationFrame(wobble);
    };
    requestAnimationFrame(wobble);
    (globalThis as unknown as { __cutCells: typeof state }).__cutCells = state;
  });
}

async function stopWatching(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const state = (globalThis as unknown as { __cutCells: { cut: Set<string>; stop: boolean } }).__cutCells;
    state.stop = true;
    return [...state.cut];
  });
}

test('a wider value in a row scrolled into view widens its column before the row is painted', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((_req, res) => res.end('ok'));
  // The first row's method is wider than any other; the list shows the newest rows, so its row
  // is rendered only when the list is scrolled back to it.
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/first`, { method: 'PROPPATCH' }));
  for (let i = 0; i < 200; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, j) =>
        readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/item/${i + j}`)),
      ),
    );
  }
  await expect(page.getByTestId('row-count')).toHaveText('201 exchanges');
  await expect(page.getByTestId('exchange-row').filter({ hasText: '/item/199' })).toBeVisible();
  await expect(page.getByTestId('exchange-row').filter({ hasText: 'PROPPATCH' })).toHaveCount(0);

  await watchCutCells(page);
  // Several wheel steps, not one jump, so rows arrive over many frames.
  await page.getByTestId('exchange-list').hover();
  for (let i = 0; i < 12; i++) await page.mouse.wheel(0, -600);
  await expect(page.getByTestId('exchange-row').filter({ hasText: 'PROPPATCH' })).toBeVisible();
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  expect(await stopWatching(page)).toEqual([]);
});

/** The list's grid template as the page last set it. */
function columnTemplate(page: Page): Promise<string> {
  return page.evaluate(() =>
    getComputedStyle(document.querySelector('.exchange-list')!).getPropertyValue('--exchange-columns'),
  );
}

test('a value that grows in a row in view widens its column before it is painted', async ({
  page,
  sluice,
  upstream,
}) => {
  // The size goes from bytes to megabytes and the time from milliseconds to seconds while the
  // row shows "● streaming", each wider than the short exchange before it.
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = await upstream((req, res) => {
    if (req.url === '/short') return void res.end('ok');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(sent === 0 ? 'a' : chunk);
      if (++sent === 40) {
        clearInterval(timer);
        res.end();
      }
    }, 40);
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/short`));
  await expect(page.getByTestId('exchange-row')).toHaveCount(1);
  await expect(page.getByTestId('exchange-row')).toHaveAttribute('data-state', 'completed');
  const before = await columnTemplate(page);

  await watchCutCells(page);
  const reading = requestViaProxy(sluice.proxyPort, `${server.url}/growing`).then(readAll);
  const row = page.getByTestId('exchange-row').filter({ hasText: '/growing' });
  await expect(row).toHaveAttribute('data-state', 'streaming');
  expect((await reading).length).toBe(1 + 39 * chunk.length);
  await expect(row).toHaveAttribute('data-state', 'completed');
  await expect(row.locator('.c-size')).toHaveText('2.4 MiB');
  expect(await stopWatching(page)).toEqual([]);
  // Columns did grow while it streamed, or the check above proved nothing.
  expect(await columnTemplate(page)).not.toBe(before);
});
