import {
  headerValue,
  type RawHeaders,
  type RequestHead,
  type RpcProtocol,
  type RpcStatusEvent,
} from './proxy-events.js';

/**
 * What makes an exchange a gRPC, gRPC-Web or Connect call, and how such a call's outcome is read.
 * One definition for the core (which frames and reports), HAR import and the renderer (which shows).
 */

/** The protocols whose bodies are sequences of 5-byte-prefixed frames. */
export type RpcFraming = Exclude<RpcProtocol, 'connect-unary'>;

export interface RpcCall {
  readonly protocol: RpcProtocol;
  /** Fully qualified, e.g. `grpc.health.v1.Health`. */
  readonly service: string;
  readonly method: string;
}

/**
 * The framing a body with this content type uses, or undefined when it is not a framed RPC body.
 * Connect unary (`application/proto`, `application/json`) is a plain body, so it is not here.
 */
export function rpcFramingOf(contentType: string | undefined): RpcFraming | undefined {
  if (!contentType) return undefined;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  const match = /^application\/(grpc-web-text|grpc-web|grpc|connect)(\+[^\s/+]+)?$/.exec(mediaType);
  if (!match) return undefined;
  const family = match[1] as RpcFraming;
  // Connect streaming always names its codec; bare `application/connect` is not a Connect type.
  if (family === 'connect' && !match[2]) return undefined;
  return family;
}

/** Whether a content type's codec is JSON (`application/grpc+json`, `application/json`, ...): its messages are text. */
export function isJsonCodec(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** The request's RPC call, or undefined when it is not one: a framed content type, or Connect unary. */
export function rpcCallOf(request: RequestHead): RpcCall | undefined {
  // Most requests are no call, and their headers say so before the URL is parsed (a URL parse
  // per exchange is a tenth of what a page does to replay a long capture).
  if (!mayBeRpc(request)) return undefined;
  const path = pathOf(request.url);
  const name = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path.split('?', 1)[0]!);
  if (!name) return undefined;
  const protocol = rpcProtocolOf(request.method, request.headers, path);
  if (!protocol) return undefined;
  return { protocol, service: decodePathSegment(name[1]!), method: decodePathSegment(name[2]!) };
}

/**
 * A path segment percent-decoded, or as it is when its escapes are malformed: this must never
 * throw, since the core asks `rpcCallOf` about every request as it passes.
 */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function rpcProtocolOf(method: string, headers: RawHeaders, path: string): RpcProtocol | undefined {
  const contentType = headerValue(headers, 'content-type');
  const framing = rpcFramingOf(contentType);
  if (framing) return framing;
  // Connect unary: a POST declaring the protocol version, or a GET carrying `connect=v1`.
  if (method === 'POST' && headerValue(headers, 'connect-protocol-version') !== undefined) {
    const mediaType = contentType?.split(';', 1)[0]!.trim().toLowerCase() ?? '';
    if (/^application\/(proto|json|[^\s/+]+)$/.test(mediaType)) return 'connect-unary';
  }
  if (method === 'GET' && /[?&]connect=v1(&|$)/.test(path)) return 'connect-unary';
  return undefined;
}

/** False when `rpcProtocolOf` cannot find a protocol, whatever the path. */
function mayBeRpc({ method, url, headers }: RequestHead): boolean {
  if (rpcFramingOf(headerValue(headers, 'content-type'))) return true;
  if (method === 'POST') return headerValue(headers, 'connect-protocol-version') !== undefined;
  return method === 'GET' && url.includes('connect=v1');
}

function pathOf(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

/** The call's short name, as the list shows it: `Service/Method` with the package left out. */
export function rpcCallLabel(call: RpcCall): string {
  const service = call.service.slice(call.service.lastIndexOf('.') + 1);
  return `${service}/${call.method}`;
}

/** gRPC's status codes by number (doc/statuscodes.md); Connect's codes are the same set. */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? `CODE_${code}`;
}

/** A Connect error code (`not_found`) as gRPC's number, or UNKNOWN for a code Connect does not define. */
export function connectCodeNumber(code: unknown): number {
  if (typeof code !== 'string') return 2;
  const index = GRPC_STATUS_NAMES.indexOf(code.toUpperCase());
  // Connect spells CANCELLED with one L.
  if (code === 'canceled') return 1;
  return index > 0 ? index : 2;
}

/**
 * The code gRPC's spec (doc/http-grpc-status-mapping.md) gives a response that carried no
 * status, by its HTTP status; Connect maps HTTP statuses the same way.
 */
