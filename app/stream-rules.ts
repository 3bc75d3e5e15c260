/**
 * Stream rules: what the user asks Sluice to do to matching streams on purpose (slow them, break
 * them), event by event and never by buffering. The one definition of the rules file's schema,
 * shared by the CLI (`--rules FILE`), the host's settings and the UI's editor; `parseStreamRules`
 * validates any of them and names the field that is wrong.
 */

/**
 * Conditions an exchange must meet; every one given must hold. Text is a glob (`*` any run of
 * characters, `?` one) matched case-insensitively against the whole value, or a regular
 * expression written `/like this/` (with optional flags).
 */
export interface RuleMatch {
  /** The request's host name, without port. */
  readonly host?: string;
  /** Path and query as sent upstream (`/v1/chat/completions?stream=true`). */
  readonly path?: string;
  readonly method?: string;
  /** The response's Content-Type (`text/event-stream*`). A `respond` rule cannot ask for it: it answers before any response. */
  readonly contentType?: string;
  /** The client's protocol. */
  readonly protocol?: RuleProtocol;
}

export type RuleProtocol = 'http/1.1' | 'h2';

/** A fixed number of milliseconds, or a range `[min, max]` each delay is drawn from. */
export type RuleMs = number | readonly [min: number, max: number];

/**
 * Which events a content action changes: the `event`th (from 1), those whose text contains
 * `where` (or matches it, written `/regex/`), both, or with neither, every event.
 */
export interface RuleEventChoice {
  readonly event?: number;
  readonly where?: string;
}

/** Where in a stream an ending action fires: after this many events, or bytes, are sent. */
export interface RuleAfter {
  readonly afterEvents?: number;
  readonly afterBytes?: number;
}

/**
 * Which way a timing or content action works: on the response (the default), or with
 * `"request"` on what the client sends: a WebSocket's client messages, a client-streaming RPC's
 * messages, NDJSON lines of an upload, else the request body's reads.
 */
export interface RuleActionDirection {
  readonly direction?: RuleDirection;
}

/**
 * What a rule does. "Events" are the stream's own units: SSE events in a `text/event-stream`,
 * lines in NDJSON (`application/x-ndjson`, `application/jsonl`, `application/json-seq`), and for
 * any other body (or a compressed one) each chunk as it was read.
 */
export type RuleAction =
  /** Hold the response head this long before the client gets it. */
  | { readonly type: 'delay-head'; readonly ms: RuleMs }
  /** Add this delay before each event (or each chunk) goes to the client. */
  | ({ readonly type: 'latency'; readonly ms: RuleMs; readonly per?: 'event' | 'chunk' } & RuleActionDirection)
  /** Send at most this many bytes a second, in this direction (default the response). */
  | { readonly type: 'bandwidth'; readonly bytesPerSecond: number; readonly direction?: RuleDirection }
  /** Stop for `ms` once `afterEvents` events have gone to the client. */
  | ({ readonly type: 'stall'; readonly afterEvents: number; readonly ms: RuleMs } & RuleActionDirection)
  /** End the response cleanly there: the client sees a complete, shorter response. */
  | ({ readonly type: 'end' } & RuleAfter)
  /** Reset it there: TCP RST on HTTP/1.1, RST_STREAM with `code` (default CANCEL) on HTTP/2. */
  | ({ readonly type: 'reset'; readonly code?: RuleResetCode } & RuleAfter)
  /** Stop sending there and keep the connection open, so the client's idle timeout is tested. */
  | ({ readonly type: 'hang' } & RuleAfter)
  /** Leave out the chosen events. */
  | ({ readonly type: 'drop' } & RuleEventChoice & RuleActionDirection)
  /** Send the chosen events twice. */
  | ({ readonly type: 'duplicate' } & RuleEventChoice & RuleActionDirection)
  /** Send `data` (an event as it goes on the wire, e.g. `data: [DONE]`) before or after the chosen events. */
  | ({ readonly type: 'inject'; readonly data: string; readonly position?: 'before' | 'after' } & RuleEventChoice &
      RuleActionDirection)
  /**
   * Change the chosen events: replace text (`from` as text or `/regex/`, every occurrence), or set
   * a field of the event's JSON data (`path` like `choices.0.delta.content`) to `value`.
   */
  | ({
      readonly type: 'rewrite';
      readonly replace?: { readonly from: string; readonly to: string };
      readonly set?: { readonly path: string; readonly value: unknown };
    } & RuleEventChoice &
      RuleActionDirection)
  /** Cut the chosen events off mid-line: the first half of their bytes goes, the rest never does. */
  | ({ readonly type: 'corrupt' } & RuleEventChoice & RuleActionDirection)
  /**
   * Hold the stream before each chosen event until the user releases it (edited or not), drops
   * it, or lets the rest of the stream go; the upstream is paused meanwhile. With `direction:
   * "request"` alone, hold the request before it goes upstream instead (released or dropped);
   * with `event` or `where` too, hold the request's events (a WebSocket's client messages).
   */
  | ({ readonly type: 'breakpoint'; readonly direction?: RuleDirection } & RuleEventChoice)
  /** Answer this instead of forwarding: the upstream is never asked. */
  | {
      readonly type: 'respond';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    };

