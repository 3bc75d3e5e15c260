import type { Direction, RuleAppliedEvent } from '../../../app/proxy-events.js';
import {
  describeMs,
  holdsRequestHead,
  type RuleAction,
  type RuleEventChoice,
  type RuleMatch,
} from '../../../app/stream-rules.js';
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
  interface Done {
    readonly held: Map<string, { count: number; ms: number }>;
    readonly edits: Map<string, { count: number; first: string }>;
    readonly said: string[];
  }
  const byRule = new Map<string, Done>();
  for (const event of events) {
    let entry = byRule.get(event.rule);
    if (!entry) byRule.set(event.rule, (entry = { held: new Map(), edits: new Map(), said: [] }));
    if (event.action === 'match') continue;
    if (event.action === 'latency' || event.action === 'stall' || event.action === 'delay-head') {
      const kind = HELD_WORDS[event.action];
      const sum = entry.held.get(kind) ?? { count: 0, ms: 0 };
      entry.held.set(kind, { count: sum.count + 1, ms: sum.ms + (event.heldMs ?? 0) });
      continue;
    }
    const words = EDIT_WORDS[event.action];
    if (words !== undefined) {
      const edits = entry.edits.get(words) ?? { count: 0, first: event.detail };
      entry.edits.set(words, { ...edits, count: edits.count + 1 });
      continue;
    }
    entry.said.push(event.detail);
  }
  const lines = [...byRule].map(([rule, { held, edits, said }]) => {
    const parts = [...held].map(([kind, { count, ms }]) =>
      count === 1
        ? `${kind} ${formatDuration(ms)}`
        : `${kind} ${formatCount(count)} times, ${formatDuration(ms)} in all`,
    );
    // Content rules may act on every event: one line each would be a log, not a summary.
    for (const [words, { count, first }] of edits)
      parts.push(count === 1 ? first : `${words} ${formatCount(count)} events`);
    parts.push(...said);
    return { rule, text: parts.length > 0 ? parts.join('; ') : 'matched' };
  });
  if (dropped > 0 && lines.length > 0) {
    const last = lines[lines.length - 1]!;
    lines[lines.length - 1] = { ...last, text: `${last.text} (and ${formatCount(dropped)} more actions)` };
  }
  return lines;
}

const EDIT_WORDS: Partial<Record<RuleAppliedEvent['action'], string>> = {
  drop: 'dropped',
  duplicate: 'sent twice',
  inject: 'put an event beside',
  rewrite: 'rewrote',
  corrupt: 'tore',
};

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

/** Which events a content action takes, in words. */
function chosen(choice: RuleEventChoice): string {
  if (choice.event !== undefined && choice.where !== undefined)
    return `event ${choice.event} if it has "${choice.where}"`;
  if (choice.event !== undefined) return `event ${choice.event}`;
  if (choice.where !== undefined) return `events with "${choice.where}"`;
  return 'every event';
}

/**
 * An action in words: "latency 200 ms per event", "reset (CANCEL) after 40 events", "drop event 2
 * of what the client sends".
 */
export function describeAction(action: RuleAction): string {
  if (holdsRequestHead(action)) return 'hold the request before it goes upstream';
  const words = actionWords(action);
  return action.type !== 'bandwidth' && 'direction' in action && action.direction === 'request'
    ? `${words} of what the client sends`
    : words;
}

function actionWords(action: RuleAction): string {
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
    case 'drop':
      return `drop ${chosen(action)}`;
    case 'duplicate':
      return `send ${chosen(action)} twice`;
    case 'inject':
      return `put an event ${action.position ?? 'after'} ${chosen(action)}`;
    case 'rewrite':
      return action.replace
        ? `replace "${action.replace.from}" with "${action.replace.to}" in ${chosen(action)}`
        : `set ${action.set?.path ?? ''} in ${chosen(action)}`;
    case 'corrupt':
      return `tear ${chosen(action)} mid-line`;
    case 'breakpoint':
      return `stop before ${chosen(action)}`;
    case 'respond':
      return `answer ${action.status} instead`;
  }
}

const MARK_WORDS: Partial<Record<RuleAppliedEvent['action'], string>> = {
  inject: 'put in',
  duplicate: 'sent again',
  rewrite: 'rewritten',
  corrupt: 'torn mid-line',
  breakpoint: 'edited at a breakpoint',
};

/**
 * The events of one direction a rule put in or changed, by their index among that direction's
 * events as the other side got them (from 0): "put in by rule done; rewritten by rule fix".
 */
export function ruleMarksOf(
  events: readonly RuleAppliedEvent[],
  direction: Direction = 'response',
): Map<number, string> {
  const marks = new Map<number, string>();
  for (const event of events) {
    if (event.event === undefined || event.direction !== direction) continue;
    const words = `${MARK_WORDS[event.action] ?? event.action} by rule ${event.rule}`;
    const index = event.event - 1;
    const before = marks.get(index);
    marks.set(index, before === undefined ? words : `${before}; ${words}`);
  }
  return marks;
}
