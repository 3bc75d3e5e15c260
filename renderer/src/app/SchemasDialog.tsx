import { useState } from 'react';
import type { SchemaSource } from '../../../app/contract.js';
import { errorMessage } from '../../../app/error-message.js';
import { loadSchemas } from '../store/schemas.js';
import { useSluice } from '../store/store.js';
import { Dialog } from './Dialog.js';
import { HostList } from './HostList.js';
import { useHost } from './host-context.js';
import { AddSchemaFiles } from './SchemaActions.js';
import './schemas.css';

const KIND_WORDS: Record<SchemaSource['kind'], string> = {
  'proto-files': '.proto files',
  'descriptor-set': 'descriptor set',
  reflection: 'server reflection',
};

/**
 * The protobuf schemas gRPC, gRPC-Web and Connect messages are decoded with: each source (files
 * chosen here or given on the command line, a server's reflection) with the services it defines,
 * a way to remove one and to add files.
 */
export function SchemasDialog({ onClose }: { onClose: () => void }) {
  const held = useSluice((s) => s.schemas);
  const schemas = loadSchemas(held?.list);
  const sources = schemas?.sources ?? [];
  return (
    <Dialog title="Protobuf schemas" onClose={onClose}>
      <p className="muted">
        With a schema, gRPC, gRPC-Web and Connect messages show with field and enum names; without one, by field number.
        Choose .proto files together with the files they import (the well-known types are built in), or a descriptor set
        (<code>protoc --include_imports --descriptor_set_out</code>, <code>buf build -o</code>). A call&apos;s Messages
        tab can also ask its server by reflection. On the command line:{' '}
        <code>sluice --proto FILE --proto-path DIR</code>.
      </p>
      {schemas?.error !== undefined && (
        <p className="banner error" role="alert" data-testid="schemas-load-error">
          The schemas do not load in this page: {schemas.error}
        </p>
      )}
      <HostList
        loading={!schemas}
        empty={sources.length === 0}
        asking="Asking the host for its schemas…"
        none={{ text: 'No schemas yet.', testId: 'schemas-none' }}
        className="schema-sources"
        testId="schema-sources"
        columns={['Kind', 'From', 'Services', 'Files']}
        actions="Remove"
      >
        {sources.map((source) => (
          <SourceRow key={source.id} source={source} />
        ))}
      </HostList>
      <p>
        <AddSchemaFiles />
      </p>
      <p>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </p>
    </Dialog>
  );
}

function SourceRow({ source }: { source: SchemaSource }) {
  const host = useHost();
  const [state, setState] = useState<{ removing: boolean; error?: string }>({ removing: false });
  const remove = async (): Promise<void> => {
    setState({ removing: true });
    try {
      useSluice.getState().receiveSchemas(await host.call('schemas.remove', { sourceId: source.id }));
    } catch (err) {
      setState({ removing: false, error: errorMessage(err) });
    }
  };
  return (
    <tr data-testid="schema-source">
      <td>{KIND_WORDS[source.kind]}</td>
      <td className="schema-label">{source.label}</td>
      <td className="mono">
        {source.services.length === 0 ? (
          <span className="muted">none (types only)</span>
        ) : (
          source.services.map((service) => <div key={service}>{service}</div>)
        )}
      </td>
      <td className="num">{source.files}</td>
      <td>
        <button
          type="button"
          disabled={state.removing}
          aria-label={`Remove ${source.label}`}
          onClick={() => void remove()}
        >
          Remove
        </button>
        {state.error !== undefined && (
          <div className="schema-error" role="alert">
            {state.error}
          </div>
        )}
      </td>
    </tr>
  );
}
