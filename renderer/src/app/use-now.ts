import { useEffect, useState } from 'react';
import { hostNow } from '../store/host-clock.js';

/** The host's "now", re-rendering every `ms` while `active` (an exchange is still open). */
export function useHostNow(active: boolean, ms = 250): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return hostNow();
}
