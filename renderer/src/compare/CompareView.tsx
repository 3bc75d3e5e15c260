import { useMemo } from 'react';
import { displayId } from '../../../app/contract.js';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import type { ExchangeView } from '../model/exchange.js';
import { formatOffset, formatRate } from '../sse/sse-format.js';
import { OUTCOME_WORDS } from '../store/exchange-row.js';
import { niceTicks } from '../timeline/timeline-model.js';
import {
  compareRuns,
  eventPreview,
  laneMarks,
  markText,
  noticeable,
  NOTICEABLE_RATIO,
  rowWords,
  type CompareRow,
  type RowSide,
  type RunComparison,
  type RunSummary,
} from './compare-runs.js';
import './compare.css';

/** Rows drawn in the table; a longer stream says how many more there are rather than grow the DOM. */
export const MAX_TABLE_ROWS = 2000;
/** Columns a lane is bucketed into: about a pixel each in a typical pane, and never more marks than this. */
const LANE_COLUMNS = 600;
/** The width axis ticks are spaced for; the axis itself stretches, so labels are placed in %. */
const AXIS_NOMINAL_PX = 800;
const AXIS_TICK_SPACING_PX = 90;

export interface CompareViewProps {
  /** The earlier or "good" run; differences read A → B. */
  readonly a: ExchangeView;
  readonly b: ExchangeView;
}

/** Two exchanges side by side: what differs, both timelines on one axis, and the events aligned. */
export function CompareView({ a, b }: CompareViewProps) {
  // Arrays grow in place, so the revisions say when to compare again.
  const comparison = useMemo(() => compareRuns(a, b), [a, b, a.revision, b.revision]);
  return (
    <section className="compare-view" aria-label={`Compare #${displayId(a.id)} with #${displayId(b.id)}`}>
      <header className="compare-header">
        <RunLabel which="A" x={a} run={comparison.a} />
        <RunLabel which="B" x={b} run={comparison.b} />
      </header>
      <Differences lines={comparison.differences} />
      <SummaryTable comparison={comparison} />
      <Timelines comparison={comparison} />
      <EventsTable comparison={comparison} />
    </section>
  );
}

function RunLabel({ which, x, run }: { which: 'A' | 'B'; x: ExchangeView; run: RunSummary }) {
  const state = run.open ? 'open' : run.outcome === undefined ? '' : OUTCOME_WORDS[run.outcome];
  return (
    <div className={`compare-run compare-run-${which.toLowerCase()}`}>
      <span className="compare-badge">{which}</span>
      <span className="compare-run-id muted">#{displayId(x.id)}</span>
      <span className="mono">{x.opened.request.method}</span>
      <span className="compare-url mono" title={x.opened.request.url}>
        {x.opened.request.url}
      </span>
      {run.status !== undefined && <span className="mono">{run.status}</span>}
      {state && <span className="muted">{state}</span>}
    </div>
  );
}

function Differences({ lines }: { lines: readonly string[] }) {
  return (
    <section className="compare-differences" aria-label="Differences">
      <h3>Differences</h3>
      <ul data-testid="compare-differences">
        {lines.length === 0 ? (
          <li className="compare-no-differences">No differences</li>
        ) : (
          lines.map((line, i) => <li key={i}>{line}</li>)
        )}
      </ul>
    </section>
  );
}

