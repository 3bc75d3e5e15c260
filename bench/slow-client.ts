import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fillerPath } from './body-source.js';
import { expectStatus, get, type Route, type Scheme, type Upstream } from './clients.js';
import { readRss, RssSampler } from './proc.js';
import type { SluiceProcess } from './sluice-process.js';

const READ_BYTES_PER_TICK = 64 * 1024;
const TICK_MS = 10;
/** Lets a just-started proxy finish starting before we take the baseline. */
const SETTLE_MS = 1_000;
const AFTER_MS = 1_000;

export interface SlowClientResult {
  readonly scheme: Scheme;
  readonly bytes: number;
  readonly seconds: number;
  readonly rssBeforeBytes: number;
  readonly rssPeakBytes: number;
  readonly growthBytes: number;
  /** RSS a second after the download: back near the baseline means the peak was garbage awaiting GC, not retention. */
  readonly rssAfterBytes: number;
  /** backpressure-paused events the proxy printed during the slow download. */
  readonly backpressurePauses: number;
}

/**
 * Reads at most READ_BYTES_PER_TICK per TICK_MS: pauses the response once this tick's allowance
 * is spent and resumes on the next tick. Unused allowance is not banked, so the client never
 * catches up in a burst; the proxy must hold the difference back through TCP flow control.
 */
function readSlowly(res: http.IncomingMessage, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let allowance = READ_BYTES_PER_TICK;
    let received = 0;
    const done = (error?: Error): void => {
      clearInterval(ticker);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(received);
    };
    const ticker = setInterval(() => {
      allowance = Math.min(allowance + READ_BYTES_PER_TICK, READ_BYTES_PER_TICK);
      if (allowance > 0 && res.isPaused()) res.resume();
    }, TICK_MS);
    const timer = setTimeout(() => {
      res.destroy();
      done(new Error(`slow read not done within ${timeoutMs} ms (${received} bytes)`));
    }, timeoutMs);
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      allowance -= chunk.length;
      if (allowance <= 0) res.pause();
    });
    res.once('end', () => done(res.complete ? undefined : new Error(`incomplete after ${received} bytes`)));
    res.once('error', done);
  });
}

/** Counts the proxy's backpressure-paused events from its NDJSON stdout until stopped. */
function countPauses(sluice: SluiceProcess): { stop(): number } {
  let pauses = 0;
  const unsubscribe = sluice.child.onLine((line) => {
    if (!line.includes('backpressure-paused')) return;
    try {
      if ((JSON.parse(line) as { type?: string }).type === 'backpressure-paused') pauses++;
    } catch {
      // Not an event line.
    }
  });
  return {
    stop: () => {
      unsubscribe();
      return pauses;
    },
  };
}

/**
 * One slow download through `sluice`, which should be a proxy that has just started and carried
 * nothing: its RSS before, at the peak and a second after, and how often it paused the upstream.
 */
export async function measureSlowClient(
  sluice: SluiceProcess,
  upstream: Upstream,
  scheme: Scheme,
  bytes: number,
): Promise<SlowClientResult> {
  const route: Route = { via: 'proxy', port: sluice.port, caPem: sluice.caPem };
  // No warm-up: what a user's first slow download costs a fresh proxy is the figure, one-time
  // costs (leaf certificate, TLS contexts, compiled code, upstream pool) included.
  await sleep(SETTLE_MS);

  const rssBeforeBytes = await readRss(sluice.pid);
  const pauses = countPauses(sluice);
  const sampler = new RssSampler(sluice.pid);
  const started = performance.now();
  let received: number;
  try {
    const res = await get(route, upstream, scheme, fillerPath(bytes, 'length'));
    expectStatus(res, `slow ${scheme}`);
    const expectedMs = (bytes / READ_BYTES_PER_TICK) * TICK_MS;
    received = await readSlowly(res, expectedMs * 3 + 30_000);
  } finally {
    await sampler.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  // Events already printed reach us through a pipe; give the last ones a moment to arrive.
  await sleep(AFTER_MS);
  const backpressurePauses = pauses.stop();
  const rssAfterBytes = await readRss(sluice.pid);
  if (received !== bytes) throw new Error(`slow ${scheme}: got ${received} of ${bytes} bytes`);
  return {
    scheme,
    bytes,
    seconds,
    rssBeforeBytes,
    rssPeakBytes: sampler.peak,
    growthBytes: Math.max(0, sampler.peak - rssBeforeBytes),
    rssAfterBytes,
    backpressurePauses,
  };
}