export type RuleActionType = RuleAction['type'];
export type RuleDirection = 'request' | 'response';

/** HTTP/2 error codes a `reset` may send (RFC 9113 section 7). */
export const RULE_RESET_CODES = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  ENHANCE_YOUR_CALM: 0xb,
} as const;
export type RuleResetCode = keyof typeof RULE_RESET_CODES;

export interface StreamRule {
  readonly name: string;
  /** Off rules are kept and shown but match nothing. Default on. */
  readonly enabled: boolean;
  readonly match: RuleMatch;
  readonly actions: readonly RuleAction[];
}

/** A rules file: `{ "rules": [ ... ] }`, applied in order. */
export interface StreamRulesFile {
  readonly rules: readonly StreamRule[];
}

/** A rules document that cannot be used, with the path of the field at fault (`rules[1].actions[0].ms`). */
export class StreamRulesError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'StreamRulesError';
  }
}

/** Every action type, in the order the docs list them. */
export const RULE_ACTION_TYPES: readonly RuleActionType[] = [
  'delay-head',
  'latency',
  'bandwidth',
  'stall',
  'end',
  'reset',
  'hang',
  'drop',
  'duplicate',
  'inject',
  'rewrite',
  'corrupt',
  'breakpoint',
  'respond',
];
const MATCH_FIELDS = ['host', 'path', 'method', 'contentType', 'protocol'] as const;
const PROTOCOLS: readonly RuleProtocol[] = ['http/1.1', 'h2'];
/** A delay longer than a day is a typo, not a test. */
const MAX_MS = 86_400_000;

/**
 * Reads a rules document (already JSON-parsed). Returns the rules with defaults filled in, or
 * throws a StreamRulesError naming the first field that is wrong. Unknown fields are errors too:
 * a misspelt `afterEvent` must not silently mean "at once".
 */
export function parseStreamRules(document: unknown): StreamRule[] {
  const root = object(document, '(file)');
  onlyFields(root, ['rules'], '(file)');
  const list = root['rules'];
  if (!Array.isArray(list)) throw new StreamRulesError('rules', 'must be a list of rules');
  const rules = list.map((rule, i) => parseRule(rule, `rules[${i}]`));
  // Names say which rule did what (events, HAR, match counts): two rules cannot share one.
  rules.forEach((rule, i) => {
    const first = rules.findIndex((other) => other.name === rule.name);
    if (first < i)
      throw new StreamRulesError(`rules[${i}].name`, `"${rule.name}" is already the name of rules[${first}]`);
  });
  return rules;
}

