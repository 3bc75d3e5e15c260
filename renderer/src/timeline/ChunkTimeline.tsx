/**
 * The chunk timeline of one body: every chunk at its read time with its size, the wait inside the
 * proxy up to its flush, gaps, backpressure pauses, first byte and end, and where RPC messages
 * ended. Drawn on a canvas by `TimelineController`, so 100,000 chunks are a few fills per frame and no React elements; React
 * renders only the frame around it, the hover tooltip and the text summary that assistive
 * technology and tests read.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { formatCount } from '../format.js';
import type { BodyView } from '../model/exchange.js';
import { hostNow } from '../store/host-clock.js';
import { TimelineController, describeBody, type HoverInfo, type SummaryInfo } from './timeline-controller.js';
import './timeline.css';

export interface ChunkTimelineProps {
  /** Its arrays grow in place; `revision` says when. */
  readonly body: BodyView;
  /** When the exchange opened (host time): the axis's zero. */
  readonly startedAt: number;
  /** When it closed; undefined while open, and the view follows the live edge. */
  readonly endedAt: number | undefined;
  /** The exchange's revision: bumped whenever the body's arrays changed. */
  readonly revision: number;
  /** The host clock, as a sample taken at render or a function; defaults to the store's host clock. */
  readonly now?: number | (() => number);
  /** "Response body", "Request body": names the timeline for people and screen readers. */
  readonly label?: string;
}

export function ChunkTimeline({ body, startedAt, endedAt, revision, now, label }: ChunkTimelineProps) {
  const plotRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const controllerRef = useRef<TimelineController | null>(null);
  const [hover, setHover] = useState<HoverInfo | undefined>(undefined);
  const [manual, setManual] = useState(false);
  // The controller keeps this current (throttled while live); the first render needs it at once.
  const [summary, setSummary] = useState<SummaryInfo>(() => describeBody(body, endedAt ?? sampleNow(now)));
  const id = useId();

  useEffect(() => {
    const plot = plotRef.current;
    const canvas = canvasRef.current;
    if (!plot || !canvas) return;
    const controller = new TimelineController(plot, canvas, {
      onHover: setHover,
      onModeChange: setManual,
      onSummary: setSummary,
    });
    controllerRef.current = controller;
    return () => {
      controller.dispose();
      controllerRef.current = null;
    };
  }, []);

  // `revision` is the signal that the arrays inside `body` changed; the controller coalesces redraws.
  useEffect(() => {
    controllerRef.current?.setSource({ body, startedAt, endedAt, now });
  }, [body, startedAt, endedAt, now, revision]);

  const live = endedAt === undefined;
  const name = label ?? (body.direction === 'request' ? 'Request body' : 'Response body');
  const counts = summary.summary;
  return (
    <section className="chunk-timeline" data-testid="chunk-timeline" data-direction={body.direction}>
      <header className="tl-header">
        <h3 className="tl-title">{name}</h3>
        <p
          id={`${id}-summary`}
          className="tl-summary"
          data-testid="timeline-summary"
          role="status"
          aria-live="polite"
          data-chunks={counts.chunks}
          data-bytes={counts.bytes}
          data-messages={counts.messages ?? 0}
          data-pauses={counts.pauses}
          data-paused-ms={Math.round(counts.pausedMs)}
        >
          {summary.text}
        </p>
        <button
          type="button"
          className="tl-fit"
          disabled={!manual}
          title={live ? 'Show the whole stream and follow new chunks (0)' : 'Show the whole body (0)'}
          onClick={() => controllerRef.current?.fit()}
        >
          {live ? 'Follow live' : 'Fit'}
        </button>
      </header>
      <div
        ref={plotRef}
        className="tl-plot"
        tabIndex={0}
        role="group"
        aria-roledescription="chunk timeline"
        aria-label={`${name} chunk timeline`}
        aria-describedby={`${id}-summary ${id}-help`}
        aria-keyshortcuts="+ - ArrowLeft ArrowRight Home End 0"
        data-mode={manual ? 'manual' : 'fit'}
      >
        <canvas ref={canvasRef} className="tl-canvas" aria-hidden="true" />
        {hover && (
          <div
            className={hover.flip ? 'tl-tooltip tl-flip' : 'tl-tooltip'}
            style={{ left: hover.x, top: hover.y }}
            aria-hidden="true"
          >
            {hover.text}
          </div>
        )}
      </div>
      <p id={`${id}-help`} className="visually-hidden">
        Wheel or plus and minus zoom, dragging or the arrow keys pan, Home and End jump, 0 shows everything.
      </p>
      {/* The canvas labels pauses only where they fit; this list has every one, in words. */}
      <ul className="visually-hidden" aria-label={`${name} backpressure pauses`}>
        {summary.pauses.map((text, i) => (
          <li key={i} data-testid="timeline-pause">
            {text}
          </li>
        ))}
        {summary.morePauses > 0 && <li>and {formatCount(summary.morePauses)} more pauses</li>}
      </ul>
    </section>
  );
}

function sampleNow(now: ChunkTimelineProps['now']): number {
  if (typeof now === 'function') return now();
  return now ?? hostNow();
}
