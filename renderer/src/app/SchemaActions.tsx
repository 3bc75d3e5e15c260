import { useRef, useState } from 'react';
import type { SchemaList, SchemaSource } from '../../../app/contract.js';
import { errorMessage } from '../../../app/error-message.js';
import { useSluice } from '../store/store.js';
import { useHost } from './host-context.js';
import { readSchemaFiles, SCHEMA_FILE_ACCEPT } from './schema-files.js';
import './schemas.css';

/**
 * The two ways to give Sluice a protobuf schema from the page: files chosen here (the desktop app
 * and a browser alike use the page's file input, and the bytes go to the host), or a server's
 * reflection asked about one captured call. Each shows its progress and, plainly, why it failed.
 */

type Progress =
  | { readonly state: 'idle' }
  | { readonly state: 'busy' }
  | { readonly state: 'done'; readonly added: string }
  | { readonly state: 'failed'; readonly error: string };

const IDLE: Progress = { state: 'idle' };

/** Runs a schemas command, hands its list to the store, and says how it went. */
function useSchemaCommand(): [Progress, (command: () => Promise<SchemaList>) => Promise<void>] {
  const [progress, setProgress] = useState<Progress>(IDLE);
  const run = async (command: () => Promise<SchemaList>): Promise<void> => {
    setProgress({ state: 'busy' });
    try {
      const list = await command();
      useSluice.getState().receiveSchemas(list);
      // A new source is listed last.
      setProgress({ state: 'done', added: addedWords(list.sources.at(-1)) });
    } catch (err) {
      setProgress({ state: 'failed', error: errorMessage(err) });
    }
  };
  return [progress, run];
}

/** "Add .proto or descriptor files…": a file picker, several files at once, added as one source. */
export function AddSchemaFiles({ label = 'Add .proto or descriptor files…' }: { label?: string }) {
  const host = useHost();
  const input = useRef<HTMLInputElement>(null);
  const [progress, run] = useSchemaCommand();
  const add = (files: File[]): void => {
    void run(async () => host.call('schemas.add', { files: await readSchemaFiles(files) }));
  };
  return (
    <span className="schema-action">
      <button
        type="button"
        disabled={progress.state === 'busy'}
        title="Choose .proto files (with the files they import) or a descriptor set (protoc --descriptor_set_out, buf build -o)"
        onClick={() => input.current?.click()}
      >
        {label}
      </button>
      <input
        ref={input}
        type="file"
        multiple
        accept={SCHEMA_FILE_ACCEPT}
        hidden
        data-testid="schema-files-input"
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          if (files.length > 0) add(files);
        }}
      />
      <ProgressNote progress={progress} busy="Loading the files…" failed="These files were not added" />
    </span>
  );
}

/** "Ask the server (reflection)": the host asks the server of call `id` for its schema. */
export function AskServerForSchema({ id, server }: { id: number; server: string }) {
  const host = useHost();
  const [progress, run] = useSchemaCommand();
  return (
    <span className="schema-action">
      <button
        type="button"
        disabled={progress.state === 'busy'}
        title={`Sluice asks ${server} for its schema by gRPC server reflection, with this call's authorization`}
        onClick={() => void run(() => host.call('schemas.reflect', { id }))}
      >
        Ask the server (reflection)
      </button>
      <ProgressNote
        progress={progress}
        busy={`Asking ${server} for its schema…`}
        failed="The server did not give its schema"
      />
    </span>
  );
}

/** "Added forecast.proto, units.proto: sluice.demo.v1.Forecasts." */
function addedWords(source: SchemaSource | undefined): string {
  if (!source) return 'Added.';
  const services = source.services.length > 0 ? source.services.join(', ') : 'no services, types only';
  return `Added ${source.label}: ${services}.`;
}

function ProgressNote({ progress, busy, failed }: { progress: Progress; busy: string; failed: string }) {
  if (progress.state === 'busy') {
    return (
      <span className="muted schema-progress" role="status" data-testid="schema-progress">
        {busy}
      </span>
    );
  }
  if (progress.state === 'done') {
    return (
      <span className="muted" role="status" data-testid="schema-added">
        {progress.added}
      </span>
    );
  }
  if (progress.state === 'failed') {
    return (
      <span className="schema-error" role="alert" data-testid="schema-error">
        {failed}: {progress.error}
      </span>
    );
  }
  return null;
}
