/** Table rows for the load sections: many SSE streams, request rate, memory per exchange. */
import { CHECKPOINT_EXCHANGES, DAY_OF_EXCHANGES, type ExchangeMemoryResult } from './exchange-memory.js';
import { LARGEST_BODY, SMALLEST_BODY } from './keep-alive-lanes.js';
import type { LoopDelay } from './loop-delay.js';
import { fixed, mebibytes, NONE, type Row } from './report.js';
import type { RequestRateResult, RequestRun } from './request-rate.js';
import type { Delivery, StreamsResult } from './sse-streams.js';
import { MiB } from './stats.js';
import { TARGETS, verdict } from './targets.js';

/** The added-p99 target for this many streams: the issue names 300 and 1,000. */
function streamsTarget(streams: number): number | undefined {
  if (streams <= 300) return TARGETS.streams300AddedP99Ms;
  if (streams <= 1_000) return TARGETS.streams1000AddedP99Ms;
  return undefined;
}

function loopRow(measure: string, loop: LoopDelay | undefined): Row {
  return {
    measure: `${measure}: proxy event-loop delay p99 (max), ms`,
    direct: NONE,
    viaSluice: loop ? `${fixed(loop.p99Ms, 1)} (${fixed(loop.maxMs, 1)})` : 'no probe',
    ratio: NONE,
    target: `p99 < ${TARGETS.proxyLoopDelayMs} ms`,
    ok: loop ? verdict(loop.p99Ms, (v) => v < TARGETS.proxyLoopDelayMs) : false,
  };
}

function delivered(d: Delivery): string {
  return `${d.delivered}/${d.expected}`;
}

export function streamsRows(results: readonly StreamsResult[]): Row[] {
  return results.flatMap((r) => {
    const { scheme, streams, eventsPerStream, intervalMs } = r.shape;
    const name = `${streams} SSE streams ${scheme}`;
    const target = streamsTarget(streams);
    const whole = (d: Delivery): boolean => d.delivered === d.expected && d.shortStreams === 0;
    return [
      {
        measure: `${name} (${eventsPerStream} events each, ${intervalMs} ms apart): event latency p50, ms`,
        direct: fixed(r.direct.p50, 2),
        viaSluice: `${fixed(r.proxy.p50, 2)} (added ${fixed(r.added.p50, 2)})`,
        ratio: fixed(r.proxy.p50 / r.direct.p50, 2),
        target: NONE,
        ok: undefined,
      },
      {
        measure: `${name}: event latency p99, ms (added max ${fixed(r.addedMaxMs, 1)})`,
        direct: fixed(r.direct.p99, 2),
        viaSluice: `${fixed(r.proxy.p99, 2)} (added ${fixed(r.added.p99, 2)})`,
        ratio: fixed(r.proxy.p99 / r.direct.p99, 2),
        target: target === undefined ? NONE : `added < ${target} ms`,
        ok: target === undefined ? undefined : verdict(r.added.p99, (v) => v < target),
      },
      {
        // The first events of every stream come at once; this is the flow after that burst.
        measure: `${name}: event latency p99 of events sent ${fixed(r.openingMs / 1000, 0)} s or more after the streams began, ms`,
        direct: fixed(r.afterOpening.direct.p99, 2),
        viaSluice: `${fixed(r.afterOpening.proxy.p99, 2)} (added ${fixed(r.afterOpening.added.p99, 2)})`,
        ratio: fixed(r.afterOpening.proxy.p99 / r.afterOpening.direct.p99, 2),
        target: NONE,
        ok: undefined,
      },
      {
        measure: `${name}: events delivered`,
        direct: delivered(r.directDelivery),
        viaSluice: delivered(r.proxyDelivery),
        ratio: NONE,
        target: 'all',
        ok: whole(r.directDelivery) && whole(r.proxyDelivery),
      },
      {
        // When this is high, the clients read late on both paths and the latency rows say little.
        measure: `${name}: bench loop delay p99 (clients and SSE upstream), ms`,
        direct: fixed(r.benchLoop.direct.p99Ms, 1),
        viaSluice: fixed(r.benchLoop.proxied.p99Ms, 1),
        ratio: NONE,
        target: NONE,
        ok: undefined,
      },
      {
        measure: `${name}: peak proxy RSS, MiB`,
        direct: NONE,
        viaSluice: mebibytes(r.proxyPeakRssBytes),
        ratio: NONE,
        target: NONE,
        ok: undefined,
      },
      {
        measure: `${name}: proxy CPU s per 1,000 events (while they flowed)`,
        direct: NONE,
        viaSluice: fixed(r.proxyCpuPerThousandEvents, 3),
        ratio: NONE,
        target: NONE,
        ok: undefined,
      },
      loopRow(name, r.proxyLoop),
      ...(r.floor
        ? [
            {
              measure: `${name}: minimal relay parsing each request (Node's floor): added p50 / p99 / p99 after ${fixed(r.openingMs / 1000, 0)} s, ms; CPU s per 1,000 events; delivered`,
              direct: NONE,
              viaSluice:
                `${fixed(r.floor.added.p50, 2)} / ${fixed(r.floor.added.p99, 2)} / ${fixed(r.floor.afterOpening.added.p99, 2)}; ` +
                `${fixed(r.floor.cpuPerThousandEvents, 3)}; ${delivered(r.floor.delivery)}`,
              ratio: NONE,
              target: NONE,
              ok: undefined,
            },
          ]
        : []),
    ];
  });
}

