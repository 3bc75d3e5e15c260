/** What the loop-delay probe prints and the bench reads: shared so the two cannot drift apart. */

/** The probe's timer period; every sample is at least this long, so it is the floor of each figure. */
export const LOOP_PROBE_RESOLUTION_MS = 1;
export const LOOP_PROBE_READY = 'sluice-bench-loop-probe: ready';
export const LOOP_PROBE_PREFIX = 'sluice-bench-loop-probe: ';

/** The proxy's event-loop delay over one interval (perf_hooks.monitorEventLoopDelay). */
export interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly samples: number;
  /** Share of the interval the loop was busy, 0..1. */
  readonly utilisation: number;
}
