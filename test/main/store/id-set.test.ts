import { describe, expect, it } from 'vitest';
import { IdSet } from '../../../main/store/id-set.js';

describe('IdSet', () => {
  it('holds a million ids in a few hundred KiB', () => {
    const ids = new IdSet();
    for (let id = 1; id <= 1_000_000; id += 1) ids.add(id);
    expect(ids.size).toBe(1_000_000);
    expect(ids.has(1)).toBe(true);
    expect(ids.has(1_000_000)).toBe(true);
    expect(ids.has(1_000_001)).toBe(false);
    expect(ids.has(0)).toBe(false);
    // 1,000,000 bits in 8 KiB pages: 16 pages, 128 KiB (a Set<number> of them takes tens of MiB).
    expect(ids.byteSize).toBeLessThanOrEqual(128 * 1024);

    // Removing every other id frees nothing but costs nothing either.
    for (let id = 2; id <= 1_000_000; id += 2) ids.delete(id);
    expect(ids.size).toBe(500_000);
    expect(ids.has(2)).toBe(false);
    expect(ids.has(3)).toBe(true);
    expect(ids.byteSize).toBeLessThanOrEqual(128 * 1024);
  });

  it('keeps live and imported ids (from 2^40) apart, and lists them newest first', () => {
    const ids = new IdSet();
    const imported = 2 ** 40;
    for (const id of [5, imported + 2, 70_000, 1, imported, 65_535, 65_536]) expect(ids.add(id)).toBe(true);
    expect(ids.add(5)).toBe(false);
    expect(ids.descending()).toEqual([imported + 2, imported, 70_000, 65_536, 65_535, 5, 1]);
    expect(ids.has(imported + 1)).toBe(false);
    expect(ids.size).toBe(7);
  });

  it('frees a page once its last id goes, and clears', () => {
    const ids = new IdSet();
    ids.add(10);
    ids.add(200_000);
    expect(ids.byteSize).toBe(2 * 8192);
    expect(ids.delete(200_000)).toBe(true);
    expect(ids.delete(200_000)).toBe(false);
    expect(ids.byteSize).toBe(8192);
    ids.clear();
    expect(ids.size).toBe(0);
    expect(ids.byteSize).toBe(0);
    expect(ids.descending()).toEqual([]);
  });
});
