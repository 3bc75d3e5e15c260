/**
 * In `items` sorted by `keyOf` (ascending), the index of the first item whose key is above
 * `value` (at or above it, with `orEqual`); `items.length` when there is none. One binary search
 * for the timeline's and HAR import's questions of time.
 */
export function firstPast<T>(items: readonly T[], value: number, keyOf: (item: T) => number, orEqual = false): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const key = keyOf(items[middle]!);
    if (orEqual ? key < value : key <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}
