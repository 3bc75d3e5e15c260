import { describe, expect, it } from 'vitest';
import {
  narrows,
  NO_QUERY,
  positionOf,
  RowIndexFilter,
  rowAt,
  selectionThrough,
  textTest,
  type RowQuery,
} from '../../renderer/src/live-table/row-filter.js';

const query = (text: string, choice = ''): RowQuery => ({ text, choice });

/** A filter over strings that counts the rows it tested, to show what was read again. */
function countingTest(text: string) {
  const has = textTest(text);
  const tested: string[] = [];
  return { tested, test: (row: string) => (tested.push(row), has(row)) };
}

describe('textTest', () => {
  it('finds text anywhere, ignoring case', () => {
    const has = textTest('Block_Delta');
    expect(has('content_block_delta')).toBe(true);
    expect(has('CONTENT_BLOCK_DELTA')).toBe(true);
    expect(has('content_block_stop')).toBe(false);
    expect(has(undefined)).toBe(false);
  });

  it('takes the text literally, not as a pattern', () => {
    expect(textTest('a.b')('axb')).toBe(false);
    expect(textTest('a.b')('a.b')).toBe(true);
    expect(textTest('(x)')('f(x)')).toBe(true);
    expect(textTest('[DONE]')('data: [DONE]')).toBe(true);
  });

  it('finds everything for no text, even a missing value', () => {
    expect(textTest('')(undefined)).toBe(true);
  });
});

describe('narrows', () => {
  it('holds while typing more around the same text, with the same choice', () => {
    expect(narrows(query('delta'), query('del'))).toBe(true);
    expect(narrows(query('a delta'), query('DEL'))).toBe(true);
    expect(narrows(query('del', 'x'), query('', 'x'))).toBe(true);
    expect(narrows(query('de'), query('del'))).toBe(false);
    expect(narrows(query('delta', 'x'), query('del'))).toBe(false);
    expect(narrows(query('del'), NO_QUERY)).toBe(true);
  });
});

describe('RowIndexFilter', () => {
  it('filters nothing for no query', () => {
    expect(new RowIndexFilter<string>().sync(['a', 'b'], NO_QUERY, () => false)).toBeUndefined();
  });

  it('tests only the rows added since, as a stream grows in place', () => {
    const rows = ['ping', 'delta 1', 'ping'];
    const filter = new RowIndexFilter<string>();
    const q = query('delta');
    const { tested, test } = countingTest('delta');
    expect(filter.sync(rows, q, test)).toEqual([1]);
    rows.push('delta 2', 'stop');
    tested.length = 0;
    expect(filter.sync(rows, q, test)).toEqual([1, 3]);
    expect(tested).toEqual(['delta 2', 'stop']);
  });

  it('tests only the earlier matches when the query narrows', () => {
    const rows = ['delta 1', 'ping', 'delta 2', 'delta 22'];
    const filter = new RowIndexFilter<string>();
    filter.sync(rows, query('delta'), textTest('delta'));
    const { tested, test } = countingTest('2');
    expect(filter.sync(rows, query('delta 2'), test)).toEqual([2, 3]);
    expect(tested).toEqual(['delta 1', 'delta 2', 'delta 22']);
  });

  it('starts over for a wider query, another array, fewer rows or another generation', () => {
    const rows = ['a1', 'b1', 'a2'];
    const filter = new RowIndexFilter<string>();
    expect(filter.sync(rows, query('a2'), textTest('a2'))).toEqual([2]);
    expect(filter.sync(rows, query('a'), textTest('a'))).toEqual([0, 2]);
    expect(filter.sync(['b', 'a'], query('a'), textTest('a'))).toEqual([1]);
    // The oldest dropped in place: the same array, shifted.
    const messages = ['a', 'b', 'a', 'b'];
    expect(filter.sync(messages, query('a'), textTest('a'), 0)).toEqual([0, 2]);
    messages.splice(0, 1);
    messages.push('a');
    expect(filter.sync(messages, query('a'), textTest('a'), 1)).toEqual([1, 3]);
    messages.length = 1;
    expect(filter.sync(messages, query('a'), textTest('a'), 1)).toEqual([]);
  });

  it('keeps up with 100,000 rows without reading them all again', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => (i % 10 === 0 ? `ping ${i}` : `delta ${i}`));
    const filter = new RowIndexFilter<string>();
    expect(filter.sync(rows, query('ping'), textTest('ping'))).toHaveLength(10_000);
    rows.push('ping new');
    const { tested, test } = countingTest('ping');
    expect(filter.sync(rows, query('ping'), test)).toHaveLength(10_001);
    expect(tested).toEqual(['ping new']);
  });
});

describe('positions through a filter', () => {
  const indices = [2, 5, 9];

  it('maps table positions to rows and back', () => {
    expect(rowAt(indices, 1)).toBe(5);
    expect(rowAt(undefined, 1)).toBe(1);
    expect(rowAt(indices, 3)).toBe(-1);
    expect(positionOf(indices, 9)).toBe(2);
    expect(positionOf(indices, 2)).toBe(0);
    expect(positionOf(indices, 4)).toBeUndefined();
    expect(positionOf(undefined, 4)).toBe(4);
    expect(positionOf(indices, undefined)).toBeUndefined();
  });

  it('gives the table positions and hands back rows', () => {
    const picked: [number, boolean][] = [];
    const rows = {
      count: 10,
      selected: 5,
      onSelect: (index: number, expanded: boolean) => picked.push([index, expanded]),
    };
    const table = selectionThrough(indices, rows);
    expect(table.count).toBe(3);
    expect(table.selected).toBe(1);
    table.onSelect(2, true);
    expect(picked).toEqual([[9, true]]);
    expect(selectionThrough(indices, { ...rows, selected: 4 }).selected).toBeUndefined();
    expect(selectionThrough(undefined, rows)).toBe(rows);
  });
});
