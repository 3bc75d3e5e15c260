import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { isAtBottom } from '../virtual-window.js';

export interface StickToBottom {
  /** True while the view follows new content. */
  readonly stuck: boolean;
  /** Attach to the scroll container's `onScroll`. */
  readonly onScroll: () => void;
  /** Follow new content again, from wherever the user is. */
  readonly jumpToLatest: () => void;
  /** Stop following (e.g. the user picked a row to read). */
  readonly release: () => void;
}

/**
 * Keeps a scroll container at its bottom while new content arrives, as long as the user is
 * there: scrolling up releases it, scrolling back to the end (or `jumpToLatest`) re-attaches.
 * The state is mirrored in a ref so the layout effect and scroll handler see it without waiting
 * for a render.
 */
export function useStickToBottom(ref: RefObject<HTMLElement | null>, initiallyStuck = true): StickToBottom {
  const [stuck, setStuck] = useState(initiallyStuck);
  const stuckRef = useRef(initiallyStuck);
  const set = useCallback((value: boolean) => {
    stuckRef.current = value;
    setStuck(value);
  }, []);

  // After every render: content may have grown. Runs before paint, so the new end shows at once.
  useLayoutEffect(() => {
    const element = ref.current;
    if (element && stuckRef.current) element.scrollTop = element.scrollHeight;
  });

  const onScroll = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    const atBottom = isAtBottom(element.scrollTop, element.clientHeight, element.scrollHeight);
    if (atBottom !== stuckRef.current) set(atBottom);
  }, [ref, set]);

  const jumpToLatest = useCallback(() => {
    set(true);
    const element = ref.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [ref, set]);

  const release = useCallback(() => set(false), [set]);

  return { stuck, onScroll, jumpToLatest, release };
}