function parseRule(value: unknown, at: string): StreamRule {
  const rule = object(value, at);
  onlyFields(rule, ['name', 'enabled', 'match', 'actions'], at);
  const name = rule['name'];
  if (typeof name !== 'string' || name.trim() === '')
    throw new StreamRulesError(`${at}.name`, 'must be a non-empty text');
  const enabled = rule['enabled'] ?? true;
  if (typeof enabled !== 'boolean') throw new StreamRulesError(`${at}.enabled`, 'must be true or false');
  const match = parseMatch(rule['match'] ?? {}, `${at}.match`);
  const actions = rule['actions'];
  if (!Array.isArray(actions) || actions.length === 0) {
    throw new StreamRulesError(`${at}.actions`, 'must be a list of at least one action');
  }
  const parsed = actions.map((action, i) => parseAction(action, `${at}.actions[${i}]`));
  const respond = parsed.findIndex((a) => a.type === 'respond');
  if (respond >= 0 && parsed.length > 1) {
    throw new StreamRulesError(`${at}.actions[${respond}]`, 'a respond action answers alone: it cannot be combined');
  }
  const holdsRequest = parsed.findIndex((a) => a.type === 'breakpoint' && holdsRequestHead(a));
  if (holdsRequest >= 0 && match.contentType !== undefined) {
    throw new StreamRulesError(
      `${at}.match.contentType`,
      'a request breakpoint holds the request before any response, so it cannot match one',
    );
  }
  const onRequest = parsed.findIndex((a) => 'direction' in a && a.direction === 'request' && !holdsRequestHead(a));
  if (onRequest >= 0 && match.contentType !== undefined) {
    throw new StreamRulesError(
      `${at}.match.contentType`,
      'an action on the request works before any response, so its rule cannot match one',
    );
  }
  if (respond >= 0 && match.contentType !== undefined) {
    throw new StreamRulesError(
      `${at}.match.contentType`,
      'a respond rule answers before any response, so it cannot match one',
    );
  }
  return { name, enabled, match, actions: parsed };
}

function parseMatch(value: unknown, at: string): RuleMatch {
  const match = object(value, at);
  onlyFields(match, MATCH_FIELDS, at);
  const out: Record<string, string> = {};
  for (const field of MATCH_FIELDS) {
    const text = match[field];
    if (text === undefined) continue;
    if (typeof text !== 'string' || text === '')
      throw new StreamRulesError(`${at}.${field}`, 'must be a non-empty text');
    if (field === 'protocol') {
      if (!PROTOCOLS.includes(text as RuleProtocol)) {
        throw new StreamRulesError(`${at}.protocol`, `must be one of ${PROTOCOLS.join(', ')}`);
      }
    } else {
      try {
        textMatcher(text);
      } catch (err) {
        throw new StreamRulesError(`${at}.${field}`, `is not a valid pattern (${(err as Error).message})`);
      }
    }
    out[field] = text;
  }
  return out as RuleMatch;
}

