/**
 * What a key press does in a live table, as a pure function so it can be tested without a DOM.
 * ↑/↓, Page Up/Down, Home/End move the selection (End also follows new rows again), Enter or
 * Space opens or closes the selected row, Escape closes it.
 */

export type LiveTableKeyAction =
  /** Select row `index` (not yet clamped to the table), keeping it open or closed as it is. */
  | { readonly type: 'move'; readonly index: number; readonly follow: boolean }
  /** Open or close the selected row. */
  | { readonly type: 'expand'; readonly index: number; readonly expanded: boolean }
  /** The key is the table's, but there is nothing to do. */
  | { readonly type: 'none' };

export interface LiveTableKeyState {
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly count: number;
  /** Rows a Page Up/Down moves. */
  readonly page: number;
}

/** The action for `key`, or undefined when the table leaves the key to the browser. */
export function liveTableKeyAction(key: string, state: LiveTableKeyState): LiveTableKeyAction | undefined {
  const { selected, expanded, count, page } = state;
  // With nothing selected, ↑ starts from the newest row and everything else from the oldest.
  const current = selected ?? (key === 'ArrowUp' ? count : -1);
  const move = (index: number, follow = false): LiveTableKeyAction => ({ type: 'move', index, follow });
  switch (key) {
    case 'ArrowDown':
      return move(current + 1);
    case 'ArrowUp':
      return move(current - 1);
    case 'PageDown':
      return move(current + page);
    case 'PageUp':
      return move(current - page);
    case 'Home':
      return move(0);
    case 'End':
      // The newest row, and keep following the ones after it.
      return move(count - 1, true);
    case 'Enter':
    case ' ':
      if (selected !== undefined) return { type: 'expand', index: selected, expanded: !expanded };
      return count > 0 ? move(count - 1) : { type: 'none' };
    case 'Escape':
      if (!expanded || selected === undefined) return undefined;
      return { type: 'expand', index: selected, expanded: false };
    default:
      return undefined;
  }
}

/** Rows a Page Up/Down moves: a viewport's worth less one, so a row stays in view across the move. */
export function pageRows(viewportHeight: number, rowHeight: number): number {
  return Math.max(1, Math.floor(viewportHeight / rowHeight) - 1);
}
