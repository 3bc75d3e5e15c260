import {
  holdsRequestHead,
  textMatcher,
  type RuleAction,
  type RuleMs,
  type RuleProtocol,
  type StreamRule,
} from '../../app/stream-rules.js';
import type { ContentStep } from './event-edits.js';

/** What is known of an exchange when its request arrives. */
export interface RequestFacts {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly protocol: RuleProtocol;
}

export type EndingAction = Extract<RuleAction, { type: 'end' | 'reset' | 'hang' }>;
export type RespondAction = Extract<RuleAction, { type: 'respond' }>;

/** What the matching rules do to one direction of one exchange, each step naming its rule. */
export interface ShapePlan {
  readonly headDelays: readonly { readonly rule: string; readonly ms: RuleMs }[];
  readonly latencies: readonly { readonly rule: string; readonly ms: RuleMs; readonly per: 'event' | 'chunk' }[];
  /** The lowest cap of all matching rules. */
  readonly bandwidth: { readonly rule: string; readonly bytesPerSecond: number } | undefined;
  readonly stalls: readonly { readonly rule: string; readonly afterEvents: number; readonly ms: RuleMs }[];
  /** The first ending of the first rule that has one. */
  readonly ending: { readonly rule: string; readonly action: EndingAction } | undefined;
  /** Content rules, in order: they need whole events. */
  readonly contents: readonly ContentStep[];
  /** Breakpoints, in order: the stream stops before each event one of them chooses. */
  readonly breakpoints: readonly BreakpointStep[];
}

export type BreakpointAction = Extract<RuleAction, { type: 'breakpoint' }>;

export interface BreakpointStep {
  readonly rule: string;
  readonly action: BreakpointAction;
}

/** Whether the body the client gets may differ in length from the upstream's (its length is then not announced). */
export function changesLength(plan: ShapePlan): boolean {
  return plan.ending?.action.type === 'end' || plan.contents.length > 0 || plan.breakpoints.length > 0;
}

/** Rules whose request conditions hold, for the response to finish matching. */
export interface RequestMatch {
  /** A `respond` rule that matched: the exchange is answered with it and never forwarded. */
  readonly respond: { readonly rule: string; readonly action: RespondAction } | undefined;
  /** Request-direction bandwidth caps (these rules cannot wait for the response). */
  readonly request: ShapePlan | undefined;
  /** A request breakpoint that matched: the request waits for the user before it goes upstream. */
  readonly holdRequest: { readonly rule: string } | undefined;
  /** Every rule that matched in full so far, by name, for the exchange's record. */
  readonly matched: readonly string[];
  /** Rules still waiting on the response's Content-Type. */
  readonly candidates: readonly CompiledRule[];
}

export interface CompiledRule {
  readonly rule: StreamRule;
  readonly host: ((value: string) => boolean) | undefined;
  readonly path: ((value: string) => boolean) | undefined;
  readonly method: ((value: string) => boolean) | undefined;
  readonly contentType: ((value: string) => boolean) | undefined;
}

/** A response's rules in effect: the plan, and the rules that matched it by name. */
export interface ResponseMatch {
  readonly plan: ShapePlan | undefined;
  readonly matched: readonly string[];
}

/**
 * The rules in effect, compiled once: each exchange asks at its request (`matchRequest`) and at
 * its response head (`matchResponse`). Rules apply in order; disabled ones match nothing.
 */
export class RuleSet {
  private readonly compiled: readonly CompiledRule[];
  private readonly matches = new Map<string, number>();

  constructor(readonly rules: readonly StreamRule[]) {
    this.compiled = rules
      .filter((rule) => rule.enabled)
      .map((rule) => ({
        rule,
        host: optional(rule.match.host),
        path: optional(rule.match.path),
        method: optional(rule.match.method),
        contentType: optional(rule.match.contentType),
      }));
  }

  /** An exchange matched the rule named so (once per exchange). */
  countMatch(name: string): void {
    this.matches.set(name, (this.matches.get(name) ?? 0) + 1);
  }

  /** Exchanges each rule matched, in the rules' order. */
  matchCounts(): number[] {
    return this.rules.map((rule) => this.matches.get(rule.name) ?? 0);
  }

