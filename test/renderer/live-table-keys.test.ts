import { describe, expect, it } from 'vitest';
import { liveTableKeyAction, pageRows } from '../../renderer/src/live-table/key-action.js';

const state = { selected: 5, expanded: false, count: 100, page: 10 };

describe('liveTableKeyAction', () => {
  it('moves the selection by one, a page, or to either end', () => {
    expect(liveTableKeyAction('ArrowDown', state)).toEqual({ type: 'move', index: 6, follow: false });
    expect(liveTableKeyAction('ArrowUp', state)).toEqual({ type: 'move', index: 4, follow: false });
    expect(liveTableKeyAction('PageDown', state)).toEqual({ type: 'move', index: 15, follow: false });
    expect(liveTableKeyAction('PageUp', state)).toEqual({ type: 'move', index: -5, follow: false });
    expect(liveTableKeyAction('Home', state)).toEqual({ type: 'move', index: 0, follow: false });
  });

  it('follows new rows again on End', () => {
    expect(liveTableKeyAction('End', state)).toEqual({ type: 'move', index: 99, follow: true });
  });

  it('starts from the newest row on ↑ and from the oldest otherwise when nothing is selected', () => {
    const none = { ...state, selected: undefined };
    expect(liveTableKeyAction('ArrowUp', none)).toEqual({ type: 'move', index: 99, follow: false });
    expect(liveTableKeyAction('ArrowDown', none)).toEqual({ type: 'move', index: 0, follow: false });
    expect(liveTableKeyAction('PageDown', none)).toEqual({ type: 'move', index: 9, follow: false });
  });

  it('opens and closes the selected row on Enter or Space', () => {
    expect(liveTableKeyAction('Enter', state)).toEqual({ type: 'expand', index: 5, expanded: true });
    expect(liveTableKeyAction(' ', { ...state, expanded: true })).toEqual({
      type: 'expand',
      index: 5,
      expanded: false,
    });
  });

  it('selects the newest row on Enter when nothing is selected, and does nothing in an empty table', () => {
    expect(liveTableKeyAction('Enter', { ...state, selected: undefined })).toEqual({
      type: 'move',
      index: 99,
      follow: false,
    });
    expect(liveTableKeyAction(' ', { ...state, selected: undefined, count: 0 })).toEqual({ type: 'none' });
  });

  it('closes an open row on Escape and leaves Escape alone otherwise', () => {
    expect(liveTableKeyAction('Escape', { ...state, expanded: true })).toEqual({
      type: 'expand',
      index: 5,
      expanded: false,
    });
    expect(liveTableKeyAction('Escape', state)).toBeUndefined();
  });

  it('leaves other keys to the browser', () => {
    expect(liveTableKeyAction('a', state)).toBeUndefined();
    expect(liveTableKeyAction('Tab', state)).toBeUndefined();
  });
});

describe('pageRows', () => {
  it('is a viewport less one row, and at least one', () => {
    expect(pageRows(240, 24)).toBe(9);
    expect(pageRows(250, 24)).toBe(9);
    expect(pageRows(24, 24)).toBe(1);
    expect(pageRows(0, 24)).toBe(1);
  });
});
