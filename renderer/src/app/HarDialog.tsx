import { useState } from 'react';
import { displayId } from '../../../app/contract.js';
import { harFileName } from '../../../app/file-names.js';
import { useHost } from './host-context.js';
import { isFiltering } from '../store/filter.js';
import { useFilteredIds } from '../store/use-filtered-ids.js';
import { Dialog } from './Dialog.js';
import { useSluice } from '../store/store.js';
import { servedOverHttp } from '../transport/connect-host.js';
import { errorMessage } from '../../../app/error-message.js';

type Scope = 'all' | 'shown' | 'selected';

/**
 * Export the capture as HAR: all of it, what the filter shows, or the selected exchange; secrets
 * redacted on request. The headless host writes the file straight into a download, so a big
 * capture never passes through the page.
 */
export function HarDialog({ onClose }: { onClose: () => void }) {
  const filter = useSluice((s) => s.filter);
  const selectedId = useSluice((s) => s.selectedId);
  const { ids: shown, total } = useFilteredIds();
  // All, whatever is selected: exporting the capture is what most people open this for.
  const [scope, setScope] = useState<Scope>('all');
  const [redact, setRedact] = useState(false);
  const [extraHeaders, setExtraHeaders] = useState('');

  const ids = scope === 'selected' && selectedId !== undefined ? [selectedId] : scope === 'shown' ? shown : undefined;
  const headers = extraHeaders
    .split(/[\s,]+/)
    .map((h) => h.trim())
    .filter(Boolean);
  const count = ids?.length ?? total;

  return (
    <Dialog title="Export HAR" onClose={onClose}>
      <fieldset className="har-scope">
        <legend>Exchanges</legend>
        <label>
          <input type="radio" name="scope" checked={scope === 'all'} onChange={() => setScope('all')} /> All ({total})
        </label>
        <label>
          <input
            type="radio"
            name="scope"
            checked={scope === 'shown'}
            disabled={!isFiltering(filter)}
            onChange={() => setScope('shown')}
          />{' '}
          Shown by the filter ({shown.length})
        </label>
        <label>
          <input
            type="radio"
            name="scope"
            checked={scope === 'selected'}
            disabled={selectedId === undefined}
            onChange={() => setScope('selected')}
          />{' '}
          The selected exchange{selectedId !== undefined ? ` (#${displayId(selectedId)})` : ''}
        </label>
      </fieldset>
      <fieldset>
        <legend>Secrets</legend>
        <label>
          <input type="checkbox" checked={redact} onChange={(e) => setRedact(e.target.checked)} /> Redact Authorization,
          Proxy-Authorization, Cookie and Set-Cookie, passwords in URLs and query values named like secrets (token, key,
          signature, …)
        </label>
        <label className="har-extra">
          Also redact these headers:{' '}
          <input
            type="text"
            value={extraHeaders}
            placeholder="x-api-key, x-session"
            aria-label="More header names to redact"
            onChange={(e) => setExtraHeaders(e.target.value)}
          />
        </label>
      </fieldset>
      <p className="muted">
        Bodies are included (binary as base64); truncated captures and open streams are marked. Streaming detail
        (chunks, SSE events, backpressure) is in underscore fields.
      </p>
      {servedOverHttp ? (
        // A real form post: the id list can outgrow a URL, and the browser saves the answer as a file.
        // It goes into a frame that outlives the dialog, so the dialog can close as the download starts.
        <form method="post" action="har" target={downloadFrame()} onSubmit={() => setTimeout(onClose)}>
          {ids && <input type="hidden" name="ids" value={ids.join(',')} />}
          {(redact || headers.length > 0) && <input type="hidden" name="redact" value="1" />}
          {headers.map((h) => (
            <input key={h} type="hidden" name="redactHeader" value={h} />
          ))}
          <button type="submit" disabled={count === 0}>
            Export {count} exchange{count === 1 ? '' : 's'}
          </button>{' '}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </form>
      ) : (
        <SaveWithDialog
          ids={ids}
          redact={redact || headers.length > 0}
          headers={headers}
          count={count}
          onClose={onClose}
        />
      )}
    </Dialog>
  );
}

interface SaveProps {
  readonly ids: readonly number[] | undefined;
  readonly redact: boolean;
  readonly headers: readonly string[];
  readonly count: number;
  readonly onClose: () => void;
}

/** A hidden frame the export downloads land in: made once, never removed, so closing the dialog cancels nothing. */
function downloadFrame(): string {
  const name = 'sluice-har-download';
  if (!document.querySelector(`iframe[name="${name}"]`)) {
    const frame = document.createElement('iframe');
    frame.name = name;
    frame.hidden = true;
    frame.title = 'HAR download';
    document.body.append(frame);
  }
  return name;
}

/** The desktop app's way: the user picks a path in the system's save dialog and the host writes there. */
function SaveWithDialog({ ids, redact, headers, count, onClose }: SaveProps) {
  const host = useHost();
  const [state, setState] = useState<{ saving: boolean; message?: string; failed?: boolean }>({ saving: false });
  const save = async (): Promise<void> => {
    const path = await host.chooseFile({ purpose: 'har-save', suggestedName: harFileName(new Date()) });
    if (!path) return;
    setState({ saving: true });
    try {
      await host.call('har.export', {
        path,
        ...(ids ? { ids: [...ids] } : {}),
        redact,
        redactHeaders: [...headers],
      });
      // The user chose the path a moment ago; the file being there is the confirmation.
      onClose();
    } catch (err) {
      setState({ saving: false, failed: true, message: errorMessage(err) });
    }
  };
  return (
    <div>
      <button type="button" disabled={count === 0 || state.saving || !host.canChooseFiles} onClick={() => void save()}>
        Save {count} exchange{count === 1 ? '' : 's'}…
      </button>{' '}
      <button type="button" onClick={onClose}>
        Cancel
      </button>
      {state.message && (
        <p className={state.failed ? 'banner error' : 'muted'} role="status">
          {state.message}
        </p>
      )}
    </div>
  );
}
