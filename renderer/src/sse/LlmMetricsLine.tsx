import { useMemo } from 'react';
import { formatCount, formatDuration } from '../format.js';
import { llmMetrics } from './llm-metrics.js';
import { usageCounts, type LlmText } from './llm-text.js';

/**
 * How the answer came, in one line above it: time to first token, rate, gaps and the longest
 * stall, then what the API said of itself (model, why it stopped, token counts).
 */
export function LlmMetricsLine({ llm, requestStart }: { llm: LlmText; requestStart: number }) {
  // `llm` is a new object whenever the stream added anything: other renders cost nothing here.
  const m = useMemo(() => llmMetrics(llm, requestStart), [llm, requestStart]);
  const items: [label: string, value: string, title?: string][] = [];
  if (m.timeToFirstTokenMs !== undefined)
    items.push(['first token', formatDuration(m.timeToFirstTokenMs), 'From the request’s start']);
  if (m.tokensPerSecond !== undefined) {
    const source = m.tokensFrom === 'usage' ? 'tokens the API counted' : 'events that wrote (no usage reported)';
    items.push(['rate', `${m.tokensPerSecond.toFixed(1)} tokens/s`, `${formatCount(m.outputTokens ?? 0)} ${source}`]);
  }
  if (m.gapMedianMs !== undefined && m.gapP99Ms !== undefined)
    items.push(['gap', `${formatDuration(m.gapMedianMs)} median, ${formatDuration(m.gapP99Ms)} p99`]);
  if (m.longestStall)
    items.push(['longest stall', `${formatDuration(m.longestStall.ms)} before event ${m.longestStall.beforeEvent}`]);
  if (llm.model) items.push(['model', llm.model]);
  if (llm.finishReason) items.push(['finish', llm.finishReason]);
  const usage = llm.usage;
  if (usage) {
    const counts = usageCounts(usage).map(([kind, count]) => `${formatCount(count)} ${kind}`);
    if (counts.length > 0) items.push(['tokens', counts.join(', ')]);
  }
  if (items.length === 0) return null;
  return (
    <dl className="llm-metrics" data-testid="llm-metrics">
      {items.map(([label, value, title]) => (
        <div key={label} title={title} data-metric={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