export function requestRateRows(results: readonly RequestRateResult[]): Row[] {
  return results.flatMap((r) => {
    const name = `${r.scheme} ${r.requests} requests on ${r.connections} keep-alive connections`;
    const complete = (runs: readonly RequestRun[]): { completed: number; requested: number } => ({
      completed: runs.reduce((sum, run) => sum + run.completed, 0),
      requested: runs.reduce((sum, run) => sum + run.requested, 0),
    });
    const direct = complete(r.directRuns);
    const proxied = complete(r.proxyRuns);
    return [
      {
        measure: `${name} (${SMALLEST_BODY}-${LARGEST_BODY} B bodies, echoed), requests/s (best of ${r.proxyRuns.length})`,
        direct: fixed(r.direct, 0),
        viaSluice: fixed(r.proxy, 0),
        ratio: fixed(r.ratio, 2),
        target: `>= ${fixed(TARGETS.requestRateRatio, 2)}`,
        ok: verdict(r.ratio, (v) => v >= TARGETS.requestRateRatio),
      },
      {
        measure: `${name}: proxy CPU s per 1,000 requests`,
        direct: NONE,
        viaSluice: fixed(r.proxyCpuPerThousand, 3),
        ratio: NONE,
        target: NONE,
        ok: undefined,
      },
      ...(r.floor
        ? [
            {
              measure: `${name}: minimal keep-alive relay parsing each request (Node's floor), requests/s; CPU s per 1,000`,
              direct: fixed(r.direct, 0),
              viaSluice: `${fixed(r.floor.rate, 0)}; ${fixed(r.floor.cpuPerThousand, 3)}`,
              ratio: fixed(r.floor.rate / r.direct, 2),
              target: NONE,
              ok: undefined,
            },
          ]
        : []),
      loopRow(name, r.proxyLoop),
      {
        measure: `${name}: responses complete (all runs)`,
        direct: `${direct.completed}/${direct.requested}`,
        viaSluice: `${proxied.completed}/${proxied.requested}`,
        ratio: NONE,
        target: 'all',
        ok: direct.completed === direct.requested && proxied.completed === proxied.requested,
      },
    ];
  });
}

export function exchangeMemoryRows(r: ExchangeMemoryResult | undefined): Row[] {
  if (!r) return [];
  const perStep = CHECKPOINT_EXCHANGES.toLocaleString('en-US');
  const trail = [r.rssStartBytes, ...r.checkpoints.map((c) => c.rssBytes)].map(mebibytes).join(' -> ');
  const projectedMiB = r.projectedDayBytes / MiB;
  const seconds = r.checkpoints.at(-1)?.seconds ?? Number.NaN;
  return [
    {
      measure:
        `fresh proxy, ${r.checkpoints.at(-1)?.exchanges ?? 0} exchanges (http, ${SMALLEST_BODY}-${LARGEST_BODY} B bodies, ` +
        `${r.connections} keep-alive connections, ${fixed(seconds)} s): RSS at start -> every ${perStep}, MiB`,
      direct: NONE,
      viaSluice: trail,
      ratio: NONE,
      target: NONE,
      ok: undefined,
    },
    {
      measure: `proxy RSS per ${perStep} exchanges once warm, MiB (from the start)`,
      direct: NONE,
      viaSluice: `${mebibytes(r.bytesPerCheckpoint)} (${mebibytes(r.bytesPerCheckpointFromStart)})`,
      ratio: NONE,
      target: NONE,
      ok: undefined,
    },
    {
      measure: `proxy RSS projected at ${DAY_OF_EXCHANGES.toLocaleString('en-US')} exchanges, MiB`,
      direct: NONE,
      viaSluice: fixed(projectedMiB, 0),
      ratio: NONE,
      target: `< ${TARGETS.dayOfExchangesRssMiB} MiB`,
      ok: r.firstError === undefined && verdict(projectedMiB, (v) => v < TARGETS.dayOfExchangesRssMiB),
    },
  ];
}
