import { useState } from 'react';
import { displayId } from '../../../app/contract.js';
import { errorMessage } from '../../../app/error-message.js';
import { MOCK_SPEEDS, mockSpeedLabel, type MocksState } from '../../../app/mocks.js';
import { formatBytes, formatDuration } from '../format.js';
import { plural } from '../sse/sse-format.js';
import { useSluice } from '../store/store.js';
import { Dialog } from './Dialog.js';
import { HostList } from './HostList.js';
import { useHostRefresh } from './use-host-refresh.js';
import { useHost } from './host-context.js';
import './mocks.css';

/** How often the open dialog asks how many requests each mock answered. */
const SERVED_REFRESH_MS = 1_000;

/**
 * The mocks served in the upstream's place: what each answers, what it plays and how often it
 * has, its removal; and how they all play (speed, jitter). Mocks are made from an exchange
 * ("Serve this as a mock" in its details) or with `sluice --mock FILE.har`.
 */
export function MocksDialog({ onClose }: { onClose: () => void }) {
  const host = useHost();
  useSluice((s) => s.tick);
  const state = useSluice((s) => s.traffic.mocks);
  const setMocks = useSluice((s) => s.setMocks);
  const select = useSluice((s) => s.select);
  const [error, setError] = useState<string | undefined>(undefined);
  const [jitter, setJitter] = useState<string | undefined>(undefined);

  useHostRefresh('mocks.get', setMocks, SERVED_REFRESH_MS);

  const apply = async (call: () => Promise<MocksState>): Promise<void> => {
    try {
      setMocks(await call());
      setError(undefined);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const playback = state?.playback ?? { speed: 1, jitterMs: 0 };
  const mocks = state?.mocks ?? [];
  const saveJitter = (): void => {
    if (jitter === undefined) return;
    const ms = Number(jitter);
    setJitter(undefined);
    void apply(() => host.call('mocks.setPlayback', { speed: playback.speed, jitterMs: ms }));
  };

  return (
    <Dialog title="Mocks" onClose={onClose}>
      <p className="muted">
        A mock answers requests with the same method and URL (or, when no recording has that query, the same path) with
        a recorded response: its head, then its body in the pieces and at the times it arrived. The upstream is never
        asked, and need not exist. Make one from an exchange (Serve this as a mock) or with{' '}
        <code>sluice --mock FILE.har</code>.
      </p>
      {error !== undefined && (
        <p className="banner error" role="alert" data-testid="mocks-error">
          {error}
        </p>
      )}
      <p className="mocks-playback">
        <label>
          Speed{' '}
          <select
            data-testid="mock-speed"
            value={String(playback.speed)}
            onChange={(e) =>
              void apply(() =>
                host.call('mocks.setPlayback', { speed: Number(e.target.value), jitterMs: playback.jitterMs }),
              )
            }
          >
            {MOCK_SPEEDS.map((speed) => (
              <option key={speed} value={String(speed)}>
                {mockSpeedLabel(speed)}
              </option>
            ))}
          </select>
        </label>{' '}
        <label title="Each wait (the head's, each gap) moves by up to this many ms either way, at random">
          Jitter{' '}
          <input
            type="number"
            min={0}
            max={60000}
            step={10}
            data-testid="mock-jitter"
            value={jitter ?? String(playback.jitterMs)}
            onChange={(e) => setJitter(e.target.value)}
            onBlur={saveJitter}
            onKeyDown={(e) => e.key === 'Enter' && saveJitter()}
          />{' '}
          ms
        </label>
      </p>
      <HostList
        loading={!state}
        empty={mocks.length === 0}
        asking="Asking the host for its mocks…"
        none={{ text: 'No mocks: every request goes to its upstream.', testId: 'mocks-none' }}
        className="rules-table"
        testId="mocks-table"
        columns={['Answers', 'Plays', 'Served']}
        actions="Removal"
      >
        {mocks.map((mock) => (
          <tr key={mock.id} data-testid="mock-row">
            <td>
              <strong className="mono">
                {mock.method} {mock.url}
              </strong>
              <div className="muted">
                mock {mock.id}, from{' '}
                <button type="button" className="link" onClick={() => select(mock.exchangeId)}>
                  exchange {displayId(mock.exchangeId)}
                </button>
              </div>
              {mock.warning !== undefined && <div className="mock-warning">{mock.warning}</div>}
            </td>
            <td>
              {mock.status}, {formatBytes(mock.bytes)} in {plural(mock.pieces, 'piece')} over{' '}
              {formatDuration(mock.durationMs)}
            </td>
            <td data-testid="mock-served">{mock.served === 0 ? 'not yet' : plural(mock.served, 'time')}</td>
            <td className="rules-actions">
              <button
                type="button"
                aria-label={`Remove mock ${mock.id}`}
                onClick={() => void apply(() => host.call('mocks.remove', { mockIds: [mock.id] }))}
              >
                Remove
              </button>
            </td>
          </tr>
        ))}
      </HostList>
      <p>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </p>
    </Dialog>
  );
}
