import { describe, expect, it } from 'vitest';
import { clampSplit, readSplit, SPLIT_DEFAULT, SPLIT_MAX, SPLIT_MIN } from '../../renderer/src/app/split.js';
import { MIN_COLUMN_PX, readColumnWidths, withColumnWidth } from '../../renderer/src/live-table/column-widths.js';

describe('the split between list and detail', () => {
  it('keeps each side at least a fifth of the width, and starts from the default for a missing or broken value', () => {
    expect(readSplit(null)).toBe(SPLIT_DEFAULT);
    expect(readSplit('nonsense')).toBe(SPLIT_DEFAULT);
    expect(readSplit('0.4')).toBe(0.4);
    expect(clampSplit(0.05)).toBe(SPLIT_MIN);
    expect(clampSplit(0.99)).toBe(SPLIT_MAX);
  });
});

describe('the widths given to the list’s columns', () => {
  it('reads what was stored, within bounds, and forgets a broken value', () => {
    expect(readColumnWidths(null)).toEqual({});
    expect(readColumnWidths('{oops')).toEqual({});
    expect(readColumnWidths('[1,2]')).toEqual({});
    expect(readColumnWidths('{"c-host":180.4,"c-size":"wide","c-time":3}')).toEqual({
      'c-host': 180,
      'c-time': MIN_COLUMN_PX,
    });
  });

  it('sets one column, and lets it fit again when its width is taken away', () => {
    const set = withColumnWidth({ 'c-host': 180 }, 'c-type', 90);
    expect(set).toEqual({ 'c-host': 180, 'c-type': 90 });
    expect(withColumnWidth(set, 'c-host', undefined)).toEqual({ 'c-type': 90 });
  });
});
