import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { localStore } from '../local-store.js';
import { clampSplit, readSplit, SPLIT_DEFAULT, SPLIT_KEY, SPLIT_STEP } from './split.js';

/** The split between list and detail: its share, kept in localStorage, and what sets it. */
export function useSplit(): [number, (share: number) => void] {
  const [share, setShare] = useState(() => readSplit(localStore()?.getItem(SPLIT_KEY) ?? null));
  const set = useCallback((next: number) => {
    const clamped = clampSplit(next);
    setShare(clamped);
    localStore()?.setItem(SPLIT_KEY, String(clamped));
  }, []);
  return [share, set];
}

/**
 * The bar between the list and the detail: drag it (or focus it and use ←/→, Home for the
 * default), and the split is remembered for the next visit.
 */
export function SplitHandle({ share, onChange }: { share: number; onChange: (share: number) => void }) {
  const dragging = useRef<{ left: number; width: number } | undefined>(undefined);
  const [active, setActive] = useState(false);
  useEffect(() => {
    if (!active) return;
    const previous = document.body.style.cursor;
    document.body.style.cursor = 'col-resize';
    return () => {
      document.body.style.cursor = previous;
    };
  }, [active]);
  const onPointerDown = (e: PointerEvent<HTMLDivElement>): void => {
    const main = e.currentTarget.parentElement?.getBoundingClientRect();
    if (!main) return;
    dragging.current = { left: main.left, width: main.width };
    e.currentTarget.setPointerCapture(e.pointerId);
    setActive(true);
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>): void => {
    const drag = dragging.current;
    if (drag && drag.width > 0) onChange((e.clientX - drag.left) / drag.width);
  };
  const onPointerUp = (): void => {
    dragging.current = undefined;
    setActive(false);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (e.key === 'ArrowLeft') onChange(share - SPLIT_STEP);
    else if (e.key === 'ArrowRight') onChange(share + SPLIT_STEP);
    else if (e.key === 'Home') onChange(SPLIT_DEFAULT);
    else return;
    e.preventDefault();
  };
  return (
    <div
      className={`split-handle${active ? ' active' : ''}`}
      role="separator"
      aria-orientation="vertical"
      aria-label="Resize the list and the details"
      aria-valuenow={Math.round(share * 100)}
      aria-valuemin={20}
      aria-valuemax={80}
      tabIndex={0}
      data-testid="split-handle"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerUp}
      onKeyDown={onKeyDown}
    />
  );
}
