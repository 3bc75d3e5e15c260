import type { Locator, Page } from '@playwright/test';
import { expect, readAll, requestViaProxy, test } from './fixtures.js';

/** Drags `handle` sideways by `dx` pixels, as a person does with the mouse. */
async function dragBy(page: Page, handle: Locator, dx: number): Promise<void> {
  const box = (await handle.boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx, y, { steps: 5 });
  await page.mouse.up();
}

test('the split between the list and the details can be dragged, and stays after a reload', async ({
  page,
  sluice,
}) => {
  const list = page.locator('.exchange-list');
  const handle = page.getByTestId('split-handle');
  const before = (await list.boundingBox())!.width;
  await dragBy(page, handle, -200);
  const dragged = (await list.boundingBox())!.width;
  expect(Math.abs(dragged - (before - 200))).toBeLessThan(8);

  await page.goto(sluice.uiUrl);
  await expect(page.getByTestId('proxy-state')).toContainText('running');
  expect(Math.abs((await list.boundingBox())!.width - dragged)).toBeLessThan(2);

  // From the keyboard too; Home puts the first split back.
  await handle.focus();
  await page.keyboard.press('ArrowRight');
  expect((await list.boundingBox())!.width).toBeGreaterThan(dragged + 10);
  await page.keyboard.press('Home');
  expect(Math.abs((await list.boundingBox())!.width - before)).toBeLessThan(8);
});

test('a list column can be resized by its header’s edge, stays so after a reload, and fits again on double-click', async ({
  page,
  sluice,
}) => {
  const header = page.locator('.exchange-header .c-host');
  const before = (await header.boundingBox())!.width;
  const grip = page.getByTestId('col-grip-Host');
  await dragBy(page, grip, 120);
  const wider = (await header.boundingBox())!.width;
  expect(Math.abs(wider - (before + 120))).toBeLessThan(8);

  await page.goto(sluice.uiUrl);
  await expect(page.getByTestId('proxy-state')).toContainText('running');
  expect(Math.abs((await header.boundingBox())!.width - wider)).toBeLessThan(2);

  await grip.dblclick();
  expect(Math.abs((await header.boundingBox())!.width - before)).toBeLessThan(2);
});

test('an events table column can be resized too, and every events table keeps that width', async ({
  page,
  sluice,
  upstream,
}) => {
  const server = await upstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end('event: content_block_delta\ndata: {"n":1}\n\nevent: message_stop\ndata: {}\n\n');
  });
  await readAll(await requestViaProxy(sluice.proxyPort, `${server.url}/stream`));
  const openEvents = async (): Promise<void> => {
    await page.getByTestId('exchange-row').filter({ hasText: '/stream' }).click();
    await page.getByRole('tab', { name: /Events/ }).click();
  };
  await openEvents();
  const header = page.getByRole('columnheader', { name: 'event' });
  const before = (await header.boundingBox())!.width;
  await dragBy(page, page.getByTestId('col-grip-event'), 80);
  const wider = (await header.boundingBox())!.width;
  expect(Math.abs(wider - (before + 80))).toBeLessThan(8);

  await page.goto(sluice.uiUrl);
  await openEvents();
  expect(Math.abs((await header.boundingBox())!.width - wider)).toBeLessThan(2);
});
