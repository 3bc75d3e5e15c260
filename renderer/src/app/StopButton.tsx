import { useState } from 'react';
import { errorMessage } from '../../../app/error-message.js';
import type { ExchangeView } from '../model/exchange.js';
import { useHost } from './host-context.js';

/**
 * "Stop" on an exchange still open: a stream that never ends (or a resend of one) is cut on both
 * sides and ends as stopped. Captured and imported alike; one no longer open here says so.
 */
export function StopButton({ x }: { x: ExchangeView }) {
  const host = useHost();
  const [said, setSaid] = useState<{ id: number; text: string }>();
  if (x.closed !== undefined) return null;
  const stop = async (): Promise<void> => {
    try {
      const { stopped } = await host.call('exchange.stop', { id: x.id });
      if (!stopped) setSaid({ id: x.id, text: 'It is not open in this proxy any more.' });
    } catch (err) {
      setSaid({ id: x.id, text: errorMessage(err) });
    }
  };
  return (
    <span className="stop-exchange">
      <button
        type="button"
        data-testid="stop-exchange"
        title="Cut this exchange on both sides now: the client sees its connection (or stream) end"
        onClick={() => void stop()}
      >
        Stop
      </button>
      {said?.id === x.id && (
        <span className="muted" role="status">
          {' '}
          {said.text}
        </span>
      )}
    </span>
  );
}
