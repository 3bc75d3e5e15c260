import { useState } from 'react';
import { useSluice } from '../store/store.js';
import { CaHelp } from './CaHelp.js';
import { HarDialog } from './HarDialog.js';
import { HarImportButton } from './HarImport.js';
import { useHost } from './host-context.js';
import { useCommand } from './use-command.js';

/** Proxy address and state, record/pause, clear, HAR export, CA help; the system proxy switch comes later. */
export function Toolbar() {
  const host = useHost();
  const status = useSluice((s) => s.traffic.status);
  useSluice((s) => s.tick);
  const run = useCommand();
  const [caOpen, setCaOpen] = useState(false);
  const [harOpen, setHarOpen] = useState(false);

  const running = status?.state === 'running';
  const address = status ? `${status.host}:${status.port}` : '…';
  const recording = status?.captureEnabled ?? true;

  return (
    <header className="toolbar" role="toolbar" aria-label="Sluice">
      <span className="brand">Sluice</span>
      <span className="proxy-state" data-testid="proxy-state" title={status?.error ?? ''}>
        <span className={`dot ${status?.state ?? ''}`} aria-hidden="true" />
        {status?.state === 'error'
          ? `error: ${status.error ?? 'unknown'}`
          : `${status?.state ?? 'connecting'} · ${address}`}
      </span>
      <button
        type="button"
        onClick={() => run(() => host.call(running ? 'proxy.stop' : 'proxy.start', {}))}
        disabled={!status}
      >
        {running ? 'Stop proxy' : 'Start proxy'}
      </button>
      <button
        type="button"
        aria-pressed={recording}
        title="Body capture for new exchanges; forwarding is never affected"
        onClick={() => run(() => host.call('capture.setEnabled', { enabled: !recording }))}
        disabled={!status}
      >
        {recording ? '● Recording' : '❚❚ Capture paused'}
      </button>
      <button type="button" onClick={() => run(() => host.call('capture.clear', {}))}>
        Clear
      </button>
      <span className="spacer" />
      <HarImportButton />
      <button type="button" onClick={() => setHarOpen(true)} title="Export the capture as a HAR file">
        Export HAR…
      </button>
      <button type="button" disabled title="The system proxy switch arrives with the tray issue">
        System proxy
      </button>
      <button type="button" onClick={() => setCaOpen(true)}>
        CA certificate
      </button>
      {caOpen && <CaHelp onClose={() => setCaOpen(false)} />}
      {harOpen && <HarDialog onClose={() => setHarOpen(false)} />}
    </header>
  );
}
