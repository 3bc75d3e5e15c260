import type { ExchangeView } from '../model/exchange.js';
import { IMPORTED_ID_BASE } from '../../../app/contract.js';
import { isFailure, type RawHeaders } from '../../../app/proxy-events.js';
import { isStreamed, protocolLabel, typeCategory, urlParts, type TypeCategory } from './exchange-row.js';
import { llmCallOf } from '../llm/llm-call.js';

export type StatusFilter = 'all' | '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'failed' | 'pending';

/**
 * Where exchanges came from: anywhere, the proxy itself, or one imported HAR file by name. A file
 * is an object, not a string, so a file named `live` is still a file.
 */
export type SourceFilter = 'all' | 'live' | { readonly file: string };

export interface ExchangeFilter {
  /**
   * Matched, case-insensitively, against method, URL, status (an RPC call's status name too), and
   * header names and values.
   */
  readonly text: string;
  /** `text` is also looked for inside bodies (by the host, which keeps them). */
  readonly inBodies: boolean;
  /**
   * The host's answer for `text` inside bodies: ids whose request or response body holds it.
   * Undefined until it came (or when `inBodies` is off).
   */
  readonly bodyMatches: ReadonlySet<number> | undefined;
  /** Matched against the host as a suffix (`example.com` matches `api.example.com`); empty = all. */
  readonly host: string;
  readonly status: StatusFilter;
  /** A content type category, or `llm`: calls to an LLM API (`llmCallOf`), whatever they carry. */
  readonly type: TypeCategory | 'all' | 'llm';
  /** A protocol column label (`HTTP/2`, `WS`, ...), or `all`. */
  readonly protocol: string;
  readonly streamingOnly: boolean;
  readonly source: SourceFilter;
}

export const NO_FILTER: ExchangeFilter = {
  text: '',
  inBodies: false,
  bodyMatches: undefined,
  host: '',
  status: 'all',
  type: 'all',
  protocol: 'all',
  streamingOnly: false,
  source: 'all',
};

export function isFiltering(filter: ExchangeFilter): boolean {
  return (
    filter.text !== '' ||
    filter.host !== '' ||
    filter.status !== 'all' ||
    filter.type !== 'all' ||
    filter.protocol !== 'all' ||
    filter.streamingOnly ||
    filter.source !== 'all'
  );
}

export function matchesFilter(x: ExchangeView, filter: ExchangeFilter): boolean {
  if (filter.source !== 'all' && !sourceMatches(x, filter.source)) return false;
  if (filter.streamingOnly && !isStreamed(x)) return false;
  if (filter.type === 'llm') {
    if (llmCallOf(x) === undefined) return false;
  } else if (filter.type !== 'all' && typeCategory(x) !== filter.type) return false;
  if (filter.protocol !== 'all' && protocolLabel(x) !== filter.protocol) return false;
  if (filter.status !== 'all' && !statusMatches(x, filter.status)) return false;
  if (filter.host) {
    const host = urlParts(x).host.toLowerCase().replace(/:\d+$/, '');
    const wanted = filter.host.trim().toLowerCase();
    if (host !== wanted && !host.endsWith(`.${wanted}`) && !host.includes(wanted)) return false;
  }
  if (filter.text) {
    const needle = filter.text.trim().toLowerCase();
    // An RPC call's status name too (`not_found`), as its status cell shows it.
    const haystack =
      `${x.opened.request.method} ${x.opened.request.url} ${x.response?.response.status ?? ''} ${x.rpcStatus?.name ?? ''}`.toLowerCase();
    if (
      !haystack.includes(needle) &&
      !headersHold(x.opened.request.headers, needle) &&
      !headersHold(x.response?.response.headers, needle) &&
      !(filter.inBodies && filter.bodyMatches?.has(x.id))
    )
      return false;
  }
  return true;
}

/** Whether a header's name, its value, or the two as `name: value` hold `needle` (lower case). */
function headersHold(headers: RawHeaders | undefined, needle: string): boolean {
  if (!headers) return false;
  for (const [name, value] of headers) {
    if (`${name}: ${value}`.toLowerCase().includes(needle)) return true;
  }
  return false;
}

function sourceMatches(x: ExchangeView, source: Exclude<SourceFilter, 'all'>): boolean {
  if (source === 'live') return x.id < IMPORTED_ID_BASE;
  return x.opened.importedFrom === source.file;
}

function statusMatches(x: ExchangeView, status: StatusFilter): boolean {
  if (status === 'failed') return x.closed !== undefined && isFailure(x.closed.outcome);
  if (status === 'pending') return x.response === undefined && x.closed === undefined;
  const code = x.response?.response.status;
  return code !== undefined && `${Math.floor(code / 100)}xx` === status;
}

/** Ids of the exchanges that pass, in arrival order. */
export function filterIds(
  order: readonly number[],
  exchanges: ReadonlyMap<number, ExchangeView>,
  filter: ExchangeFilter,
): number[] {
  if (!isFiltering(filter)) return order.slice();
  const ids: number[] = [];
  for (const id of order) {
    const x = exchanges.get(id);
    if (x && matchesFilter(x, filter)) ids.push(id);
  }
  return ids;
}

/**
 * The names of the HAR files the exchanges in `order` were imported from, in the order they first
 * appear. Only imported ids are looked up, so a long live capture costs a comparison per row.
 */
export function importedFiles(order: readonly number[], exchanges: ReadonlyMap<number, ExchangeView>): string[] {
  const files = new Set<string>();
  for (const id of order) {
    if (id < IMPORTED_ID_BASE) continue;
    const file = exchanges.get(id)?.opened.importedFrom;
    if (file !== undefined) files.add(file);
  }
  return [...files];
}
