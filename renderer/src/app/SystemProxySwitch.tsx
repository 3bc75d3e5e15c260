import { useState } from 'react';
import type { SystemProxyMode } from '../../../app/contract.js';
import { useSluice } from '../store/store.js';
import { useHost } from './host-context.js';
import { useCommand } from './use-command.js';

/**
 * The machine-wide proxy switch, the same one the tray and `sluice --system-proxy` use. Its state
 * comes from the host (every window and tab shows the same); a refusal or failure is said beside
 * it, since the user must know whether their machine points at Sluice.
 */
export function SystemProxySwitch() {
  const host = useHost();
  const run = useCommand();
  const status = useSluice((s) => s.traffic.systemProxy);
  useSluice((s) => s.tick);
  const [mode, setMode] = useState<SystemProxyMode>('manual');
  const [busy, setBusy] = useState(false);

  const on = status?.state === 'on';
  // After a failure the machine may still point at Sluice: the safe click puts the user's settings back.
  const failed = status?.state === 'error';
  const supported = status?.supported ?? false;
  const where = status?.mode === 'pac' ? `PAC script ${status.pacUrl ?? ''}` : (status?.address ?? '');
  const title = !status
    ? 'Asking the host…'
    : !supported
      ? (status.message ?? 'The system proxy cannot be changed here')
      : failed
        ? `${status.message ?? 'The system proxy failed'}. Click to put your own proxy settings back.`
        : on
          ? `This machine's proxy settings (${status.targets.join(', ')}) point at ${where}; switch off to restore yours`
          : `Point this machine's proxy settings (${status.targets.join(', ')}) at Sluice; yours come back when switched off or on quit`;

  const toggle = (): void => {
    setBusy(true);
    run(() =>
      host
        .call('systemProxy.set', on || failed ? { enabled: false } : { enabled: true, mode })
        .then((next) => useSluice.getState().setSystemProxy(next))
        .finally(() => setBusy(false)),
    );
  };

  return (
    <span className="system-proxy" data-testid="system-proxy" data-state={status?.state ?? 'unknown'}>
      <button
        type="button"
        role="switch"
        aria-checked={on}
        className={`switch ${status?.state ?? ''}`}
        title={title}
        disabled={!supported || busy}
        onClick={toggle}
      >
        <span className="dot" aria-hidden="true" />
        System proxy: {busy ? '…' : on ? `on · ${status.targets.join(', ')}` : failed ? 'error' : 'off'}
      </button>
      {supported && !on && !failed && (
        <select
          aria-label="System proxy mode"
          value={mode}
          disabled={busy}
          onChange={(e) => setMode(e.target.value as SystemProxyMode)}
          title="PAC mode: clients go direct whenever Sluice is not answering"
        >
          <option value="manual">manual</option>
          <option value="pac">PAC</option>
        </select>
      )}
      {status?.message && supported && (
        <span className={`system-proxy-message ${status.state}`} role="status" data-testid="system-proxy-message">
          {status.message}
        </span>
      )}
    </span>
  );
}