function SummaryTable({ comparison }: { comparison: RunComparison }) {
  const { a, b, noun } = comparison;
  const duration = (ms: number | undefined) => (ms === undefined ? '—' : formatDuration(ms));
  const gap = (run: RunSummary) =>
    run.longestGap === undefined
      ? '—'
      : `${formatDuration(run.longestGap.end - run.longestGap.start)} before ${noun} ${formatCount(run.longestGap.beforeIndex + 1)}`;
  const pauses = (run: RunSummary) =>
    run.pauses.length === 0 ? 'none' : `${formatCount(run.pauses.length)}, ${formatDuration(run.pausedMs)}`;
  // Marked as differing by the same measure the differences list uses: timings only when noticeably apart.
  const times = (of: (run: RunSummary) => number | undefined) => (): boolean => {
    const [x, y] = [of(a), of(b)];
    return x === undefined || y === undefined ? x !== y : noticeable(x, y);
  };
  const rates = (): boolean =>
    a.rate === undefined || b.rate === undefined
      ? a.rate !== b.rate
      : Math.max(a.rate, b.rate) >= Math.min(a.rate, b.rate) * NOTICEABLE_RATIO;
  const measures: [string, (run: RunSummary) => string, (() => boolean) | undefined][] = [
    ['Response head after', (run) => duration(run.responseHead), times((run) => run.responseHead)],
    [`First ${noun} after`, (run) => duration(run.firstEvent), times((run) => run.firstEvent)],
    ['Duration', (run) => `${formatDuration(run.duration)}${run.open ? ' so far' : ''}`, times((run) => run.duration)],
    [`${capitalize(noun)}s`, (run) => formatCount(run.count), undefined],
    ['Bytes', (run) => formatBytes(run.bytes), undefined],
    ['Rate', (run) => (run.rate === undefined ? '—' : `${formatRate(run.rate)} ${noun}s/s`), rates],
    ['Longest gap', gap, times((run) => run.longestGap && run.longestGap.end - run.longestGap.start)],
    ['Backpressure pauses', pauses, times((run) => run.pausedMs)],
  ];
  return (
    <table className="compare-summary" data-testid="compare-summary">
      <thead>
        <tr>
          <th scope="col" />
          <th scope="col">A</th>
          <th scope="col">B</th>
        </tr>
      </thead>
      <tbody>
        {measures.map(([name, show, differs]) => {
          const [textA, textB] = [show(a), show(b)];
          const marked = differs ? differs() : textA !== textB;
          return (
            <tr key={name} className={marked ? 'compare-summary-differs' : undefined}>
              <th scope="row">{name}</th>
              <td>{textA}</td>
              <td>{textB}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Timelines({ comparison }: { comparison: RunComparison }) {
  const { spanMs } = comparison;
  const ticks = useMemo(
    () => niceTicks({ startMs: 0, endMs: spanMs, widthPx: AXIS_NOMINAL_PX }, AXIS_TICK_SPACING_PX),
    [spanMs],
  );
  return (
    <figure className="compare-timeline" data-testid="compare-timeline">
      <Lane which="A" run={comparison.a} comparison={comparison} />
      <Lane which="B" run={comparison.b} comparison={comparison} />
      <div className="compare-axis" aria-hidden="true">
        {ticks.map((tick) => (
          <span key={tick.ms} className="compare-axis-tick" style={{ left: percent(tick.ms, spanMs) }}>
            {tick.label}
          </span>
        ))}
      </div>
      <figcaption className="compare-scale muted">
        Time since each request arrived, 0 to {formatDuration(spanMs)}, one scale for both rows
      </figcaption>
    </figure>
  );
}

function Lane({ which, run, comparison }: { which: 'A' | 'B'; run: RunSummary; comparison: RunComparison }) {
  const { spanMs, rows, noun } = comparison;
  const marks = useMemo(() => laneMarks(run.events, rows, spanMs, LANE_COLUMNS), [run.events, rows, spanMs]);
  const gap = run.longestGap;
  return (
    <div className="compare-lane">
      <span className="compare-badge">{which}</span>
      <div className="compare-track">
        {run.pauses.map((pause, i) => (
          <span
            key={`p${i}`}
            className="compare-pause"
            style={{ left: percent(pause.start, spanMs), width: percent(pause.end - pause.start, spanMs) }}
            title={`backpressure pause: ${formatDuration(pause.end - pause.start)} from +${formatDuration(pause.start)}`}
          />
        ))}
        {gap && (
          <span
            className="compare-gap"
            style={{ left: percent(gap.start, spanMs), width: percent(gap.end - gap.start, spanMs) }}
            title={`longest gap: ${formatDuration(gap.end - gap.start)} before ${noun} ${formatCount(gap.beforeIndex + 1)}`}
          />
        )}
        {run.responseHead !== undefined && (
          <span
            className="compare-head-mark"
            style={{ left: percent(run.responseHead, spanMs) }}
            title={`response head at +${formatDuration(run.responseHead)}`}
          />
        )}
        {marks.map((mark) => (
          <span
            key={mark.first}
            className={mark.differs ? 'compare-tick compare-tick-differs' : 'compare-tick'}
            style={{ left: percent(mark.t, spanMs) }}
            title={markText(mark, noun)}
          />
        ))}
        {!run.open && (
          <span
            className="compare-end-mark"
            style={{ left: percent(run.duration, spanMs) }}
            title={`ended at +${formatDuration(run.duration)}`}
          />
        )}
      </div>
    </div>
  );
}

function EventsTable({ comparison }: { comparison: RunComparison }) {
  const { rows, noun } = comparison;
  const shown = rows.length > MAX_TABLE_ROWS ? rows.slice(0, MAX_TABLE_ROWS) : rows;
  return (
    <div className="compare-table-wrap">
      <table className="compare-table" data-testid="compare-table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col" />
            <th scope="col">A at</th>
            <th scope="col">A gap</th>
            <th scope="col">A {noun}</th>
            <th scope="col">B at</th>
            <th scope="col">B gap</th>
            <th scope="col">B {noun}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <Row key={row.index} row={row} />
          ))}
        </tbody>
      </table>
      {rows.length > shown.length && (
        <p className="compare-more muted">
          Showing the first {formatCount(shown.length)} of {formatCount(rows.length)} {noun}s;{' '}
          {formatCount(rows.length - shown.length)} more not shown.
        </p>
      )}
      {rows.length === 0 && <p className="compare-more muted">Neither run has any {noun}s.</p>}
    </div>
  );
}

function Row({ row }: { row: CompareRow }) {
  const className = `compare-row compare-${row.kind}${row.stall ? ' compare-stall' : ''}`;
  return (
    <tr className={className} data-kind={row.kind}>
      <td className="compare-index">{formatCount(row.index + 1)}</td>
      <td className="compare-kind">{rowWords(row)}</td>
      <Side side={row.a} stall={row.stall} />
      <Side side={row.b} stall={row.stall} />
    </tr>
  );
}

function Side({ side, stall }: { side: RowSide | undefined; stall: boolean }) {
  if (!side) {
    return (
      <>
        <td className="compare-time" />
        <td className="compare-time" />
        <td className="compare-data muted">—</td>
      </>
    );
  }
  const preview = eventPreview(side.event);
  return (
    <>
      <td className="compare-time">{formatOffset(side.event.t)}</td>
      <td className={stall ? 'compare-time compare-gap-differs' : 'compare-time'}>
        {side.gap === undefined ? '' : formatDuration(side.gap)}
      </td>
      <td className="compare-data" title={preview}>
        {side.event.tag && <span className="compare-tag muted">{side.event.tag} </span>}
        {preview}
      </td>
    </>
  );
}

/** A share of the axis as a CSS length, rounded so float noise stays out of the style attribute. */
function percent(ms: number, spanMs: number): string {
  const share = Math.max(0, Math.min(100, (ms / spanMs) * 100));
  return `${Math.round(share * 1000) / 1000}%`;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
