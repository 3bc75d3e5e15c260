import { expect } from 'vitest';

/**
 * Timers fire a few ms late, more on a busy machine, and one late arrival shifts the times after it:
 * each event within 25 ms of its recorded time, and on average within 8. A replay that lost the
 * recording's gaps (coalesced, or played at once) is off by 50 to 300 ms.
 */
export const EACH_WITHIN_MS = 25;
const MEAN_WITHIN_MS = 8;

/** Arrivals (ms from the first) match `recorded` (ms from the first) played at `speed`. */
export function expectPlayedAt(actual: readonly number[], recorded: readonly number[], speed = 1): void {
  expect(actual).toHaveLength(recorded.length);
  const errors = recorded.map((ms, i) => Math.abs(actual[i]! - ms / speed));
  const said = `arrived at ${actual.map((t) => t.toFixed(1)).join(', ')} ms; recorded ${recorded.map((t) => t.toFixed(1)).join(', ')} ms at x${speed}`;
  expect(Math.max(...errors), said).toBeLessThanOrEqual(EACH_WITHIN_MS);
  expect(errors.reduce((sum, e) => sum + e, 0) / errors.length, said).toBeLessThanOrEqual(MEAN_WITHIN_MS);
}
