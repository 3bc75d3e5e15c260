import { HOP_BY_HOP_HEADERS, nominatedByConnection } from '../../app/http-headers.js';
import type { RawHeaders } from '../../app/proxy-events.js';

/** Node's flat `rawHeaders` ([name, value, name, value, ...]) as pairs. */
export function toPairs(flat: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
  return pairs;
}

export function flatten(pairs: RawHeaders): string[] {
  const flat: string[] = [];
  for (const [name, value] of pairs) flat.push(name, value);
  return flat;
}

export interface HopByHopOptions {
  /** Keep `Connection` and `Upgrade`, for a protocol upgrade (WebSocket). */
  readonly keepUpgrade?: boolean;
  /** Keep `Transfer-Encoding`: Node frames the body to match it. Dropped for HTTP/1.0 peers. */
  readonly keepTransferEncoding?: boolean;
}

/**
 * The end-to-end headers of a message, in their original order and case. `Transfer-Encoding` is
 * kept by default so Node re-frames the body the way the sender framed it.
 */
export function endToEnd(pairs: RawHeaders, options: HopByHopOptions = {}): [string, string][] {
  const listed = nominatedByConnection(pairs);
  const kept: [string, string][] = [];
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (options.keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      kept.push([name, value]);
      continue;
    }
    if (lower === 'transfer-encoding' && options.keepTransferEncoding === false) continue;
    if (HOP_BY_HOP_HEADERS.has(lower) || (listed.has(lower) && lower !== 'transfer-encoding')) continue;
    kept.push([name, value]);
  }
  return kept;
}

/** Flat `[name, value, ...]` fields without Content-Length: for a body whose length rules change. */
export function withoutContentLength(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i]!.toLowerCase() !== 'content-length') out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
}

/**
 * Fields as an object keyed by lowercase name, a repeated field's values in an array: what Node's
 * `writeEarlyHints` takes (it reads the `link` key).
 */
export function fieldsByName(pairs: RawHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
