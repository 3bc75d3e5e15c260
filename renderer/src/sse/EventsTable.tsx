import { formatDuration } from '../format.js';
import type { LiveColumn } from '../live-table/column-fit.js';
import { HeaderCell, LiveTable } from '../live-table/LiveTable.js';
import { rowAt, selectionThrough, type RowIndices } from '../live-table/row-filter.js';
import { useLiveTable } from '../live-table/use-live-table.js';
import { formatChunkRange, formatOffset, previewData } from './sse-format.js';
import { gapBefore } from './stats.js';
import { RuleMark } from '../live-table/RuleMark.js';
import type { StreamEventRow } from './stream-events.js';
import type { ContributionPart, EventContribution } from './llm-text.js';

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
  /**
   * For an LLM stream, what each event added (by position in `rows`): shown in place of the data,
   * so the table reads like the answer being typed. The data stays in the event's detail.
   */
  readonly contributions?: readonly (EventContribution | undefined)[] | undefined;
  /** Characters every event's data starts with, left out of the data column (shown as `…`). */
  readonly sharedPrefix?: number;
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
/** The columns by name, for the widths the user drags them to (kept for every events table). */
const SSE_NAMES = ['#', 'id', 'event', 'data', 'time', 'gap', 'chunk'];
const LINE_NAMES = ['#', 'data', 'time', 'gap', 'chunk'];
const SSE_RESIZE = { key: 'sluice.columns.events', names: SSE_NAMES };
const LINE_RESIZE = { key: 'sluice.columns.events', names: LINE_NAMES };

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
    resizable: sseFields ? SSE_RESIZE : LINE_RESIZE,
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
        <DataCell
          row={row}
          contribution={props.contributions?.[i]}
          llm={props.contributions !== undefined}
          skip={props.sharedPrefix ?? 0}
        />
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
          <HeaderCell table={table} name="#" className="live-num">
            #
          </HeaderCell>
          {sseFields && (
            <>
              <HeaderCell table={table} name="id">
                id
              </HeaderCell>
              <HeaderCell table={table} name="event">
                event
              </HeaderCell>
            </>
          )}
          {props.contributions ? (
            <span
              role="columnheader"
              className="live-cell"
              title="What each event added to the answer: text, thinking, a tool call and its arguments, usage, the stop reason. The event's data is in its detail."
            >
              contributed
            </span>
          ) : (
            <span role="columnheader" className="live-cell">
              data
            </span>
          )}
          <HeaderCell table={table} name="time" className="live-num" title="Time since the request started">
            time
          </HeaderCell>
          <HeaderCell table={table} name="gap" className="live-num" title="Time since the previous event">
            gap
          </HeaderCell>
          <HeaderCell table={table} name="chunk" className="live-num" title="Network chunk(s) the event arrived in">
            chunk
          </HeaderCell>
        </>
      }
    >
      {renderedRows}
    </LiveTable>
  );
}

/**
 * The data column: for an LLM stream what the event added (its raw data, muted, when it added
 * nothing), else the data, less the start every event shares. The whole data shows on hover.
 */
function DataCell({
  row,
  contribution,
  llm,
  skip,
}: {
  row: StreamEventRow;
  contribution: EventContribution | undefined;
  llm: boolean;
  skip: number;
}) {
  const title = row.data.length > 200 ? `${row.data.slice(0, 200)}…` : row.data;
  if (llm && contribution) {
    return (
      <span role="gridcell" className="live-cell live-data contrib" title={title}>
        {contribution.map((part, i) => (
          <ContributionText key={i} part={part} />
        ))}
      </span>
    );
  }
  const shown = skip > 0 && row.data.length > skip ? `…${row.data.slice(skip)}` : row.data;
  return (
    <span role="gridcell" className={`live-cell live-data${llm ? ' muted' : ''}`} title={title}>
      {previewData(shown)}
    </span>
  );
}

const PART_LABELS: Partial<Record<ContributionPart['kind'], string>> = {
  thinking: 'thinking',
  tool: 'tool',
  args: 'args',
  usage: 'usage',
  stop: 'stop',
  error: 'error',
};

/** A text delta as it was written (spaces kept, line breaks shown); any other part with its label. */
function ContributionText({ part }: { part: ContributionPart }) {
  const label = PART_LABELS[part.kind];
  const text = part.text.replace(/\r?\n/g, '⏎');
  return (
    <span className={`contrib-part contrib-${part.kind}`} data-kind={part.kind}>
      {label !== undefined && <span className="contrib-label">{label}</span>}
      {text}
    </span>
  );
}
