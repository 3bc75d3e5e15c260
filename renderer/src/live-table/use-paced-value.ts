import { useEffect, useRef, useState } from 'react';

/**
 * `value`, passed on at most once per `intervalMs`: at once when the last one passed is older than
 * that, otherwise when the interval ends (the latest value then). A table that follows a flood,
 * 10,000 messages a second, then lays out a screenful of new rows a few times a second rather than
 * on every frame (no one reads faster); a slow stream's rows still show the moment they come.
 * `intervalMs` 0 passes every value on as it comes.
 */
export function usePacedValue<T>(value: T, intervalMs: number): T {
  const passed = useRef({ value, at: -Infinity });
  const [, wake] = useState(0);
  const now = performance.now();
  // Decided during render so a value that may go out goes out in this render, not one later; a
  // render React throws away can only have passed a value a little early.
  if (!Object.is(value, passed.current.value) && now - passed.current.at >= intervalMs) {
    passed.current = { value, at: now };
  }
  const shown = passed.current.value;

  useEffect(() => {
    if (Object.is(value, shown)) return;
    // Held back: render again when the interval ends, which passes the latest value on.
    const timer = setTimeout(() => wake((n) => n + 1), Math.max(0, passed.current.at + intervalMs - now));
    return () => clearTimeout(timer);
  }, [value, shown, intervalMs, now]);

  return shown;
}
