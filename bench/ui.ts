/**
 * UI benchmark: a stream of many small chunks through the real `sluice` CLI while Debian's
 * Chromium shows that exchange's chunk timeline, against the same stream with no UI open.
 *
 *   npm run bench:ui      (builds, then runs dist/bench/ui.js)
 *
 * Two measurements, each with and without the UI, in one run:
 * - paced: the upstream writes BENCH_UI_RATE chunks a second (default 10,000) for
 *   BENCH_UI_SECONDS (10); the client reports the chunk rate it received. The page reports its
 *   longest frame (longest gap between animation frames, and the longest long-animation-frame
 *   entry) and its long-task total from Chromium's performance timeline.
 * - flat out: the upstream writes 1 KiB chunks as fast as the proxy takes them for the same time;
 *   the ratio of bytes per second with the UI to without is the UI's cost to the proxy.
 * - a gRPC stream (issue 13): an h2c upstream sends BENCH_UI_RATE small messages a second for
 *   BENCH_UI_SECONDS over one server-streaming call; the client (h2c straight to Sluice) reports the
 *   message rate it received, without the UI and with the call's Messages view open.
 * - a long list: BENCH_UI_ROWS exchanges (default 100,000) sent through the proxy, then the list
 *   scrolled top to bottom with the mouse wheel and by keyboard while frames are measured.
 * Targets: no frame over 100 ms; throughput with the UI at least 0.9 of without.
 * Results: a table on stdout and .bench/ui-results.json; progress on stderr.
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { NodeChild, stopAllChildren } from './children.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
import { fixed, formatTable, type Row } from './report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'sluice.js');
const RESULTS_FILE = join(ROOT, '.bench', 'ui-results.json');
const RATE = Number(process.env.BENCH_UI_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_UI_SECONDS ?? 10);
const PACED_CHUNK = 64;
const FLAT_CHUNK = 1024;
const ROWS = Number(process.env.BENCH_UI_ROWS ?? 100_000);
const TARGETS = { longestFrameMs: 100, throughputRatio: 0.9, firstRowMs: 1000 };

const progress = (message: string): void => void process.stderr.write(`[bench:ui] ${message}\n`);

type Mode = 'paced' | 'flat';

/**
 * An upstream that streams chunked for `SECONDS`, paced at RATE chunks/s (`/paced…`) or as fast as
 * it can (`/flat…`), and answers `/row/…` at once with a few bytes of JSON.
 */
function startUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/row/')) return void res.end(`{"row":"${req.url}"}`);
    const mode: Mode = req.url?.startsWith('/flat') ? 'flat' : 'paced';
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const started = performance.now();
    const paced = Buffer.alloc(PACED_CHUNK, 0x61);
    const flat = Buffer.alloc(FLAT_CHUNK, 0x62);
    let sent = 0;
    const pump = (): void => {
      const elapsed = performance.now() - started;
      if (elapsed >= SECONDS * 1000) return void res.end();
      if (mode === 'paced') {
        // Catch up to where the rate says we should be, then wait a millisecond.
        const due = Math.floor((elapsed / 1000) * RATE);
        for (; sent < due; sent++) res.write(paced);
        setTimeout(pump, 1);
      } else {
        // Write until the proxy pushes back, then wait for it; the time check above ends the stream.
        while (res.write(flat)) {
          if (performance.now() - started >= SECONDS * 1000) return void res.end();
        }
        res.once('drain', pump);
      }
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => (server.closeAllConnections(), server.close(() => done()))),
      });
    }),
  );
}

const RPC_PATH = '/bench.Stream/Messages';

