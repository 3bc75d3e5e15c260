/**
 * The gRPC, gRPC-Web and Connect messages and status of one imported HAR entry, read back from
 * the `_rpcMessages` and `_rpcStatus` our export writes. Every field is checked: an item that is
 * not what the export writes is left out, and the warning names the item and the field, so the
 * rest of the entry (and the rest of the call) still comes in. Pure, like the rest of the import.
 */
import type { Direction, RpcMessageEvent, RpcProtocol, RpcStatusEvent } from '../../app/proxy-events.js';
import { grpcStatusName } from '../../app/rpc-calls.js';
import { headersAt, isBase64, isObject, type Fields } from './har-fields.js';
import type { HarRpcMessage, HarRpcStatus } from './har-types.js';

/** What of the exchange the messages are placed against: its clock and its chunks. */
export interface RpcContext {
  readonly id: number;
  readonly wallTime: number;
  /** The host's monotonic time for ms from `startedDateTime`. */
  readonly at: (ms: number) => number;
  /** How many chunk events each direction has: a message's chunk range must fall among them. */
  readonly chunkCounts: Readonly<Record<Direction, number>>;
}

const KINDS: readonly HarRpcMessage['kind'][] = ['message', 'trailers', 'end-stream'];
const PROTOCOLS: readonly RpcProtocol[] = ['grpc', 'grpc-web', 'grpc-web-text', 'connect', 'connect-unary'];
const SOURCES: readonly HarRpcStatus['source'][] = [
  'trailers',
  'trailers-only',
  'trailer-frame',
  'end-stream',
  'unary-error',
  'http-status',
];

/** A field that is not what our export writes (`field` undefined: the item itself). */
class Invalid extends Error {
  constructor(
    readonly field: string | undefined,
    problem: string,
  ) {
    super(problem);
  }

  /** Where and what, e.g. `_rpcMessages[2].kind is "x", not ...`. */
  at(path: string): string {
    return `${path}${this.field === undefined ? '' : `.${this.field}`} ${this.message}`;
  }
}

/** The entry's `_rpcMessages` as events, in file order; items that are not valid are left out with a warning. */
export function rpcMessageEvents(entry: Fields, context: RpcContext, warnings: string[]): RpcMessageEvent[] {
  const items = entry._rpcMessages;
  if (items === undefined) return [];
  if (!Array.isArray(items)) {
    warnings.push(`_rpcMessages left out: it is ${describe(items)}, not a list`);
    return [];
  }
  const events: RpcMessageEvent[] = [];
  let firstProblem: string | undefined;
  let leftOut = 0;
  items.forEach((item: unknown, index) => {
    try {
      events.push(messageEvent(item, context));
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      leftOut++;
      firstProblem ??= err.at(`_rpcMessages[${index}]`);
    }
  });
  if (leftOut === 1) warnings.push(`an RPC message left out: ${firstProblem}`);
  else if (leftOut > 1)
    warnings.push(`${leftOut} of ${items.length} RPC messages left out: ${firstProblem}, and ${leftOut - 1} more`);
  return events;
}

/** The entry's `_rpcStatus` as an event; undefined when there is none, or with a warning when it is not valid. */
export function rpcStatusEvent(entry: Fields, context: RpcContext, warnings: string[]): RpcStatusEvent | undefined {
  const status = entry._rpcStatus;
  if (status === undefined) return undefined;
  try {
    return statusEvent(status, context);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    warnings.push(`the RPC status left out: ${err.at('_rpcStatus')}`);
    return undefined;
  }
}

function messageEvent(item: unknown, { id, wallTime, at, chunkCounts }: RpcContext): RpcMessageEvent {
  if (!isObject(item)) throw new Invalid(undefined, `is ${describe(item)}, not an object`);
  const type = required(item, 'type', oneOf(['send', 'receive'] as const));
  const direction: Direction = type === 'send' ? 'request' : 'response';
  const time = required(item, 'time', finiteNumber);
  const data = required(item, 'data', text);
  const binary = optional(item, 'encoding', oneOf(['base64'] as const)) === 'base64';
  if (binary && !isBase64(data)) throw new Invalid('data', 'is marked base64 but is not valid base64');
  const [first, last] = required(item, 'chunkRange', chunkRange);
  // A range past the chunks kept (a file whose `_chunks` were cut) points at the last one.
  const chunk = (n: number): number => Math.min(n, Math.max(chunkCounts[direction] - 1, 0));
  const truncated = optional(item, 'truncated', isTrue);
  const undecoded = optional(item, 'undecoded', text);
  return {
    type: 'rpc-message',
    id,
    direction,
    index: required(item, 'index', count),
    kind: required(item, 'kind', oneOf(KINDS)),
    t: at(time * 1000 - wallTime),
    wireBytes: required(item, 'wireBytes', count),
    size: required(item, 'size', count),
    compressed: optional(item, 'compressed', isTrue) === true,
    data,
    binary,
    ...(truncated ? { truncated } : {}),
    ...(undecoded === undefined ? {} : { undecoded }),
    chunkRange: [chunk(first), chunk(last)],
  };
}

function statusEvent(status: unknown, { id, wallTime, at }: RpcContext): RpcStatusEvent {
  if (!isObject(status)) throw new Invalid(undefined, `is ${describe(status)}, not an object`);
  const code = required(status, 'code', count);
  const message = optional(status, 'message', text);
  const details = optional(status, 'details', text);
  optional(status, 'trailers', list);
  return {
    type: 'rpc-status',
    id,
    t: at(required(status, 'time', finiteNumber) * 1000 - wallTime),
    protocol: required(status, 'protocol', oneOf(PROTOCOLS)),
    source: required(status, 'source', oneOf(SOURCES)),
    code,
    name: optional(status, 'name', text) ?? grpcStatusName(code),
    ...(message === undefined ? {} : { message }),
    ...(details === undefined ? {} : { details }),
    trailers: headersAt(status, 'trailers'),
  };
}

/** A check of one field's value, and what it should have been, in words. */
interface Check<T> {
  readonly test: (value: unknown) => value is T;
  readonly wanted: string;
}

function required<T>(item: Fields, key: string, check: Check<T>): T {
  const value = item[key];
  if (check.test(value)) return value;
  throw new Invalid(key, value === undefined ? 'is missing' : `is ${describe(value)}, not ${check.wanted}`);
}

function optional<T>(item: Fields, key: string, check: Check<T>): T | undefined {
  return item[key] === undefined ? undefined : required(item, key, check);
}

const finiteNumber: Check<number> = {
  test: (value): value is number => typeof value === 'number' && Number.isFinite(value),
  wanted: 'a number',
};
const count: Check<number> = {
  test: (value): value is number => Number.isSafeInteger(value) && (value as number) >= 0,
  wanted: 'a whole number from 0',
};
const text: Check<string> = { test: (value): value is string => typeof value === 'string', wanted: 'a string' };
const isTrue: Check<true> = { test: (value): value is true => value === true, wanted: 'true' };
const list: Check<unknown[]> = { test: (value): value is unknown[] => Array.isArray(value), wanted: 'a list' };
const chunkRange: Check<[number, number]> = {
  test: (value): value is [number, number] =>
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((n) => count.test(n)) &&
    (value[0] as number) <= (value[1] as number),
  wanted: 'two chunk positions, first to last',
};

function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return {
    test: (value): value is T => values.includes(value as T),
    wanted: values.map((v) => JSON.stringify(v)).join(' or '),
  };
}

/** A value as a reader would recognise it in the file, cut short when long. */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  if (isObject(value)) return 'an object';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}
