/**
 * Loaded into the proxy's process with `node --import` (never imported by Sluice itself), so the
 * bench can read the proxy's event-loop delay without a line of proxy code knowing. It watches the
 * loop from its first moment; on SIGUSR2 it prints what it saw since the last report as one
 * stderr line (see loop-delay.ts) and starts afresh.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { LOOP_PROBE_PREFIX, LOOP_PROBE_READY, LOOP_PROBE_RESOLUTION_MS, type LoopDelay } from './loop-delay-line.js';

const histogram = monitorEventLoopDelay({ resolution: LOOP_PROBE_RESOLUTION_MS });
histogram.enable();
let busySince = performance.eventLoopUtilization();

// A signal listener keeps nothing alive (signal handles are unreferenced), so the proxy exits as it would.
process.on('SIGUSR2', () => {
  const ms = (ns: number): number => ns / 1e6;
  const report: LoopDelay = {
    p50Ms: ms(histogram.percentile(50)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
    samples: histogram.count,
    utilisation: performance.eventLoopUtilization(busySince).utilization,
  };
  // stderr to a pipe is written synchronously on Linux, so the line is out before we reset.
  process.stderr.write(`${LOOP_PROBE_PREFIX}${JSON.stringify(report)}\n`);
  histogram.reset();
  busySince = performance.eventLoopUtilization();
});
process.stderr.write(`${LOOP_PROBE_READY}\n`);
