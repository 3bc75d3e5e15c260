import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { nominatedByConnection } from '../../app/http-headers.js';
import { toPairs } from './raw-headers.js';

// RFC 9113 section 8.2.2: fields that are about one connection and must not cross to another.
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

type HeaderBlock = Record<string, string | string[]>;

function emptyBlock(): HeaderBlock {
  return Object.create(null) as HeaderBlock;
}

/** Adds a field, keeping a repeated one repeated (as an array, in order). */
function addField(out: HeaderBlock, name: string, value: string): void {
  const previous = out[name];
  if (previous === undefined) out[name] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else out[name] = [previous, value];
}

/** Whether a (lowercased) field may go on to another connection: not connection-specific, `te` only as `trailers`. */
function crossesConnections(name: string, value: string): boolean {
  if (CONNECTION_SPECIFIC.has(name)) return false;
  return name !== 'te' || value.trim().toLowerCase() === 'trailers';
}

/**
 * A header block to send on, built from the fields as they arrived: pseudo-headers first, then
 * the rest in arrival order; a repeated field stays repeated (a split `cookie` stays split), and
 * fields the sender marked never-indexed stay so. Connection-specific fields are dropped, and
 * `te` kept only as `trailers`, which is all HTTP/2 allows.
 */
export function forwardableHeaders(raw: readonly string[], received: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = emptyBlock();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name.startsWith(':')) addField(out, name, raw[i + 1] as string);
  }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (!name.startsWith(':') && crossesConnections(name, value)) addField(out, name, value);
  }
  const sensitive = (received as Record<symbol, unknown>)[http2.sensitiveHeaders];
  if (Array.isArray(sensitive) && sensitive.length > 0) {
    (out as Record<symbol, unknown>)[http2.sensitiveHeaders] = sensitive;
  }
  return out;
}

/**
 * An HTTP/2 request's fields for an HTTP/1.1 request: `Host` from `:authority` first, the rest in
 * order without pseudo-headers and connection-specific fields, `cookie` fields joined into one.
 */
export function h1RequestHeaders(raw: readonly string[], authority: string): [string, string][] {
  const out: [string, string][] = [['host', authority]];
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name.startsWith(':') || name === 'host' || !crossesConnections(name, value)) continue;
    if (name === 'cookie') cookies.push(value);
    else out.push([name, value]);
  }
  if (cookies.length > 0) out.push(['cookie', cookies.join('; ')]);
  return out;
}

/**
 * An HTTP/1.1 request's fields for HTTP/2: pseudo-headers first (`:authority` from `Host`), then the
 * rest in order with names lowercased, less `Host`, connection-specific fields and those the
 * `Connection` field names, `te` kept only as `trailers`.
 */
export function h2RequestHeaders(
  pseudo: { method: string; scheme: string; authority: string; path: string },
  raw: readonly string[],
): OutgoingHttpHeaders {
  const out = emptyBlock();
  out[':method'] = pseudo.method;
  out[':scheme'] = pseudo.scheme;
  out[':authority'] = pseudo.authority;
  out[':path'] = pseudo.path;
  const nominated = nominatedByConnection(toPairs(raw));
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name !== 'host' && !nominated.has(name) && crossesConnections(name, value)) addField(out, name, value);
  }
  return out;
}

/** An HTTP/2 response's (or trailers') fields for HTTP/1.1: pseudo-headers left out, order and repeats kept. */
export function h1ResponseHeaders(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!name.startsWith(':')) out.push([name, raw[i + 1] as string]);
  }
  return out;
}

/**
 * An HTTP/1.1 response's (or trailers') fields for HTTP/2: names lowercased (HTTP/2 requires it),
 * order and repeats kept, connection-specific fields dropped, `:status` first when given.
 */
export function h2ResponseHeaders(status: number | undefined, raw: readonly string[]): OutgoingHttpHeaders {
  const out = emptyBlock();
  if (status !== undefined) out[':status'] = String(status);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!CONNECTION_SPECIFIC.has(name)) addField(out, name, raw[i + 1] as string);
  }
  return out;
}

const CODE_NAMES = new Map<number, string>(
  Object.entries(http2.constants)
    .filter(([name]) =>
      /^NGHTTP2_(NO_ERROR|PROTOCOL_ERROR|INTERNAL_ERROR|FLOW_CONTROL_ERROR|SETTINGS_TIMEOUT|STREAM_CLOSED|FRAME_SIZE_ERROR|REFUSED_STREAM|CANCEL|COMPRESSION_ERROR|CONNECT_ERROR|ENHANCE_YOUR_CALM|INADEQUATE_SECURITY|HTTP_1_1_REQUIRED)$/.test(
        name,
      ),
    )
    .map(([name, code]) => [code as number, name.slice('NGHTTP2_'.length)]),
);

/** An HTTP/2 error code as RFC 9113 names it: `CANCEL`, `REFUSED_STREAM`, ... */
export function h2CodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `0x${code.toString(16)}`;
}