function parseAction(value: unknown, at: string): RuleAction {
  const action = object(value, at);
  const type = action['type'];
  if (!RULE_ACTION_TYPES.includes(type as RuleActionType)) {
    throw new StreamRulesError(`${at}.type`, `must be one of ${RULE_ACTION_TYPES.join(', ')}`);
  }
  switch (type as RuleActionType) {
    case 'delay-head':
      onlyFields(action, ['type', 'ms'], at);
      return { type: 'delay-head', ms: ms(action['ms'], `${at}.ms`) };
    case 'latency': {
      onlyFields(action, ['type', 'ms', 'per', 'direction'], at);
      const per = action['per'] ?? 'event';
      if (per !== 'event' && per !== 'chunk') throw new StreamRulesError(`${at}.per`, 'must be "event" or "chunk"');
      return { type: 'latency', ms: ms(action['ms'], `${at}.ms`), per, ...actionDirection(action, at) };
    }
    case 'bandwidth': {
      onlyFields(action, ['type', 'bytesPerSecond', 'direction'], at);
      const direction = action['direction'] ?? 'response';
      if (direction !== 'request' && direction !== 'response') {
        throw new StreamRulesError(`${at}.direction`, 'must be "request" or "response"');
      }
      const rate = action['bytesPerSecond'];
      if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1) {
        throw new StreamRulesError(`${at}.bytesPerSecond`, 'must be a whole number of bytes, at least 1');
      }
      return { type: 'bandwidth', bytesPerSecond: rate, direction };
    }
    case 'stall':
      onlyFields(action, ['type', 'afterEvents', 'ms', 'direction'], at);
      return {
        type: 'stall',
        afterEvents: count(action['afterEvents'], `${at}.afterEvents`),
        ms: ms(action['ms'], `${at}.ms`),
        ...actionDirection(action, at),
      };
    case 'end':
      onlyFields(action, ['type', 'afterEvents', 'afterBytes'], at);
      return { type: 'end', ...after(action, at) };
    case 'hang':
      onlyFields(action, ['type', 'afterEvents', 'afterBytes'], at);
      return { type: 'hang', ...after(action, at) };
    case 'reset': {
      onlyFields(action, ['type', 'afterEvents', 'afterBytes', 'code'], at);
      const code = action['code'] ?? 'CANCEL';
      if (typeof code !== 'string' || !(code in RULE_RESET_CODES)) {
        throw new StreamRulesError(`${at}.code`, `must be one of ${Object.keys(RULE_RESET_CODES).join(', ')}`);
      }
      return { type: 'reset', ...after(action, at), code: code as RuleResetCode };
    }
    case 'drop':
    case 'duplicate':
    case 'corrupt':
      onlyFields(action, ['type', 'event', 'where', 'direction'], at);
      return {
        type: type as 'drop' | 'duplicate' | 'corrupt',
        ...eventChoice(action, at),
        ...actionDirection(action, at),
      };
    case 'breakpoint': {
      onlyFields(action, ['type', 'event', 'where', 'direction'], at);
      return { type: 'breakpoint', ...actionDirection(action, at), ...eventChoice(action, at) };
    }
    case 'inject': {
      onlyFields(action, ['type', 'event', 'where', 'data', 'position', 'direction'], at);
      const data = action['data'];
      if (typeof data !== 'string' || data === '') throw new StreamRulesError(`${at}.data`, 'must be a non-empty text');
      const position = action['position'] ?? 'after';
      if (position !== 'before' && position !== 'after') {
        throw new StreamRulesError(`${at}.position`, 'must be "before" or "after"');
      }
      return { type: 'inject', data, position, ...eventChoice(action, at), ...actionDirection(action, at) };
    }
    case 'rewrite': {
      onlyFields(action, ['type', 'event', 'where', 'replace', 'set', 'direction'], at);
      const replace = action['replace'];
      const set = action['set'];
      if ((replace === undefined) === (set === undefined)) {
        throw new StreamRulesError(at, 'takes replace: { from, to } or set: { path, value }, one of them');
      }
      if (replace !== undefined) {
        const fields = object(replace, `${at}.replace`);
        onlyFields(fields, ['from', 'to'], `${at}.replace`);
        const { from, to } = fields;
        if (typeof from !== 'string' || from === '')
          throw new StreamRulesError(`${at}.replace.from`, 'must be a non-empty text');
        if (typeof to !== 'string') throw new StreamRulesError(`${at}.replace.to`, 'must be a text');
        checkPattern(from, `${at}.replace.from`);
        return { type: 'rewrite', replace: { from, to }, ...eventChoice(action, at), ...actionDirection(action, at) };
      }
      const fields = object(set, `${at}.set`);
      onlyFields(fields, ['path', 'value'], `${at}.set`);
      const path = fields['path'];
      if (typeof path !== 'string' || path === '')
        throw new StreamRulesError(`${at}.set.path`, 'must be a non-empty text');
      if (!('value' in fields)) throw new StreamRulesError(`${at}.set.value`, 'is missing (null is a value)');
      return {
        type: 'rewrite',
        set: { path, value: fields['value'] },
        ...eventChoice(action, at),
        ...actionDirection(action, at),
      };
    }
    case 'respond': {
      onlyFields(action, ['type', 'status', 'headers', 'body'], at);
      const status = action['status'];
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
        throw new StreamRulesError(`${at}.status`, 'must be an HTTP status from 200 to 599');
      }
      const headers = action['headers'] ?? {};
      const fields = object(headers, `${at}.headers`);
      for (const [name, text] of Object.entries(fields)) {
        if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name))
          throw new StreamRulesError(`${at}.headers`, `"${name}" is not a header name`);
        if (typeof text !== 'string') throw new StreamRulesError(`${at}.headers.${name}`, 'must be a text');
      }
      const body = action['body'] ?? '';
      if (typeof body !== 'string') throw new StreamRulesError(`${at}.body`, 'must be a text');
      return { type: 'respond', status, headers: fields as Record<string, string>, body };
    }
  }
}

/** `direction: "request"` when the action says so; the response, the default, is left unsaid. */
function actionDirection(action: Record<string, unknown>, at: string): RuleActionDirection {
  const direction = action['direction'] ?? 'response';
  if (direction !== 'request' && direction !== 'response') {
    throw new StreamRulesError(`${at}.direction`, 'must be "request" or "response"');
  }
  return direction === 'request' ? { direction } : {};
}

