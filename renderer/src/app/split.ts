/** The list's share of the window's width, as the user last dragged it; pure, so tests need no DOM. */

export const SPLIT_KEY = 'sluice.split';
/** The list and the detail each keep at least this share of the width. */
export const SPLIT_MIN = 0.2;
export const SPLIT_MAX = 0.8;
/** The first start: the list a little wider than the detail, as before the split could move. */
export const SPLIT_DEFAULT = 0.535;
/** One arrow key press moves the split this much. */
export const SPLIT_STEP = 0.02;

export function clampSplit(share: number): number {
  return Number.isFinite(share) ? Math.min(SPLIT_MAX, Math.max(SPLIT_MIN, share)) : SPLIT_DEFAULT;
}

/** A stored share, or the default for a missing or broken value. */
export function readSplit(stored: string | null): number {
  if (stored === null) return SPLIT_DEFAULT;
  return clampSplit(Number(stored));
}