/** One gRPC message as the wire carries it: a 5-byte prefix, then `{ 1: "token N", 2: N }` as protobuf. */
function rpcFrame(n: number): Buffer {
  const token = Buffer.from(`token ${n}`);
  const payload = Buffer.concat([Buffer.from([0x0a, token.length]), token, Buffer.from([0x10]), varint(n)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (let v = value; ; v = Math.floor(v / 128)) {
    if (v < 128) return Buffer.from([...bytes, v]);
    bytes.push((v % 128) | 0x80);
  }
}

/** An h2c gRPC upstream whose one method streams RATE messages a second for SECONDS, then OK. */
function startRpcUpstream(): Promise<{ authority: string; close: () => Promise<void> }> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => (sessions.add(session), session.on('close', () => sessions.delete(session))));
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.on('error', () => undefined);
    const started = performance.now();
    let sent = 0;
    const pump = (): void => {
      if (stream.destroyed) return;
      const elapsed = performance.now() - started;
      if (elapsed >= SECONDS * 1000) return void stream.end();
      const due = Math.floor((elapsed / 1000) * RATE);
      const frames: Buffer[] = [];
      for (; sent < due; sent++) frames.push(rpcFrame(sent));
      // One write per tick, as a server's batched writes are: the messages still cross one by one.
      if (frames.length > 0) stream.write(Buffer.concat(frames));
      setTimeout(pump, 1);
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        authority: `127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            for (const session of sessions) session.destroy();
            server.close(() => done());
          }),
      });
    }),
  );
}

interface RpcResult {
  readonly messages: number;
  readonly seconds: number;
}

/** One server-streaming call, h2c straight to Sluice (`:authority` names the upstream), read to its end. */
function rpcThroughProxy(proxyPort: number, authority: string, tag: string): Promise<RpcResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': `${RPC_PATH}?${tag}`,
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let bytes = 0;
    let first = 0;
    stream.on('data', (chunk: Buffer) => {
      if (bytes === 0) first = performance.now();
      bytes += chunk.length;
    });
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      // Every message of a run has the same size give or take its number's digits: count by frames.
      resolve({ messages: countFrames(bytes), seconds: (performance.now() - first) / 1000 });
    });
    stream.end(rpcFrame(0));
  });
}

/** How many of `rpcFrame(0…)` fit in `bytes`, in order. */
function countFrames(bytes: number): number {
  let count = 0;
  for (let left = bytes; left > 0; count++) left -= rpcFrame(count).length;
  return count;
}

interface StreamResult {
  readonly bytes: number;
  readonly seconds: number;
}

/** Reads one stream through the proxy to its end. */
function readThroughProxy(proxyPort: number, url: string): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, path: url, headers: { host: new URL(url).host } });
    req.on('response', (res) => {
      let bytes = 0;
      let first = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) first = performance.now();
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ bytes, seconds: (performance.now() - first) / 1000 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `count` small GETs through the proxy, `concurrency` at a time on keep-alive connections. */
async function sendMany(proxyPort: number, baseUrl: string, count: number, concurrency = 32): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      if (n > 0 && n % 10_000 === 0) {
        progress(`  ${n} sent, ${fixed(n / ((performance.now() - started) / 1000), 0)}/s`);
      }
      const url = `${baseUrl}/row/${n}`;
      await new Promise<void>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: proxyPort,
          path: url,
          agent,
          headers: { host: new URL(url).host },
        });
        req.on('response', (res) => res.resume().on('end', resolve).on('error', reject));
        req.on('error', reject);
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
}

/** Scrolls the exchange list from top to bottom, by wheel then by PageDown, measuring frames. */
async function scrollList(page: Page): Promise<FrameStats> {
  const list = page.getByTestId('exchange-list');
  await list.hover();
  await list.evaluate((el) => (el.scrollTop = 0));
  await resetFrames(page);
  for (let i = 0; i < 150; i++) {
    await page.mouse.wheel(0, 4000);
    await page.waitForTimeout(16);
  }
  await list.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 150; i++) await page.keyboard.press('PageDown');
  await page.keyboard.press('End');
  await page.waitForTimeout(300);
  return readFrames(page);
}

/** Waits until the list's row count says all `total` exchanges are there. */
function showsAllRows(page: Page, total: number, timeoutMs: number): Promise<void> {
  return page
    .getByTestId('row-count')
    .filter({ hasText: new RegExp(`^${total} exchanges$`) })
    .waitFor({ timeout: timeoutMs });
}

interface NewTab {
  /** From navigating to the UI to the first row drawn. */
  readonly firstRowMs: number;
  /** To the row count saying every exchange is there. */
  readonly allRowsMs: number;
  readonly frames: FrameStats;
  /** The page's JavaScript heap once everything is shown and a collection has run. */
  readonly heapBytes: number;
}

/**
 * Opens the UI in a new tab on a capture of `total` exchanges, as a user does on a long capture:
 * how soon the first row shows, how soon all are there, the frames meanwhile and the heap after.
 */
async function openLongCapture(browser: Browser, uiUrl: string, total: number): Promise<NewTab> {
  const tab = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  try {
    await tab.addInitScript(PAGE_PROBE);
    const started = performance.now();
    await tab.goto(uiUrl);
    await tab.getByTestId('exchange-row').first().waitFor({ timeout: 120_000 });
    const firstRowMs = performance.now() - started;
    await showsAllRows(tab, total, 300_000);
    const allRowsMs = performance.now() - started;
    const frames = await readFrames(tab);
    const cdp = await tab.context().newCDPSession(tab);
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    return { firstRowMs, allRowsMs, frames, heapBytes: usedSize };
  } finally {
    await tab.close();
  }
}

/** Collects frame gaps and Chromium's long-task and long-animation-frame entries from page start. */
const PAGE_PROBE = `
  window.__sluiceFrames = { maxGap: 0, frames: 0, longTaskTotal: 0, longTasks: 0, maxLoaf: 0 };
  (() => {
    const f = window.__sluiceFrames;
    let last = performance.now();
    const tick = (now) => { f.maxGap = Math.max(f.maxGap, now - last); f.frames++; last = now; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { f.longTaskTotal += e.duration; f.longTasks++; }
    }).observe({ type: 'longtask', buffered: true });
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) f.maxLoaf = Math.max(f.maxLoaf, e.duration);
      }).observe({ type: 'long-animation-frame', buffered: true });
    } catch {}
  })();