export function rpcCodeOfHttpStatus(status: number): number {
  switch (status) {
    case 200:
      return 2; // A 200 that ended without a status is UNKNOWN (or INTERNAL; clients differ).
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

/**
 * `grpc-message` is percent-encoded UTF-8 (PROTOCOL-HTTP2.md); a malformed escape is kept as it
 * is, as the spec tells receivers to.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const encoder = new TextEncoder();
  const bytes: number[] = [];
  for (let i = 0; i < value.length;) {
    const hex = value[i] === '%' ? value.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      // A whole code point: one UTF-16 unit of a surrogate pair alone would encode as U+FFFD.
      const char = String.fromCodePoint(value.codePointAt(i)!);
      bytes.push(...encoder.encode(char));
      i += char.length;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

type StatusBase = Pick<RpcStatusEvent, 'id' | 't' | 'protocol'>;

/**
 * The status fields (`grpc-status`, `grpc-message`, `grpc-status-details-bin`) of HTTP/2 trailers,
 * a Trailers-Only head or a gRPC-Web trailer frame; undefined when `grpc-status` is not there.
 */
export function statusFromFields(
  base: StatusBase,
  source: 'trailers' | 'trailers-only' | 'trailer-frame',
  fields: RawHeaders,
): RpcStatusEvent | undefined {
  const status = headerValue(fields, 'grpc-status');
  if (status === undefined) return undefined;
  const code = /^\d+$/.test(status.trim()) ? Number(status.trim()) : 2;
  const message = headerValue(fields, 'grpc-message');
  const details = headerValue(fields, 'grpc-status-details-bin');
  return rpcStatus(base, source, code, message === undefined ? undefined : decodeGrpcMessage(message), details, fields);
}

/**
 * A Connect end-of-stream envelope (`{"error": {...}, "metadata": {...}}`, both optional) or a
 * unary error body (`{"code": ..., "message": ..., "details": [...]}`) as a status. End-of-stream
 * JSON that does not parse reads as INTERNAL with the reason, rather than as success; a unary error
 * body that is not JSON reads as its HTTP status says, as Connect clients read it.
 */
export function statusFromConnectJson(
  base: StatusBase,
  source: 'end-stream' | 'unary-error',
  json: string,
  httpStatus = 200,
): RpcStatusEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    if (source === 'end-stream') {
      return rpcStatus(base, source, 13, 'the end-of-stream JSON does not parse', undefined, []);
    }
    // Not a Connect error (a gateway's HTML page, say): Connect clients go by the HTTP status.
    const code = rpcCodeOfHttpStatus(httpStatus);
    return rpcStatus(base, source, code, `HTTP ${httpStatus}, and no Connect error in the body`, undefined, []);
  }
  const record = isRecord(parsed) ? parsed : {};
  const error = source === 'end-stream' ? record.error : record;
  const trailers = source === 'end-stream' ? metadataFields(record.metadata) : [];
  if (!isRecord(error)) {
    if (source === 'unary-error')
      return rpcStatus(base, source, rpcCodeOfHttpStatus(httpStatus), undefined, undefined, []);
    return rpcStatus(base, source, 0, undefined, undefined, trailers);
  }
  const code = error.code === undefined ? rpcCodeOfHttpStatus(httpStatus) : connectCodeNumber(error.code);
  const message = typeof error.message === 'string' ? error.message : undefined;
  const details = error.details === undefined ? undefined : JSON.stringify(error.details);
  return rpcStatus(base, source, code, message, details, trailers);
}

/** The status event itself, its code named: one shape for every place a status is read from. */
export function rpcStatus(
  base: StatusBase,
  source: RpcStatusEvent['source'],
  code: number,
  message: string | undefined,
  details: string | undefined,
  trailers: RawHeaders,
): RpcStatusEvent {
  return {
    type: 'rpc-status',
    ...base,
    source,
    code,
    name: grpcStatusName(code),
    ...(message === undefined ? {} : { message }),
    ...(details === undefined ? {} : { details }),
    trailers,
  };
}

/** Connect metadata is `{"name": ["value", ...]}`. */
function metadataFields(metadata: unknown): [string, string][] {
  if (!isRecord(metadata)) return [];
  const fields: [string, string][] = [];
  for (const [name, values] of Object.entries(metadata)) {
    for (const value of Array.isArray(values) ? values : [values]) fields.push([name, String(value)]);
  }
  return fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
