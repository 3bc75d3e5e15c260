/** Ids per page: one bit each, so a page is 8 KiB. */
const PAGE_IDS = 65_536;
const PAGE_WORDS = PAGE_IDS / 32;

interface Page {
  readonly bits: Uint32Array;
  count: number;
}

/**
 * A set of exchange ids as a paged bitmap: one bit per id, in 8 KiB pages allocated only where ids
 * are. Exchange ids are dense runs (the proxy counts 1, 2, 3, ...; an import counts up from its own
 * base), so a million ids take 16 pages, 128 KiB, where a `Set<number>` would take tens of MiB.
 * Ids must be non-negative safe integers.
 */
export class IdSet {
  private readonly pages = new Map<number, Page>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Bytes held by the bitmaps (the map's own entries add a few dozen bytes per page). */
  get byteSize(): number {
    return this.pages.size * PAGE_WORDS * 4;
  }

  has(id: number): boolean {
    const page = this.pages.get(Math.floor(id / PAGE_IDS));
    if (page === undefined) return false;
    const bit = id % PAGE_IDS;
    return (page.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** Adds the id; says whether it was new. */
  add(id: number): boolean {
    const key = Math.floor(id / PAGE_IDS);
    let page = this.pages.get(key);
    if (page === undefined) {
      page = { bits: new Uint32Array(PAGE_WORDS), count: 0 };
      this.pages.set(key, page);
    }
    const bit = id % PAGE_IDS;
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    if ((page.bits[word]! & mask) !== 0) return false;
    page.bits[word] = page.bits[word]! | mask;
    page.count += 1;
    this.count += 1;
    return true;
  }

  /** Removes the id; says whether it was there. A page left empty is freed. */
  delete(id: number): boolean {
    const key = Math.floor(id / PAGE_IDS);
    const page = this.pages.get(key);
    if (page === undefined) return false;
    const bit = id % PAGE_IDS;
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    if ((page.bits[word]! & mask) === 0) return false;
    page.bits[word] = page.bits[word]! & ~mask;
    page.count -= 1;
    this.count -= 1;
    if (page.count === 0) this.pages.delete(key);
    return true;
  }

  clear(): void {
    this.pages.clear();
    this.count = 0;
  }

  /** The ids, highest first. */
  descending(): number[] {
    const ids: number[] = [];
    const keys = [...this.pages.keys()].sort((a, b) => b - a);
    for (const key of keys) {
      const bits = this.pages.get(key)!.bits;
      const base = key * PAGE_IDS;
      for (let word = PAGE_WORDS - 1; word >= 0; word -= 1) {
        const value = bits[word]!;
        if (value === 0) continue;
        for (let bit = 31; bit >= 0; bit -= 1) {
          if ((value & (1 << bit)) !== 0) ids.push(base + word * 32 + bit);
        }
      }
    }
    return ids;
  }
}