`;

interface FrameStats {
  readonly maxGap: number;
  readonly frames: number;
  readonly longTaskTotal: number;
  readonly longTasks: number;
  readonly maxLoaf: number;
}

async function resetFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const f = (globalThis as unknown as { __sluiceFrames: Record<string, number> }).__sluiceFrames;
    Object.assign(f, { maxGap: 0, frames: 0, longTaskTotal: 0, longTasks: 0, maxLoaf: 0 });
  });
}

async function readFrames(page: Page): Promise<FrameStats> {
  return page.evaluate(() => ({ ...(globalThis as unknown as { __sluiceFrames: FrameStats }).__sluiceFrames }));
}

/** Starts the stream, opens its timeline in the page as soon as the row appears, and waits for the end. */
async function streamWithUi(page: Page, proxyPort: number, url: string, path: string): Promise<StreamResult> {
  await resetFrames(page);
  const reading = readThroughProxy(proxyPort, url);
  const row = page.getByTestId('exchange-row').filter({ hasText: path }).last();
  await row.click({ timeout: 5000 });
  await page.getByRole('tab', { name: 'Timeline' }).click();
  return reading;
}

/** Starts the call, opens its Messages view as soon as the row appears, and waits for the end. */
async function rpcWithUi(page: Page, proxyPort: number, authority: string): Promise<RpcResult> {
  await resetFrames(page);
  const rows = page.getByTestId('exchange-row').filter({ hasText: 'Stream/Messages' });
  // The call without the UI has the same label: wait for this call's row, or the click opens that one.
  const before = await rows.count();
  const reading = rpcThroughProxy(proxyPort, authority, 'ui');
  await rows.nth(before).waitFor({ timeout: 5000 });
  await rows.last().click({ timeout: 5000 });
  await page.getByRole('tab', { name: 'Messages' }).click();
  return reading;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'sluice-bench-ui-'));
  const upstream = await startUpstream();
  const rpcUpstream = await startRpcUpstream();
  let browser: Browser | undefined;
  try {
    const nodeArgs = process.env.BENCH_PROXY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const sluice = new NodeChild(CLI, ['--port', '0', '--data-dir', work], { nodeArgs });
    const proxyPort = Number((await sluice.waitForLine(/^proxy: http:\/\/127\.0\.0\.1:(\d+)$/, 30_000))[1]);
    const uiUrl = (await sluice.waitForLine(/^ui: (.+)$/, 30_000))[1]!;

    progress(`paced ${RATE} chunks/s × ${SECONDS} s, no UI`);
    const pacedAlone = await readThroughProxy(proxyPort, `${upstream.url}/paced-alone`);
    progress(`flat out ${SECONDS} s, no UI`);
    const flatAlone = await readThroughProxy(proxyPort, `${upstream.url}/flat-alone`);
    progress(`gRPC ${RATE} messages/s × ${SECONDS} s, no UI`);
    const rpcAlone = await rpcThroughProxy(proxyPort, rpcUpstream.authority, 'alone');

    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.addInitScript(PAGE_PROBE);
    await page.goto(uiUrl);
    await page.getByTestId('proxy-state').filter({ hasText: 'running' }).waitFor();

    progress(`paced, UI showing the timeline`);
    const pacedUi = await streamWithUi(page, proxyPort, `${upstream.url}/paced-ui`, '/paced-ui');
    await page.waitForTimeout(500);
    const pacedFrames = await readFrames(page);
    progress(`flat out, UI showing the timeline`);
    const flatUi = await streamWithUi(page, proxyPort, `${upstream.url}/flat-ui`, '/flat-ui');
    await page.waitForTimeout(500);
    const flatFrames = await readFrames(page);
    const shownChunks = await page.getByTestId('timeline-summary').first().getAttribute('data-chunks');
    progress(`gRPC, UI showing the call's messages`);
    const rpcUi = await rpcWithUi(page, proxyPort, rpcUpstream.authority);
    await page.waitForTimeout(500);
    const rpcFrames = await readFrames(page);

    progress(`sending ${ROWS} exchanges for the list`);
    const sendStarted = performance.now();
    await sendMany(proxyPort, upstream.url, ROWS);
    const sendSeconds = (performance.now() - sendStarted) / 1000;
    await showsAllRows(page, ROWS + 6, 120_000);
    const listFrames = await scrollList(page);
    const domRows = await page.getByTestId('exchange-row').count();
    progress(`a new tab opening the ${ROWS + 6} exchanges`);
    const newTab = await openLongCapture(browser, uiUrl, ROWS + 6);

    const rate = (r: StreamResult, size: number): number => r.bytes / size / r.seconds;
    const mbps = (r: StreamResult): number => r.bytes / 1e6 / r.seconds;
    const longest = (f: FrameStats): number => Math.max(f.maxGap, f.maxLoaf);
    const rows: Row[] = [
      {
        measure: 'paced: chunks/s received (no UI → UI)',
        direct: fixed(rate(pacedAlone, PACED_CHUNK), 0),
        viaSluice: fixed(rate(pacedUi, PACED_CHUNK), 0),
        ratio: fixed(rate(pacedUi, PACED_CHUNK) / rate(pacedAlone, PACED_CHUNK), 2),
        target: `≥ ${TARGETS.throughputRatio}`,
        ok: rate(pacedUi, PACED_CHUNK) / rate(pacedAlone, PACED_CHUNK) >= TARGETS.throughputRatio,
      },
      {
        measure: 'flat out: MB/s (no UI → UI)',
        direct: fixed(mbps(flatAlone)),
        viaSluice: fixed(mbps(flatUi)),
        ratio: fixed(mbps(flatUi) / mbps(flatAlone), 2),
        target: `≥ ${TARGETS.throughputRatio}`,
        ok: mbps(flatUi) / mbps(flatAlone) >= TARGETS.throughputRatio,
      },
      {
        measure: 'gRPC: messages/s received (no UI → UI)',
        direct: fixed(rpcAlone.messages / rpcAlone.seconds, 0),
        viaSluice: fixed(rpcUi.messages / rpcUi.seconds, 0),
        ratio: fixed(rpcUi.messages / rpcUi.seconds / (rpcAlone.messages / rpcAlone.seconds), 2),
        target: `≥ ${TARGETS.throughputRatio}`,
        ok: rpcUi.messages / rpcUi.seconds / (rpcAlone.messages / rpcAlone.seconds) >= TARGETS.throughputRatio,
      },
      frameRow('paced: longest frame ms (rAF gap / LoAF)', pacedFrames, longest),
      frameRow('flat out: longest frame ms (rAF gap / LoAF)', flatFrames, longest),
      frameRow('gRPC: longest frame ms (rAF gap / LoAF)', rpcFrames, longest),
      longTaskRow('paced: long tasks (count / total ms)', pacedFrames, pacedUi.seconds),
      longTaskRow('flat out: long tasks (count / total ms)', flatFrames, flatUi.seconds),
      longTaskRow('gRPC: long tasks (count / total ms)', rpcFrames, rpcUi.seconds),
      frameRow(`${ROWS} rows: longest scroll frame ms (rAF gap / LoAF)`, listFrames, longest),
      {
        measure: `new tab on ${ROWS} rows: first row / all rows shown, ms`,
        direct: '—',
        viaSluice: `${fixed(newTab.firstRowMs, 0)} / ${fixed(newTab.allRowsMs, 0)}`,
        ratio: '—',
        target: `first < ${TARGETS.firstRowMs}`,
        ok: newTab.firstRowMs < TARGETS.firstRowMs,
      },
      frameRow(`new tab on ${ROWS} rows: longest frame while loading`, newTab.frames, longest),
      {
        measure: `new tab on ${ROWS} rows: page JS heap after GC, MiB (bytes per row)`,
        direct: '—',
        viaSluice: `${fixed(newTab.heapBytes / 2 ** 20, 0)} (${fixed(newTab.heapBytes / (ROWS + 6), 0)})`,
        ratio: '—',
        target: '—',
        ok: undefined,
      },
    ];
    console.log(formatTable(rows));
    console.log(`\nchunks drawn on the flat-out timeline: ${shownChunks ?? 'n/a'}`);
    console.log(
      `${ROWS} exchanges sent in ${fixed(sendSeconds)} s; row elements in the page while scrolling: ${domRows}`,
    );
    await mkdir(join(ROOT, '.bench'), { recursive: true });
    await writeFile(
      RESULTS_FILE,
      JSON.stringify(
        {
          rate: RATE,
          seconds: SECONDS,
          pacedAlone,
          pacedUi,
          flatAlone,
          flatUi,
          pacedFrames,
          flatFrames,
          rpcAlone,
          rpcUi,
          rpcFrames,
          listFrames,
          newTab,
        },
        null,
        2,
      ),
    );
    await sluice.stop();
  } finally {
    await browser?.close();
    await upstream.close();
    await rpcUpstream.close();
    await stopAllChildren();
    await rm(work, { recursive: true, force: true });
  }
}

function frameRow(measure: string, f: FrameStats, longest: (f: FrameStats) => number): Row {
  return {
    measure,
    direct: '—',
    viaSluice: `${fixed(f.maxGap)} / ${fixed(f.maxLoaf)}`,
    ratio: '—',
    target: `< ${TARGETS.longestFrameMs}`,
    ok: longest(f) < TARGETS.longestFrameMs,
  };
}

function longTaskRow(measure: string, f: FrameStats, seconds: number): Row {
  return {
    measure,
    direct: '—',
    viaSluice: `${f.longTasks} / ${fixed(f.longTaskTotal, 0)} (${fixed((f.longTaskTotal / (seconds * 1000)) * 100)} %)`,
    ratio: '—',
    target: '—',
    ok: undefined,
  };
}

await main();
