import { useEffect, useState } from 'react';
import type { ExchangeView } from '../model/exchange.js';
import { useSluice } from '../store/store.js';
import { useHost } from './host-context.js';
import { errorMessage } from '../../../app/error-message.js';

/**
 * For an exchange the host's replay sent in short (`ExchangeView.held`): asks the host for its
 * whole events once it is shown, and has the store make it whole (a frame's worth at a time: a
 * call with 20,000 messages would otherwise be one long task). Returns why that failed, if it did.
 */
export function useHeldDetails(x: ExchangeView): string | undefined {
  const host = useHost();
  const restore = useSluice((s) => s.restore);
  const held = x.held !== undefined;
  const [failure, setFailure] = useState<{ id: number; message: string } | undefined>(undefined);
  useEffect(() => {
    if (!held) return;
    let cancelled = false;
    host.call('exchange.events', { id: x.id }).then(
      ({ events }) => {
        if (cancelled) return;
        if (events.length > 0) restore(x.id, events);
        else setFailure({ id: x.id, message: 'the host no longer keeps this exchange' });
      },
      (err: unknown) => {
        if (!cancelled) setFailure({ id: x.id, message: errorMessage(err) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [host, restore, x.id, held]);
  return failure?.id === x.id ? failure.message : undefined;
}
