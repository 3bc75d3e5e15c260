import type { ExchangeView } from '../model/exchange.js';
import { isFailure } from '../../../app/proxy-events.js';
import { isStreamed, protocolLabel, typeCategory, urlParts, type TypeCategory } from './exchange-row.js';

export type StatusFilter = 'all' | '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'failed' | 'pending';

export interface ExchangeFilter {
  /** Matched, case-insensitively, against method, URL and status. */
  readonly text: string;
  /** Matched against the host as a suffix (`example.com` matches `api.example.com`); empty = all. */
  readonly host: string;
  readonly status: StatusFilter;
  readonly type: TypeCategory | 'all';
  /** A protocol column label (`HTTP/2`, `WS`, ...), or `all`. */
  readonly protocol: string;
  readonly streamingOnly: boolean;
}

export const NO_FILTER: ExchangeFilter = {
  text: '',
  host: '',
  status: 'all',
  type: 'all',
  protocol: 'all',
  streamingOnly: false,
};

export function isFiltering(filter: ExchangeFilter): boolean {
  return (
    filter.text !== '' ||
    filter.host !== '' ||
    filter.status !== 'all' ||
    filter.type !== 'all' ||
    filter.protocol !== 'all' ||
    filter.streamingOnly
  );
}

export function matchesFilter(x: ExchangeView, filter: ExchangeFilter): boolean {
  if (filter.streamingOnly && !isStreamed(x)) return false;
  if (filter.type !== 'all' && typeCategory(x) !== filter.type) return false;
  if (filter.protocol !== 'all' && protocolLabel(x) !== filter.protocol) return false;
  if (filter.status !== 'all' && !statusMatches(x, filter.status)) return false;
  if (filter.host) {
    const host = urlParts(x).host.toLowerCase().replace(/:\d+$/, '');
    const wanted = filter.host.trim().toLowerCase();
    if (host !== wanted && !host.endsWith(`.${wanted}`) && !host.includes(wanted)) return false;
  }
  if (filter.text) {
    const needle = filter.text.trim().toLowerCase();
    const haystack =
      `${x.opened.request.method} ${x.opened.request.url} ${x.response?.response.status ?? ''}`.toLowerCase();
    if (!haystack.includes(needle)) return false;
  }
  return true;
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
