import type { LlmText } from './llm-text.js';

/** How an LLM stream performed, as its user would judge it. Each figure only when the stream allows it. */
export interface LlmMetrics {
  /** From the request's start to the first event that wrote anything (text, thinking or a tool call). */
  readonly timeToFirstTokenMs?: number;
  /** Output tokens: as the API reported them in its usage, else the events that wrote something. */
  readonly outputTokens?: number;
  readonly tokensFrom?: 'usage' | 'events';
  /** Output tokens per second over the writing, first written event to last. */
  readonly tokensPerSecond?: number;
  /** Gaps between written events: their median and 99th percentile (nearest rank). */
  readonly gapMedianMs?: number;
  readonly gapP99Ms?: number;
  /** The longest gap, and the event (0-based row) it ended with. */
  readonly longestStall?: { readonly ms: number; readonly beforeEvent: number };
}

/** The metrics of an assembled stream whose request started at `requestStart` (same clock as its events). */
export function llmMetrics(llm: LlmText, requestStart: number): LlmMetrics {
  const written = llm.written;
  const first = written[0];
  if (!first) return {};
  const last = written[written.length - 1]!;
  const reported = llm.usage?.output;
  const outputTokens = reported ?? written.length;
  const writingSeconds = (last.t - first.t) / 1000;
  const gaps: number[] = [];
  let longestStall: LlmMetrics['longestStall'];
  for (let i = 1; i < written.length; i++) {
    const ms = written[i]!.t - written[i - 1]!.t;
    gaps.push(ms);
    if (longestStall === undefined || ms > longestStall.ms) longestStall = { ms, beforeEvent: written[i]!.index };
  }
  gaps.sort((a, b) => a - b);
  return {
    timeToFirstTokenMs: first.t - requestStart,
    outputTokens,
    tokensFrom: reported === undefined ? 'events' : 'usage',
    ...(writingSeconds > 0 && { tokensPerSecond: outputTokens / writingSeconds }),
    ...(gaps.length > 0 && { gapMedianMs: median(gaps), gapP99Ms: nearestRank(gaps, 0.99) }),
    ...(longestStall && { longestStall }),
  };
}

function median(sorted: readonly number[]): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The smallest value with at least `fraction` of the values at or below it. */
function nearestRank(sorted: readonly number[], fraction: number): number {
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]!;
}