  /** Undefined when no rule can apply to this request (the common case: nothing to do). */
  matchRequest(facts: RequestFacts): RequestMatch | undefined {
    if (this.compiled.length === 0) return undefined;
    const candidates = this.compiled.filter(
      ({ rule, host, path, method }) =>
        (rule.match.protocol === undefined || rule.match.protocol === facts.protocol) &&
        (host === undefined || host(facts.host)) &&
        (path === undefined || path(facts.path)) &&
        (method === undefined || method(facts.method)),
    );
    if (candidates.length === 0) return undefined;
    const respondRule = candidates.find((c) => c.rule.actions[0]?.type === 'respond');
    if (respondRule) {
      return {
        respond: { rule: respondRule.rule.name, action: respondRule.rule.actions[0] as RespondAction },
        request: undefined,
        holdRequest: undefined,
        matched: [respondRule.rule.name],
        candidates: [],
      };
    }
    const sure = candidates.filter((c) => c.contentType === undefined);
    const holding = sure.find((c) => c.rule.actions.some(holdsRequestHead));
    return {
      respond: undefined,
      request: planOf(sure, 'request'),
      holdRequest: holding ? { rule: holding.rule.name } : undefined,
      matched: sure
        .filter((c) => c.rule.actions.some((a) => directionOf(a) === 'request' || holdsRequestHead(a)))
        .map((c) => c.rule.name),
      candidates,
    };
  }
}

/** The response side of the rules that held at the request, now that its Content-Type is known. */
export function matchResponse(request: RequestMatch, contentType: string | undefined): ResponseMatch {
  const type = contentType ?? '';
  const matching = request.candidates.filter((c) => c.contentType === undefined || c.contentType(type));
  return {
    plan: planOf(matching, 'response'),
    matched: matching.filter((c) => c.rule.actions.some((a) => directionOf(a) === 'response')).map((c) => c.rule.name),
  };
}

function optional(pattern: string | undefined): ((value: string) => boolean) | undefined {
  return pattern === undefined ? undefined : textMatcher(pattern);
}

/** Which body's shaping an action belongs to; a request-head breakpoint belongs to neither (it holds the head). */
function directionOf(action: RuleAction): 'request' | 'response' | undefined {
  if (holdsRequestHead(action)) return undefined;
  return 'direction' in action ? (action.direction ?? 'response') : 'response';
}

function planOf(rules: readonly CompiledRule[], direction: 'request' | 'response'): ShapePlan | undefined {
  const headDelays: { rule: string; ms: RuleMs }[] = [];
  const latencies: { rule: string; ms: RuleMs; per: 'event' | 'chunk' }[] = [];
  const stalls: { rule: string; afterEvents: number; ms: RuleMs }[] = [];
  const contents: ContentStep[] = [];
  const breakpoints: BreakpointStep[] = [];
  let bandwidth: ShapePlan['bandwidth'];
  let ending: ShapePlan['ending'];
  let any = false;
  for (const { rule } of rules) {
    for (const action of rule.actions) {
      if (directionOf(action) !== direction) continue;
      any = true;
      switch (action.type) {
        case 'delay-head':
          headDelays.push({ rule: rule.name, ms: action.ms });
          break;
        case 'latency':
          latencies.push({ rule: rule.name, ms: action.ms, per: action.per ?? 'event' });
          break;
        case 'bandwidth':
          if (!bandwidth || action.bytesPerSecond < bandwidth.bytesPerSecond) {
            bandwidth = { rule: rule.name, bytesPerSecond: action.bytesPerSecond };
          }
          break;
        case 'stall':
          stalls.push({ rule: rule.name, afterEvents: action.afterEvents, ms: action.ms });
          break;
        case 'end':
        case 'reset':
        case 'hang':
          ending ??= { rule: rule.name, action };
          break;
        case 'drop':
        case 'duplicate':
        case 'inject':
        case 'rewrite':
        case 'corrupt':
          contents.push({ rule: rule.name, action });
          break;
        case 'breakpoint':
          breakpoints.push({ rule: rule.name, action });
          break;
        case 'respond':
          break;
      }
    }
  }
  stalls.sort((a, b) => a.afterEvents - b.afterEvents);
  return any ? { headDelays, latencies, bandwidth, stalls, ending, contents, breakpoints } : undefined;
}