function eventChoice(action: Record<string, unknown>, at: string): RuleEventChoice {
  const event = action['event'];
  const where = action['where'];
  if (event !== undefined && (typeof event !== 'number' || !Number.isInteger(event) || event < 1)) {
    throw new StreamRulesError(`${at}.event`, 'must be a whole number, 1 or more (the first event is 1)');
  }
  if (where !== undefined) {
    if (typeof where !== 'string' || where === '')
      throw new StreamRulesError(`${at}.where`, 'must be a non-empty text');
    checkPattern(where, `${at}.where`);
  }
  return { ...(event === undefined ? {} : { event }), ...(where === undefined ? {} : { where }) };
}

function checkPattern(pattern: string, at: string): void {
  try {
    textSearch(pattern);
  } catch (err) {
    throw new StreamRulesError(at, `is not a valid pattern (${(err as Error).message})`);
  }
}

function after(action: Record<string, unknown>, at: string): RuleAfter {
  const events = action['afterEvents'];
  const bytes = action['afterBytes'];
  if (events === undefined && bytes === undefined) {
    throw new StreamRulesError(at, 'needs afterEvents or afterBytes (0 for at once)');
  }
  if (events !== undefined && bytes !== undefined) {
    throw new StreamRulesError(at, 'takes afterEvents or afterBytes, not both');
  }
  return events !== undefined
    ? { afterEvents: count(events, `${at}.afterEvents`) }
    : { afterBytes: count(bytes, `${at}.afterBytes`) };
}

function ms(value: unknown, at: string): RuleMs {
  const one = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_MS) {
      throw new StreamRulesError(where, `must be a number of milliseconds from 0 to ${MAX_MS}`);
    }
    return v;
  };
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new StreamRulesError(at, 'a range is [min, max]');
    const [min, max] = [one(value[0], `${at}[0]`), one(value[1], `${at}[1]`)];
    if (min > max) throw new StreamRulesError(at, 'a range is [min, max] with min <= max');
    return [min, max];
  }
  return one(value, at);
}

function count(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new StreamRulesError(at, 'must be a whole number, 0 or more');
  }
  return value;
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StreamRulesError(at, 'must be an object');
  }
  return value as Record<string, unknown>;
}

function onlyFields(value: Record<string, unknown>, allowed: readonly string[], at: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new StreamRulesError(`${at}.${key}`, `is not a field here (expected ${allowed.join(', ')})`);
    }
  }
}

/** A match text as a test: a glob (whole value, any case) or `/regex/flags`. */
export function textMatcher(pattern: string): (value: string) => boolean {
  const regex = writtenRegex(pattern);
  if (regex) {
    const re = new RegExp(regex.source, regex.flags);
    return (value) => {
      re.lastIndex = 0;
      return re.test(value);
    };
  }
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const glob = new RegExp(`^${source}$`, 'is');
  return (value) => glob.test(value);
}

/** A text to look for in an event: a substring, or `/regex/flags`; global, to replace every match. */
export function textSearch(pattern: string): RegExp {
  const regex = writtenRegex(pattern);
  if (regex) return new RegExp(regex.source, regex.flags.includes('g') ? regex.flags : `${regex.flags}g`);
  return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
}

/** A pattern written `/source/flags`, taken apart; undefined for plain text. */
function writtenRegex(pattern: string): { source: string; flags: string } | undefined {
  const parts = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  return parts ? { source: parts[1]!, flags: parts[2]! } : undefined;
}

/** A delay drawn from `ms`. */
export function drawMs(ms: RuleMs, random: () => number = Math.random): number {
  return typeof ms === 'number' ? ms : ms[0] + random() * (ms[1] - ms[0]);
}

/** "200 ms" or "100-300 ms", for what a rule did. */
export function describeMs(ms: RuleMs): string {
  return typeof ms === 'number' ? `${ms} ms` : `${ms[0]}-${ms[1]} ms`;
}

/**
 * Whether an action is a breakpoint that holds the request head before it goes upstream
 * (`direction: "request"` with no `event` or `where`), rather than events of a body.
 */
export function holdsRequestHead(action: RuleAction): boolean {
  return (
    action.type === 'breakpoint' &&
    action.direction === 'request' &&
    action.event === undefined &&
    action.where === undefined
  );
}
