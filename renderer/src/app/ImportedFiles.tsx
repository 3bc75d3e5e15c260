import { useMemo, useRef, useState } from 'react';
import { filterIds, importedFiles, NO_FILTER, type SourceFilter } from '../store/filter.js';
import { useSluice } from '../store/store.js';
import { Dialog } from './Dialog.js';
import { useHost } from './host-context.js';
import { useCommand } from './use-command.js';

/**
 * The names of the HAR files the exchanges in the store came from, recomputed when the list
 * changes; the same array while they stay the same, so rows given labels made from it need not
 * render again for every new exchange.
 */
export function useImportedFiles(): readonly string[] {
  const listRevision = useSluice((s) => s.listRevision);
  const previous = useRef<readonly string[]>([]);
  return useMemo(() => {
    const { traffic } = useSluice.getState();
    const files = importedFiles(traffic.order, traffic.exchanges);
    if (!sameNames(files, previous.current)) previous.current = files;
    return previous.current;
    // listRevision stands for the mutable traffic it describes.
  }, [listRevision]);
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/** The file an imported exchange came from, for its row: a document icon and a label (see `fileLabels`). */
export function ImportedFromBadge({ file, label }: { file: string; label: string }) {
  return (
    <span className="imported-from" title={`imported from ${file}`} data-testid="imported-from">
      <DocumentIcon />
      <span className="imported-name">{label}</span>
    </span>
  );
}

function DocumentIcon() {
  return (
    <svg className="document-icon" viewBox="0 0 10 12" width="10" height="12" aria-hidden="true">
      <path d="M1 .5h5l3 3v8H1zM6 .5v3h3" fill="none" stroke="currentColor" />
    </svg>
  );
}

/** A select's value for a source; files are prefixed so a file named `live` stays a file. */
function sourceValue(source: SourceFilter): string {
  return typeof source === 'string' ? source : `file:${source.file}`;
}

function parseSource(value: string): SourceFilter {
  return value === 'all' || value === 'live' ? value : { file: value.slice('file:'.length) };
}

/**
 * Where the list's exchanges come from: all, live traffic only, or one imported file. The chosen
 * file stays a choice after its exchanges are gone (removed in another window), so the select
 * always says what the filter is.
 */
export function SourceSelect({ files }: { files: readonly string[] }) {
  const source = useSluice((s) => s.filter.source);
  const setFilter = useSluice((s) => s.setFilter);
  const choices = typeof source === 'object' && !files.includes(source.file) ? [...files, source.file] : files;
  return (
    <label>
      Source{' '}
      <select
        className="source-select"
        aria-label="Filter by source"
        value={sourceValue(source)}
        onChange={(e) => setFilter({ source: parseSource(e.target.value) })}
      >
        <option value="all">all</option>
        <option value="live">live</option>
        {choices.map((file) => (
          <option key={file} value={sourceValue({ file })}>
            {file}
          </option>
        ))}
      </select>
    </label>
  );
}

/** "Remove <file>…": asks, then has the host forget the file's exchanges in every window. */
export function RemoveImportedButton({ file }: { file: string }) {
  const [confirming, setConfirming] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setConfirming(true)} title={`Remove the exchanges imported from ${file}`}>
        Remove {file}…
      </button>
      {confirming && <RemoveImportedDialog file={file} onClose={() => setConfirming(false)} />}
    </>
  );
}

function RemoveImportedDialog({ file, onClose }: { file: string; onClose: () => void }) {
  const host = useHost();
  const run = useCommand();
  const setFilter = useSluice((s) => s.setFilter);
  const listRevision = useSluice((s) => s.listRevision);
  const ids = useMemo(() => {
    const { traffic } = useSluice.getState();
    return filterIds(traffic.order, traffic.exchanges, { ...NO_FILTER, source: { file } });
    // listRevision stands for the mutable traffic it describes.
  }, [file, listRevision]);
  const count = `${ids.length} exchange${ids.length === 1 ? '' : 's'}`;

  const remove = (): void => {
    onClose();
    run(async () => {
      await host.call('exchanges.remove', { ids });
      // The file is no choice any more; showing nothing would look like a failure.
      setFilter({ source: 'all' });
    });
  };

  return (
    <Dialog title={`Remove ${file}`} onClose={onClose}>
      <p>
        Remove the {count} imported from {file} from Sluice, in every window? The file itself is not touched; import it
        again to bring them back.
      </p>
      <button type="button" onClick={remove} disabled={ids.length === 0}>
        Remove {count}
      </button>{' '}
      <button type="button" onClick={onClose}>
        Cancel
      </button>
    </Dialog>
  );
}
