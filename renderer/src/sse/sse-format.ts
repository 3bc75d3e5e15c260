import { formatCount } from '../format.js';

/**
 * Text for the SSE view's cells that is particular to it ("+1.234 s" offsets, chunk ranges, data
 * previews). Durations and counts use the app-wide formats in `renderer/src/format.ts`.
 */

/** Time since the request started, always in seconds so a column of them lines up: "+1.234 s". */
export function formatOffset(ms: number): string {
  return `${ms < 0 ? '−' : '+'}${(Math.abs(ms) / 1000).toFixed(3)} s`;
}

/** Events per second with sensible precision: "0.25", "8.4", "1,250". */
export function formatRate(perSecond: number): string {
  if (perSecond < 1) return perSecond.toFixed(2);
  if (perSecond < 100) return perSecond.toFixed(1);
  return formatCount(Math.round(perSecond));
}

/** The network chunk(s) an event arrived in: "#12" or "#12–#14". */
export function formatChunkRange(range: readonly [number, number] | undefined): string {
  if (!range) return '';
  const [first, last] = range;
  return first === last ? `#${first}` : `#${first}–#${last}`;
}

/** Longest preview a one-line cell gets; the cell clips it anyway, and huge data would slow layout. */
const PREVIEW_CHARS = 240;

/** Event data on one line: line breaks shown as ⏎, cut to what a cell can show. */
export function previewData(data: string): string {
  const head = data.length > PREVIEW_CHARS ? `${data.slice(0, PREVIEW_CHARS)}…` : data;
  return head.replace(/\r?\n/g, ' ⏎ ');
}

/** Pretty-printing a very large document would stall the page; show it as sent instead. */
const PRETTY_MAX_CHARS = 2_000_000;

/** Data indented as JSON when it parses as an object or array, otherwise as sent. */
export function prettyData(data: string): { readonly text: string; readonly json: boolean } {
  const trimmed = data.trim();
  const looksJson = trimmed.startsWith('{') || trimmed.startsWith('[');
  if (looksJson && data.length <= PRETTY_MAX_CHARS) {
    try {
      return { text: JSON.stringify(JSON.parse(trimmed), null, 2), json: true };
    } catch {
      // Not JSON after all: fall through to the raw text.
    }
  }
  return { text: data, json: false };
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}
