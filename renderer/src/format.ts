/**
 * Numbers as the UI shows them: sizes, durations and positions on a time axis. Pure and
 * locale-independent (always `en-US` digits), so tests and screenshots read the same everywhere.
 */

const MINUS = '−';
const KIB = 1024;
const BYTE_UNITS = ['KiB', 'MiB', 'GiB'] as const;

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** An integer with thousands separators: "4,096". */
export function formatCount(n: number): string {
  return integerFormat.format(n);
}

/** "512 B", "1.2 KiB", "512 KiB", "3.4 MiB", "1.1 GiB": one decimal from KiB up, a ".0" dropped. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const sign = n < 0 ? MINUS : '';
  const abs = Math.abs(n);
  if (abs < KIB) return `${sign}${Math.round(abs)} B`;
  let unit = 0;
  let value = abs / KIB;
  // Step up while the rounded value would read 1024 or more ("1024 KiB" should be "1 MiB").
  while (unit < BYTE_UNITS.length - 1 && roundTo(value, 1) >= KIB) {
    value /= KIB;
    unit++;
  }
  return `${sign}${trimZeros(value.toFixed(1))} ${BYTE_UNITS[unit]}`;
}

/**
 * A duration for people: "350 µs" under 1 ms, "12.3 ms" under 1 s, "1.23 s" / "12.3 s" under a
 * minute, then "2 min 5 s" and "1 h 2 min". Rounding never produces "1000 ms" or "60.0 s".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0) return `${MINUS}${formatDuration(-ms)}`;
  if (ms === 0) return '0 ms';
  const micros = Math.round(ms * 1000);
  if (micros < 1000) return `${micros} µs`;
  const tenthsOfMs = roundTo(ms, 1);
  if (tenthsOfMs < 1000) return `${trimZeros(tenthsOfMs.toFixed(1))} ms`;
  const seconds = ms / 1000;
  if (roundTo(seconds, 2) < 10) return `${trimZeros(seconds.toFixed(2), 1)} s`;
  if (roundTo(seconds, 1) < 60) return `${seconds.toFixed(1)} s`;
  const wholeSeconds = Math.round(seconds);
  const minutes = Math.floor(wholeSeconds / 60);
  if (minutes < 60) return `${minutes} min ${wholeSeconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The unit an axis labels its ticks in; chosen once per axis so neighbouring labels agree. */
export type TimeUnit = 'µs' | 'ms' | 's' | 'min';

const UNIT_MS: Record<TimeUnit, number> = { µs: 0.001, ms: 1, s: 1000, min: 60_000 };

/** The unit that reads best for times up to `magnitudeMs`. */
export function timeUnitFor(magnitudeMs: number): TimeUnit {
  const abs = Math.abs(magnitudeMs);
  if (abs < 1) return 'µs';
  if (abs < 1000) return 'ms';
  if (abs < 60_000) return 's';
  return 'min';
}

/**
 * A position on a time axis, in ms since the exchange started. `stepMs` is the resolution that
 * matters (the axis's tick step; by default a thousandth of the unit), and decides the decimals;
 * `unit` defaults to the one that suits `ms`. Minutes read "m:ss": "1:05", "1:05.25".
 */
export function formatTime(ms: number, stepMs?: number, unit: TimeUnit = timeUnitFor(ms)): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms === 0) return '0';
  const sign = ms < 0 ? MINUS : '';
  const abs = Math.abs(ms);
  if (unit === 'min') {
    const decimals = decimalsFor(stepMs ?? 1, 1000);
    // Round once, in the finest unit shown, so 59.9996 s becomes "1:00.000" rather than "0:60.000".
    const total = roundTo(abs / 1000, decimals);
    const minutes = Math.floor(total / 60);
    const seconds = (total - minutes * 60).toFixed(decimals);
    const padded = seconds.padStart(decimals > 0 ? decimals + 3 : 2, '0');
    return `${sign}${minutes}:${padded}`;
  }
  const unitMs = UNIT_MS[unit];
  const decimals = decimalsFor(stepMs ?? unitMs / (unit === 'µs' ? 1 : 1000), unitMs);
  return `${sign}${(abs / unitMs).toFixed(decimals)} ${unit}`;
}

/** How many decimals show a step of `stepMs` when counting in units of `unitMs`: 0.2 → 1, 0.25 → 2. */
function decimalsFor(stepMs: number, unitMs: number): number {
  if (!(stepMs > 0)) return 0;
  const step = stepMs / unitMs;
  for (let decimals = 0; decimals < 6; decimals++) {
    const scaled = step * 10 ** decimals;
    // Tolerant of float noise: 0.001 is really 0.0010000000000000002.
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return decimals;
  }
  return 6;
}

function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** Drops trailing zeros after the point, keeping at least `keep` decimals: "1.20" → "1.2". */
function trimZeros(text: string, keep = 0): string {
  const point = text.indexOf('.');
  if (point < 0) return text;
  let end = text.length;
  while (end > point + 1 + keep && text[end - 1] === '0') end--;
  if (end === point + 1) end = point;
  return text.slice(0, end);
}
