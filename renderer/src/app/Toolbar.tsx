import { lazy, Suspense } from 'react';
import { useSluice } from '../store/store.js';
import { CaHelp } from './CaHelp.js';
import { HarDialog } from './HarDialog.js';
import { HarImportButton } from './HarImport.js';
import { useHost } from './host-context.js';
import { RulesDialog } from './RulesDialog.js';
import { MocksDialog } from './MocksDialog.js';
import { SystemProxySwitch } from './SystemProxySwitch.js';
import { useCommand } from './use-command.js';

// Loads schemas with @bufbuild/protobuf: fetched when the dialog first opens, not with the page.
const SchemasDialog = lazy(() => import('./SchemasDialog.js').then((m) => ({ default: m.SchemasDialog })));

/**
 * Proxy address and state, record/pause, clear, HAR import/export, protobuf schemas, stream
 * rules (how many are on, always in sight), mocks, the system proxy switch, CA help.
 */
export function Toolbar() {
  const host = useHost();
  const status = useSluice((s) => s.traffic.status);
  useSluice((s) => s.tick);
  const run = useCommand();
  const dialog = useSluice((s) => s.dialog);
  const openDialog = useSluice((s) => s.openDialog);
  const schemaSources = useSluice((s) => s.schemas?.list.sources.length ?? 0);
  const rulesOn = useSluice((s) => s.traffic.rules?.rules.filter((rule) => rule.enabled).length ?? 0);
  const heldStreams = useSluice((s) => s.traffic.breakpoints.size);
  const mocks = useSluice((s) => s.traffic.mocks?.mocks.length ?? 0);
  const select = useSluice((s) => s.select);

  const running = status?.state === 'running';
  const address = status ? `${status.host}:${status.port}` : '…';
  const recording = status?.captureEnabled ?? true;
  const kept = status?.captureKept ?? false;

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
      <button
        type="button"
        aria-pressed={kept}
        title="Keep the capture on disk when Sluice stops, and show it again at the next start"
        onClick={() => run(() => host.call('capture.setKept', { kept: !kept }))}
        disabled={!status}
      >
        {kept ? '✓ Kept after restart' : 'Keep after restart'}
      </button>
      <span className="spacer" />
      <HarImportButton />
      <button type="button" onClick={() => openDialog('har-export')} title="Export the capture as a HAR file">
        Export HAR…
      </button>
      <button
        type="button"
        onClick={() => openDialog('schemas')}
        title="Protobuf schemas that name the fields of gRPC, gRPC-Web and Connect messages"
      >
        {schemaSources > 0 ? `Schemas (${schemaSources})…` : 'Schemas…'}
      </button>
      <button
        type="button"
        className={rulesOn > 0 ? 'rules-on' : ''}
        data-testid="rules-button"
        onClick={() => openDialog('rules')}
        title="Stream rules: slow, stall, cut, reset or answer matching streams on purpose"
      >
        {rulesOn > 0 ? `Rules (${rulesOn} on)…` : 'Rules…'}
      </button>
      <button
        type="button"
        className={mocks > 0 ? 'mocks-on' : ''}
        data-testid="mocks-button"
        onClick={() => openDialog('mocks')}
        title="Mocks: recorded responses served in the upstream's place, at their recorded pace"
      >
        {mocks > 0 ? `Mocks (${mocks})…` : 'Mocks…'}
      </button>
      {heldStreams > 0 && (
        <button
          type="button"
          className="rules-on"
          data-testid="breakpoints-held"
          title="Streams a breakpoint holds: nothing more reaches their clients until you decide"
          onClick={() => {
            const [first] = useSluice.getState().traffic.breakpoints.values();
            if (first !== undefined) select(first);
          }}
        >
          {heldStreams === 1 ? '1 stream held' : `${heldStreams} streams held`}
        </button>
      )}
      <SystemProxySwitch />
      <button type="button" onClick={() => openDialog('ca-help')}>
        CA certificate
      </button>
      {dialog === 'ca-help' && <CaHelp onClose={() => openDialog(undefined)} />}
      {dialog === 'har-export' && <HarDialog onClose={() => openDialog(undefined)} />}
      {dialog === 'rules' && <RulesDialog onClose={() => openDialog(undefined)} />}
      {dialog === 'mocks' && <MocksDialog onClose={() => openDialog(undefined)} />}
      {dialog === 'schemas' && (
        <Suspense fallback={null}>
          <SchemasDialog onClose={() => openDialog(undefined)} />
        </Suspense>
      )}
    </header>
  );
}
