import { describe, expect, it } from 'vitest';
import { isAtBottom, scrollToReveal, visibleWindow } from '../../renderer/src/virtual-window.js';

describe('visibleWindow', () => {
  it('renders the rows in view plus overscan on each side', () => {
    // 24 px rows, 240 px viewport scrolled to row 100.
    expect(visibleWindow(2400, 240, 24, 100_000, 5)).toEqual({
      start: 95,
      end: 115,
      offsetTop: 95 * 24,
      totalHeight: 2_400_000,
    });
  });

  it('includes a partly visible row at either edge', () => {
    const { start, end } = visibleWindow(30, 50, 24, 1000, 0);
    // Pixels 30–80 touch rows 1 (24–48), 2 (48–72) and 3 (72–96).
    expect([start, end]).toEqual([1, 4]);
  });

  it('clamps overscan at the ends of the list', () => {
    expect(visibleWindow(0, 240, 24, 1000, 5)).toMatchObject({ start: 0, end: 15, offsetTop: 0 });
    expect(visibleWindow(24 * 990, 240, 24, 1000, 5)).toMatchObject({ start: 985, end: 1000 });
  });

  it('clamps scroll positions outside the list (elastic overscroll, a list that shrank, Infinity for "the end")', () => {
    expect(visibleWindow(-80, 240, 24, 1000, 0)).toMatchObject({ start: 0, end: 10 });
    expect(visibleWindow(1e9, 240, 24, 1000, 0)).toMatchObject({ start: 990, end: 1000 });
    expect(visibleWindow(Infinity, 240, 24, 1000, 2)).toMatchObject({ start: 988, end: 1000 });
  });

  it('handles a list shorter than the viewport, an empty list and a zero-height viewport', () => {
    expect(visibleWindow(0, 500, 24, 3, 5)).toEqual({ start: 0, end: 3, offsetTop: 0, totalHeight: 72 });
    expect(visibleWindow(100, 500, 24, 0, 5)).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
    expect(visibleWindow(0, 0, 24, 100, 0)).toMatchObject({ start: 0, end: 1 });
    expect(visibleWindow(0, 100, 0, 100, 0)).toMatchObject({ start: 0, end: 0 });
  });

  it('never renders more than the viewport and overscan need, however long the list', () => {
    for (const count of [10, 1000, 100_000, 1_000_000]) {
      const { start, end } = visibleWindow(count * 12, 600, 24, count, 10);
      expect(end - start).toBeLessThanOrEqual(Math.ceil(600 / 24) + 1 + 20);
    }
  });
});

describe('scrollToReveal', () => {
  it('leaves the scroll alone when the row is in view', () => {
    expect(scrollToReveal(5, 0, 240, 24)).toBeUndefined();
    expect(scrollToReveal(9, 0, 240, 24)).toBeUndefined();
  });

  it('scrolls just enough to show a row above or below', () => {
    expect(scrollToReveal(10, 0, 240, 24)).toBe(24);
    expect(scrollToReveal(2, 240, 240, 24)).toBe(48);
    // A row partly hidden at the top is brought fully in.
    expect(scrollToReveal(3, 80, 240, 24)).toBe(72);
  });
});

describe('isAtBottom', () => {
  it('is true at the end, within the tolerance, and for content that does not scroll', () => {
    expect(isAtBottom(760, 240, 1000)).toBe(true);
    expect(isAtBottom(758.5, 240, 1000)).toBe(true);
    expect(isAtBottom(700, 240, 1000)).toBe(false);
    expect(isAtBottom(0, 240, 100)).toBe(true);
    expect(isAtBottom(740, 240, 1000, 24)).toBe(true);
  });
});
