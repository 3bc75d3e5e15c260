import { useState } from 'react';
import { errorMessage } from '../../../app/error-message.js';
import type { ExchangeView } from '../model/exchange.js';
import { useSluice } from '../store/store.js';
import { useHost } from './host-context.js';
import './mocks.css';

/**
 * "Serve this as a mock": the exchange's response, as recorded, answers the same request from now on in
 * the upstream's place. Offered once the exchange has ended (a recording needs its end); what the
 * host said (the mock's number, or why not) shows beside the button.
 */
export function ServeAsMock({ x }: { x: ExchangeView }) {
  const host = useHost();
  const setMocks = useSluice((s) => s.setMocks);
  const openDialog = useSluice((s) => s.openDialog);
  const [outcome, setOutcome] = useState<{ id: number; text: string; failed: boolean }>();
  if (x.opened.kind === 'tunnel' || x.response === undefined) return null;
  const serve = async (): Promise<void> => {
    try {
      const state = await host.call('mocks.add', { ids: [x.id] });
      setMocks(state);
      const mock = state.mocks.find((m) => m.exchangeId === x.id);
      const text = `Served as mock ${mock?.id ?? ''}${mock?.warning ? ` (${mock.warning})` : ''}`;
      setOutcome({ id: x.id, text, failed: false });
    } catch (err) {
      setOutcome({ id: x.id, text: errorMessage(err), failed: true });
    }
  };
  const shown = outcome?.id === x.id ? outcome : undefined;
  return (
    <div className="serve-as-mock" role="group" aria-label="Mock">
      <button
        type="button"
        data-testid="serve-as-mock"
        disabled={x.closed === undefined}
        title={
          x.closed === undefined
            ? 'Once this exchange has ended, its response can answer the same request in place of the upstream'
            : 'Answer the same request (method and URL) with this response, at its recorded pace, in place of the upstream'
        }
        onClick={() => void serve()}
      >
        Serve this as a mock
      </button>
      {shown && (
        <span className={shown.failed ? 'mock-warning' : 'muted'} role="status" data-testid="serve-as-mock-outcome">
          {shown.text}{' '}
          {!shown.failed && (
            <button type="button" className="link" onClick={() => openDialog('mocks')}>
              Mocks…
            </button>
          )}
        </span>
      )}
    </div>
  );
}
