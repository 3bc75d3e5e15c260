import type { ChangeEvent } from 'react';
import { useSluice } from '../store/store.js';
import type { StatusFilter } from '../store/filter.js';
import { PROTOCOL_LABELS, TYPE_WORDS, type TypeCategory } from '../store/exchange-row.js';
import { bodySearchText, useBodySearch } from './use-body-search.js';
import { RemoveImportedButton, SourceSelect } from './ImportedFiles.js';

const STATUSES: readonly StatusFilter[] = ['all', '2xx', '3xx', '4xx', '5xx', '1xx', 'failed', 'pending'];
const TYPES: readonly (TypeCategory | 'all' | 'llm')[] = [
  'all',
  'llm',
  'sse',
  'ndjson',
  'eventstream',
  'grpc',
  'json',
  'html',
  'js',
  'css',
  'image',
  'text',
  'binary',
  'websocket',
  'tunnel',
  'none',
];

interface FilterBarProps {
  readonly shown: number;
  readonly total: number;
  /** The imported HAR files present, for the source filter; none hides it unless it is set. */
  readonly files: readonly string[];
}

export function FilterBar({ shown, total, files }: FilterBarProps) {
  const filter = useSluice((s) => s.filter);
  const setFilter = useSluice((s) => s.setFilter);
  const bodySearch = bodySearchText(useBodySearch());
  const text = (key: 'text' | 'host') => (e: ChangeEvent<HTMLInputElement>) => setFilter({ [key]: e.target.value });

  return (
    <div className="filter-bar" role="search">
      <input
        type="search"
        placeholder="Filter: method, URL, status, headers"
        aria-label="Filter by text"
        value={filter.text}
        onChange={text('text')}
        style={{ minWidth: 260 }}
      />
      <label title="Also look for the text inside request and response bodies (decoded)">
        <input type="checkbox" checked={filter.inBodies} onChange={(e) => setFilter({ inBodies: e.target.checked })} />{' '}
        in bodies
      </label>
      {bodySearch && (
        <span className="muted" role="status" data-testid="body-search-status">
          {bodySearch}
        </span>
      )}
      <input type="search" placeholder="Host" aria-label="Filter by host" value={filter.host} onChange={text('host')} />
      <label>
        Status{' '}
        <select
          aria-label="Filter by status"
          value={filter.status}
          onChange={(e) => setFilter({ status: e.target.value as StatusFilter })}
        >
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Type{' '}
        <select
          aria-label="Filter by content type"
          value={filter.type}
          onChange={(e) => setFilter({ type: e.target.value as TypeCategory | 'all' | 'llm' })}
        >
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {TYPE_WORDS[t] ?? t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Protocol{' '}
        <select
          aria-label="Filter by protocol"
          value={filter.protocol}
          onChange={(e) => setFilter({ protocol: e.target.value })}
        >
          {['all', ...PROTOCOL_LABELS].map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          checked={filter.streamingOnly}
          onChange={(e) => setFilter({ streamingOnly: e.target.checked })}
        />{' '}
        Streaming only
      </label>
      {(files.length > 0 || filter.source !== 'all') && <SourceSelect files={files} />}
      {typeof filter.source === 'object' && <RemoveImportedButton file={filter.source.file} />}
      <span className="muted" data-testid="row-count">
        {shown === total ? `${total} exchange${total === 1 ? '' : 's'}` : `${shown} of ${total} exchanges`}
      </span>
    </div>
  );
}
