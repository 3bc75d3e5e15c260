import { describe, expect, it } from 'vitest';
import { columnTemplate, widenColumns, type LiveColumn } from '../../renderer/src/live-table/column-fit.js';

/** #, event (a name, capped), data (free width), gap. */
const COLUMNS: readonly LiveColumn[] = [
  { least: '2em' },
  { least: '4em', most: '24em' },
  { track: 'minmax(0, 1fr)' },
  { least: '3em' },
];

describe('columnTemplate', () => {
  it('gives each fitted column its least width until something was measured', () => {
    expect(columnTemplate(COLUMNS, [])).toBe('2em 4em minmax(0, 1fr) 3em');
  });

  it('lets a fitted column grow to its widest value before the free column takes the rest', () => {
    expect(columnTemplate(COLUMNS, [20, 131.2, 0, 62.4])).toBe(
      'minmax(2em, max(2em, 20px)) minmax(4em, min(24em, max(4em, 132px))) minmax(0, 1fr) minmax(3em, max(3em, 63px))',
    );
  });
});

describe('widenColumns', () => {
  it('keeps the widest cell seen per fitted column and ignores fixed tracks', () => {
    const widths = widenColumns(
      COLUMNS,
      [],
      [
        [18, 90, 400, 50],
        [24, 131, 900, 48],
      ],
    );
    expect(widths).toEqual([24, 131, undefined, 50]);
  });

  it('never narrows a column when wide values scroll out of view', () => {
    const before = [24, 131, 0, 50];
    expect(widenColumns(COLUMNS, before, [[10, 60, 0, 40]])).toBe(before);
  });

  it('returns the same widths when nothing grew, so the table need not render again', () => {
    const before = [24, 131, 0, 50];
    expect(widenColumns(COLUMNS, before, [[24, 131, 5000, 50]])).toBe(before);
    expect(widenColumns(COLUMNS, before, [[24, 140, 0, 50]])).toEqual([24, 140, 0, 50]);
  });
});
