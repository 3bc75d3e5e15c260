/**
 * The host's monotonic clock as seen from the page. Event times are milliseconds on the host
 * process's own clock, so durations of open exchanges need "now" on that scale: the page keeps the
 * offset from the newest event it saw and advances it with its own clock.
 */
let offset: number | undefined;

export function noteHostTime(t: number): void {
  const candidate = t - performance.now();
  // No event is from the host's future: the largest offset seen is the closest to the truth.
  if (offset === undefined || candidate > offset) offset = candidate;
}

export function hostNow(): number {
  return performance.now() + (offset ?? 0);
}
