import { performance } from 'node:perf_hooks';

/** Monotonic milliseconds with fractions; the one clock behind every time in the event stream. */
export function now(): number {
  return performance.now();
}
