import type { RuleAppliedEvent } from '../../../app/proxy-events.js';
import { describeMs, type RuleAction, type RuleMatch } from '../../../app/stream-rules.js';
import { formatCount, formatDuration } from '../format.js';

/** One rule's part in an exchange, in words. */
export interface RuleLine {
  readonly rule: string;
  readonly text: string;
}

/**
 * What each rule did to an exchange, one line per rule in the order they first acted: delays
 * added up (per-event latency makes one event per event), the rest as the proxy said it.
 */
export function ruleLines(events: readonly RuleAppliedEvent[], dropped = 0): RuleLine[] {
  const byRule = new Map<string, { held: Map<string, { count: number; ms: number }>; said: string[] }>();
  for (const event of events) {
    let entry = byRule.get(event.rule);
    if (!entry) byRule.set(event.rule, (entry = { held: new Map(), said: [] }));
    if (event.action === 'match') continue;
    if (event.action === 'latency' || event.action === 'stall' || event.action === 'delay-head') {
      const kind = HELD_WORDS[event.action];
      const sum = entry.held.get(kind) ?? { count: 0, ms: 0 };
      entry.held.set(kind, { count: sum.count + 1, ms: sum.ms + (event.heldMs ?? 0) });
      continue;
    }
    entry.said.push(event.detail);
  }
  const lines = [...byRule].map(([rule, { held, said }]) => {
    const parts = [...held].map(([kind, { count, ms }]) =>
      count === 1
        ? `${kind} ${formatDuration(ms)}`
        : `${kind} ${formatCount(count)} times, ${formatDuration(ms)} in all`,
    );
    parts.push(...said);
    return { rule, text: parts.length > 0 ? parts.join('; ') : 'matched' };
  });
  if (dropped > 0 && lines.length > 0) {
    const last = lines[lines.length - 1]!;
    lines[lines.length - 1] = { ...last, text: `${last.text} (and ${formatCount(dropped)} more actions)` };
  }
  return lines;
}

const HELD_WORDS: Record<'latency' | 'stall' | 'delay-head', string> = {
  latency: 'delayed',
  stall: 'stalled',
  'delay-head': 'held the head',
};

/** A rule's conditions in words: "host *.openai.com · text/event-stream*", or "every exchange". */
export function describeMatch(match: RuleMatch): string {
  const parts = [
    match.method,
    match.host === undefined ? undefined : `host ${match.host}`,
    match.path === undefined ? undefined : `path ${match.path}`,
    match.contentType === undefined ? undefined : `type ${match.contentType}`,
    match.protocol,
  ].filter((part): part is string => part !== undefined);
  return parts.length > 0 ? parts.join(' · ') : 'every exchange';
}

/** An action in words: "latency 200 ms per event", "reset (CANCEL) after 40 events". */
export function describeAction(action: RuleAction): string {
  const where = (a: { afterEvents?: number; afterBytes?: number }): string =>
    a.afterBytes !== undefined
      ? `after ${formatCount(a.afterBytes)} bytes`
      : `after ${formatCount(a.afterEvents ?? 0)} events`;
  switch (action.type) {
    case 'delay-head':
      return `hold the head ${describeMs(action.ms)}`;
    case 'latency':
      return `latency ${describeMs(action.ms)} per ${action.per ?? 'event'}`;
    case 'bandwidth':
      return `${formatCount(action.bytesPerSecond)} bytes/s (${action.direction ?? 'response'})`;
    case 'stall':
      return `stall ${describeMs(action.ms)} after ${formatCount(action.afterEvents)} events`;
    case 'end':
      return `end ${where(action)}`;
    case 'reset':
      return `reset (${action.code ?? 'CANCEL'}) ${where(action)}`;
    case 'hang':
      return `hang ${where(action)}`;
    case 'respond':
      return `answer ${action.status} instead`;
  }
}
