import { setTimeout as sleep } from 'node:timers/promises';
import type { Route, Upstream } from './clients.js';
import { closeLanes, openLanes, sendRequests } from './keep-alive-lanes.js';
import { readRss } from './proc.js';

/** RSS is read after every this many exchanges. */
export const CHECKPOINT_EXCHANGES = 100_000;
/** The target speaks of a day's traffic as this many exchanges. */
export const DAY_OF_EXCHANGES = 1_000_000;
/** Lets a just-started proxy finish starting, and a busy one finish what it was doing, before RSS is read. */
const SETTLE_MS = 1_000;
/**
 * Per checkpoint's worth of requests. Sluice spends about 0.6 ms of CPU per small exchange, more
 * as its log grows, so 100,000 take a couple of minutes on a busy two-core machine.
 */
const CHECKPOINT_TIMEOUT_MS = 300_000;

export interface RssCheckpoint {
  readonly exchanges: number;
  readonly rssBytes: number;
  readonly seconds: number;
}

export interface ExchangeMemoryResult {
  readonly connections: number;
  readonly requested: number;
  readonly completed: number;
  /** Exchanges that failed or were not sent in time: the RSS figures then cover fewer. */
  readonly failed: number;
  readonly rssStartBytes: number;
  readonly checkpoints: RssCheckpoint[];
  /** Growth per CHECKPOINT_EXCHANGES once warm: between the first and last checkpoints (from the start if only one). */
  readonly bytesPerCheckpoint: number;
  /** The same from the start, first-use costs included. */
  readonly bytesPerCheckpointFromStart: number;
  /** The last RSS read, grown at `bytesPerCheckpoint` to DAY_OF_EXCHANGES. */
  readonly projectedDayBytes: number;
  readonly firstError: string | undefined;
}

/**
 * How the proxy's memory grows with the exchanges it has seen: a fresh proxy, `total` small
 * exchanges (as in the request-rate rows) on `connections` keep-alive connections at once, RSS
 * read at the start and after every CHECKPOINT_EXCHANGES sent (each counts, failed or not: a
 * failed exchange is captured too). Exchanges that failed are counted, not fatal.
 */
export async function measureExchangeMemory(
  proxy: Route & { via: 'proxy' },
  proxyPid: number,
  upstream: Upstream,
  total: number,
  connections: number,
  onCheckpoint: (checkpoint: RssCheckpoint) => void = () => undefined,
): Promise<ExchangeMemoryResult> {
  await sleep(SETTLE_MS);
  const rssStartBytes = await readRss(proxyPid);
  const checkpoints: RssCheckpoint[] = [];
  let sent = 0;
  let completed = 0;
  /** Exchanges the proxy saw, whole or failed: what its memory grows with. */
  let exchanged = 0;
  let seconds = 0;
  let firstError: string | undefined;
  const lanes = await openLanes(proxy, upstream, 'http', connections);
  try {
    // Bounded: each pass takes CHECKPOINT_EXCHANGES more of `total`.
    while (sent < total) {
      const batch = await sendRequests(
        lanes,
        Math.min(CHECKPOINT_EXCHANGES, total - sent),
        CHECKPOINT_TIMEOUT_MS,
        sent,
      );
      sent += batch.requested;
      completed += batch.completed;
      exchanged += batch.completed + batch.failed;
      seconds += batch.seconds;
      firstError ??= batch.firstError;
      await sleep(SETTLE_MS);
      const checkpoint = { exchanges: exchanged, rssBytes: await readRss(proxyPid), seconds };
      checkpoints.push(checkpoint);
      onCheckpoint(checkpoint);
    }
  } finally {
    closeLanes(lanes);
  }
  const first = checkpoints[0];
  const last = checkpoints.at(-1);
  if (!first || !last) throw new Error(`no checkpoint reached: ${firstError ?? 'no requests sent'}`);
  const perCheckpoint = (from: { exchanges: number; rssBytes: number }): number =>
    ((last.rssBytes - from.rssBytes) / (last.exchanges - from.exchanges)) * CHECKPOINT_EXCHANGES;
  const bytesPerCheckpointFromStart = perCheckpoint({ exchanges: 0, rssBytes: rssStartBytes });
  const bytesPerCheckpoint = checkpoints.length > 1 ? perCheckpoint(first) : bytesPerCheckpointFromStart;
  return {
    connections,
    requested: total,
    completed,
    failed: total - completed,
    rssStartBytes,
    checkpoints,
    bytesPerCheckpoint,
    bytesPerCheckpointFromStart,
    projectedDayBytes:
      last.rssBytes + (bytesPerCheckpoint * Math.max(0, DAY_OF_EXCHANGES - last.exchanges)) / CHECKPOINT_EXCHANGES,
    firstError,
  };
}
