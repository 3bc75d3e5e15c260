import { useMemo } from 'react';
import { CopyButton } from '../app/CopyButton.js';
import { formatCount } from '../format.js';
import { formatChunkRange, formatOffset, prettyData } from './sse-format.js';
import type { StreamEventRow } from './stream-events.js';

export interface EventDetailProps {
  readonly row: StreamEventRow;
  /** Exchange start (`opened.t`). */
  readonly start: number;
  readonly onClose: () => void;
}

/**
 * One event's data in full, below the table rather than inline, so table rows keep the one
 * height virtualisation relies on. JSON is indented; anything else is shown as sent.
 */
export function EventDetail({ row, start, onClose }: EventDetailProps) {
  const pretty = useMemo(() => prettyData(row.data), [row]);
  const chunks = formatChunkRange(row.chunkRange);
  return (
    <section className="live-detail" aria-label={`Event ${row.index}`} data-testid="sse-detail">
      <header className="live-detail-head">
        <span>
          Event {row.index}
          {row.event !== undefined && ` · ${row.event}`}
          {row.eventId !== undefined && ` · id ${row.eventId}`}
          {` · ${formatOffset(row.t - start)}`}
          {chunks && ` · chunk ${chunks}`}
          {` · ${pretty.json ? 'JSON' : 'text'}, ${formatCount(row.data.length)} chars`}
        </span>
        {/* As sent, not as indented here: one line of NDJSON stays one line. */}
        <CopyButton text={row.data} label="Copy event data" title="Copy the data as the stream sent it" />
        <button type="button" className="live-close" onClick={onClose} aria-label="Close event data">
          ×
        </button>
      </header>
      <pre className="live-detail-body">{pretty.text}</pre>
    </section>
  );
}
