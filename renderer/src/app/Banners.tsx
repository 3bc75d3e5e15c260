import type { Notice } from '../store/apply-event.js';
import { dismissNotice, noticeKey } from '../store/notices.js';
import { useSluice } from '../store/store.js';
import { HarImportBanners } from './HarImport.js';

/** What the user must know that is not an exchange: a lost host, dropped display events, notices. */
export function Banners({ onReconnect }: { onReconnect: () => void }) {
  const connection = useSluice((s) => s.connection);
  const detail = useSluice((s) => s.connectionDetail);
  useSluice((s) => s.tick);
  const { droppedEvents, notices, clientErrors } = useSluice.getState().traffic;
  const recent = notices.slice(-3);
  const lastClientError = clientErrors[clientErrors.length - 1];

  return (
    <div className="banners" aria-live="polite">
      {connection !== 'open' && (
        <div className="banner error" role="alert" data-testid="connection-banner">
          {connection === 'connecting'
            ? 'Connecting to the Sluice host…'
            : `Lost the Sluice host${detail ? `: ${detail}` : ''}.`}{' '}
          Retrying.
        </div>
      )}
      {droppedEvents > 0 && (
        <div className="banner warning" data-testid="dropped-banner">
          This window fell behind and missed {droppedEvents.toLocaleString()} display events (the traffic itself was not
          affected).
          <button type="button" onClick={onReconnect}>
            Re-read from the host
          </button>
        </div>
      )}
      <HarImportBanners />
      {recent.map((n) => (
        <div key={noticeKey(n)} className={`banner ${n.level}`} data-testid="notice">
          <span>{n.message}</span>
          <button type="button" className="dismiss" onClick={() => dismiss(n)}>
            Dismiss
          </button>
        </div>
      ))}
      {lastClientError && (
        <div className="banner info" data-testid="client-error-banner">
          {clientErrors.length} malformed request{clientErrors.length === 1 ? '' : 's'} refused; last from{' '}
          {lastClientError.clientAddress}: {lastClientError.detail}
        </div>
      )}
    </div>
  );
}

// Dismissed for this tab, a reload included: the host's log keeps the notice for other windows.
function dismiss(notice: Notice): void {
  const state = useSluice.getState();
  dismissNotice(state.traffic, notice);
  useSluice.setState({ tick: state.tick + 1 });
}
