import { useRef } from 'react';
import { formatBytes } from '../format.js';
import { addNotice } from '../store/apply-event.js';
import { hostNow } from '../store/host-clock.js';
import { useSluice } from '../store/store.js';
import type { HostClient } from '../transport/host-client.js';
import { useHost } from './host-context.js';
import { servedOverHttp } from '../transport/connect-host.js';

/**
 * Opens a HAR file (ours, a browser's, another proxy's) into the same views. The file goes to the
 * host as it is read from disk (the browser streams a File body), the host parses it as it
 * arrives, and every tab follows its progress; nothing here holds the file.
 */
export function HarImportButton() {
  const host = useHost();
  const input = useRef<HTMLInputElement>(null);
  if (!servedOverHttp) {
    return (
      <button type="button" disabled={!host.canChooseFiles} onClick={() => void importWithDialog(host)}>
        Import HAR…
      </button>
    );
  }
  const upload = (file: File): void => {
    fetch(`har/import?name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': 'application/json' },
    }).catch((err: unknown) => {
      // The host reports a bad file itself; this is the connection failing.
      const state = useSluice.getState();
      addNotice(state.traffic, {
        t: hostNow(),
        level: 'error',
        message: `Could not send ${file.name}: ${String(err)}`,
      });
      useSluice.setState({ tick: state.tick + 1 });
    });
  };
  return (
    <>
      <button type="button" onClick={() => input.current?.click()} title="Open a HAR file into the views">
        Import HAR…
      </button>
      <input
        ref={input}
        type="file"
        accept=".har,application/json"
        hidden
        data-testid="har-import-input"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) upload(file);
        }}
      />
    </>
  );
}

/** The desktop app's import: the system's open dialog, then the host reads the file itself. */
export async function importWithDialog(host: HostClient): Promise<void> {
  const path = await host.chooseFile({ purpose: 'har-open' });
  // The host reports a bad file as a notice and in the progress line.
  if (path) await host.call('har.import', { path }).catch(() => undefined);
}

/** One line per HAR import: live progress, then how it ended, until dismissed. */
export function HarImportBanners() {
  useSluice((s) => s.tick);
  const { imports } = useSluice.getState().traffic;
  const dismiss = (id: number): void => {
    const state = useSluice.getState();
    state.traffic.imports.delete(id);
    useSluice.setState({ tick: state.tick + 1 });
  };
  return (
    <>
      {[...imports.values()].map((p) => {
        const percent = p.totalBytes ? Math.min(100, Math.round((p.bytesRead / p.totalBytes) * 100)) : undefined;
        const level = p.error ? 'error' : 'info';
        return (
          <div key={p.importId} className={`banner ${level}`} role="status" data-testid="har-import-status">
            {!p.done && (
              <>
                Importing HAR: {p.entries.toLocaleString()} exchanges, {formatBytes(p.bytesRead)}
                {p.totalBytes ? ` of ${formatBytes(p.totalBytes)}` : ''}
                {percent !== undefined && <progress max={100} value={percent} aria-label="Import progress" />}
              </>
            )}
            {p.done && !p.error && <>Imported {p.entries.toLocaleString()} exchanges from the HAR file.</>}
            {p.error && (
              <>
                HAR import stopped after {p.entries.toLocaleString()} exchanges: {p.error}
              </>
            )}
            {p.done && (
              <button type="button" onClick={() => dismiss(p.importId)} aria-label="Dismiss">
                ×
              </button>
            )}
          </div>
        );
      })}
    </>
  );
}
