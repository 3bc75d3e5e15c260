import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatTime, timeUnitFor } from '../../renderer/src/format.js';

describe('formatBytes', () => {
  it('counts bytes below a KiB', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1)).toBe('1 B');
    expect(formatBytes(1023)).toBe('1023 B');
  });

  it('uses binary units with one decimal, dropping ".0"', () => {
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1229)).toBe('1.2 KiB');
    expect(formatBytes(512 * 1024)).toBe('512 KiB');
    expect(formatBytes(1.25 * 1024 * 1024)).toBe('1.3 MiB');
    expect(formatBytes(12 * 1024 ** 2)).toBe('12 MiB');
    expect(formatBytes(3.5 * 1024 ** 3)).toBe('3.5 GiB');
    expect(formatBytes(4096 * 1024 ** 3)).toBe('4096 GiB');
  });

  it('steps up a unit rather than showing 1024 of the one below', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MiB');
    expect(formatBytes(1024 ** 3 - 1)).toBe('1 GiB');
  });

  it('survives odd input', () => {
    expect(formatBytes(-2048)).toBe('−2 KiB');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('uses µs under a millisecond', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(0.0004)).toBe('0 µs');
    expect(formatDuration(0.35)).toBe('350 µs');
    expect(formatDuration(0.9994)).toBe('999 µs');
  });

  it('uses ms with up to one decimal under a second', () => {
    expect(formatDuration(0.9996)).toBe('1 ms');
    expect(formatDuration(1.25)).toBe('1.3 ms');
    expect(formatDuration(12)).toBe('12 ms');
    expect(formatDuration(999.94)).toBe('999.9 ms');
  });

  it('uses seconds with one or two decimals under a minute', () => {
    expect(formatDuration(999.96)).toBe('1.0 s');
    expect(formatDuration(1200)).toBe('1.2 s');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(9999)).toBe('10.0 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(59_940)).toBe('59.9 s');
  });

  it('uses minutes and hours beyond', () => {
    expect(formatDuration(59_960)).toBe('1 min 0 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_600_000 + 120_000)).toBe('1 h 2 min');
  });

  it('signs negative durations', () => {
    expect(formatDuration(-1500)).toBe('−1.5 s');
  });
});

describe('formatTime', () => {
  it('picks the unit from the magnitude', () => {
    expect(timeUnitFor(0.5)).toBe('µs');
    expect(timeUnitFor(5)).toBe('ms');
    expect(timeUnitFor(5000)).toBe('s');
    expect(timeUnitFor(65_000)).toBe('min');
  });

  it('shows the precision of the step', () => {
    expect(formatTime(0)).toBe('0');
    expect(formatTime(1234.6)).toBe('1.235 s');
    expect(formatTime(1250, 250)).toBe('1.25 s');
    expect(formatTime(1200, 200)).toBe('1.2 s');
    expect(formatTime(2000, 1000)).toBe('2 s');
    expect(formatTime(0.35)).toBe('350 µs');
    expect(formatTime(12.5, 0.5)).toBe('12.5 ms');
    expect(formatTime(5000.1, 0.1)).toBe('5.0001 s');
  });

  it('labels an axis in one unit when asked', () => {
    expect(formatTime(500, 500, 's')).toBe('0.5 s');
    expect(formatTime(0.5, 0.1, 'ms')).toBe('0.5 ms');
  });

  it('writes minutes as m:ss', () => {
    expect(formatTime(65_000, 5000)).toBe('1:05');
    expect(formatTime(65_250, 250)).toBe('1:05.25');
    expect(formatTime(3_600_000, 60_000)).toBe('60:00');
    // Rounding carries into the minute instead of showing ":60".
    expect(formatTime(119_999.9, 1000)).toBe('2:00');
  });
});

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(4096)).toBe('4,096');
    expect(formatCount(100_000)).toBe('100,000');
    expect(formatCount(7)).toBe('7');
  });
});
