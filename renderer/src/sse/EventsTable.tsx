import { formatDuration } from '../format.js';
import type { LiveColumn } from '../live-table/column-fit.js';
import { LiveTable } from '../live-table/LiveTable.js';
import { rowAt, selectionThrough, type RowIndices } from '../live-table/row-filter.js';
import { useLiveTable } from '../live-table/use-live-table.js';
import { formatChunkRange, formatOffset, previewData } from './sse-format.js';
import { gapBefore } from './stats.js';
import { RuleMark } from '../live-table/RuleMark.js';
import type { StreamEventRow } from './stream-events.js';

export interface EventsTableProps {
  /** Append-only; `count` is passed separately because the array grows in place. */
  readonly rows: readonly StreamEventRow[];
  readonly count: number;
  /** The rows the filter lets through, or undefined for all. */
  readonly indices: RowIndices;
  /** Exchange start (`opened.t`): the zero of the time column. */
  readonly start: number;
  /** Unique per exchange, for element ids. */
  readonly idPrefix: string;
  /** Index into `rows`, whether or not the filter shows it. */
  readonly selected: number | undefined;
  readonly expanded: boolean;
  readonly onSelect: (index: number, expanded: boolean) => void;
  /** The table is hidden (another tab shows) but kept mounted so its scroll state survives. */
  readonly active: boolean;
  /** Follow new events from the start (a live stream) or show the beginning (a finished one). */
  readonly followInitially: boolean;
  /** Show the SSE `id` and `event` columns; NDJSON lines have neither. */
  readonly sseFields: boolean;
  /** Events a stream rule put in or changed, by row index: what it did, in words. */
  readonly ruleMarks?: ReadonlyMap<number, string>;
}

const DATA: LiveColumn = { track: 'minmax(0, 1fr)' };
/** Event names and ids can be anything a server chose; past this they give way to the data. */
const NAME_MOST = '24em';
/** time, gap, chunk: as wide as their widest value (or header), the rest of the row goes to the data. */
const TIMES: readonly LiveColumn[] = [{ least: '3em' }, { least: '3em' }, { least: '3em' }];
const INDEX: LiveColumn = { least: '2em' };
/** #, id, event, data, time, gap, chunk. */
const SSE_COLUMNS: readonly LiveColumn[] = [
  INDEX,
  { least: '2em', most: NAME_MOST },
  { least: '4em', most: NAME_MOST },
  DATA,
  ...TIMES,
];
/** #, data, time, gap, chunk: NDJSON lines have no id or event. */
const LINE_COLUMNS: readonly LiveColumn[] = [INDEX, DATA, ...TIMES];

/**
 * The events as a virtualised grid: only the rows in view are in the DOM, so a 100,000-event
 * stream scrolls and updates as cheaply as a short one. Keyboard: ↑/↓, Page Up/Down, Home/End
 * move the selection (End also follows new events again), Enter or Space opens or closes the
 * selected event's data, Escape closes it.
 */
export function EventsTable(props: EventsTableProps) {
  const { rows, indices, start, sseFields } = props;
  const table = useLiveTable({
    ...props,
    ...selectionThrough(indices, props),
    columns: sseFields ? SSE_COLUMNS : LINE_COLUMNS,
  });

  const renderedRows = [];
  for (let position = table.view.start; position < table.view.end; position++) {
    const i = rowAt(indices, position);
    const row = rows[i];
    if (!row) continue;
    // The gap to the event before in the stream, shown or not: it is the stream's timing.
    const gap = gapBefore(rows, i);
    const mark = props.ruleMarks?.get(row.index);
    renderedRows.push(
      <div key={i} {...table.rowProps(position)} data-testid="sse-row" data-rule-mark={mark}>
        <span role="gridcell" className="live-cell live-num">
          <RuleMark mark={mark} />
          {mark !== undefined && ' '}
          {row.index}
        </span>
        {sseFields && (
          <>
            <span role="gridcell" className="live-cell sse-id" title={row.eventId}>
              {row.eventId}
            </span>
            <span role="gridcell" className="live-cell sse-event" title={row.event}>
              {row.event}
            </span>
          </>
        )}
        <span role="gridcell" className="live-cell live-data">
          {previewData(row.data)}
        </span>
        <span role="gridcell" className="live-cell live-num">
          {formatOffset(row.t - start)}
        </span>
        <span role="gridcell" className="live-cell live-num">
          {gap === undefined ? '' : formatDuration(gap)}
        </span>
        <span role="gridcell" className="live-cell live-num">
          {formatChunkRange(row.chunkRange)}
        </span>
      </div>,
    );
  }

  return (
    <LiveTable
      table={table}
      label="Stream events"
      hidden={!props.active}
      header={
        <>
          <span role="columnheader" className="live-cell live-num">
            #
          </span>
          {sseFields && (
            <>
              <span role="columnheader" className="live-cell">
                id
              </span>
              <span role="columnheader" className="live-cell">
                event
              </span>
            </>
          )}
          <span role="columnheader" className="live-cell">
            data
          </span>
          <span role="columnheader" className="live-cell live-num" title="Time since the request started">
            time
          </span>
          <span role="columnheader" className="live-cell live-num" title="Time since the previous event">
            gap
          </span>
          <span role="columnheader" className="live-cell live-num" title="Network chunk(s) the event arrived in">
            chunk
          </span>
        </>
      }
    >
      {renderedRows}
    </LiveTable>
  );
}
