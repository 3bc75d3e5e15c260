import type { RawHeaders } from '../../app/proxy-events.js';

/** Headers that carry credentials in nearly every API: redacted whenever redaction is on. */
export const SECRET_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

export const REDACTED = '[redacted]';

/** The header names to redact, lower-cased: the usual secrets plus the user's own (e.g. `x-api-key`). */
export function redactionSet(extraNames: readonly string[] = []): ReadonlySet<string> {
  return new Set([...SECRET_HEADERS, ...extraNames.map((name) => name.trim().toLowerCase()).filter(Boolean)]);
}

/** The headers with the values of the named ones replaced; names, order and repeats stay, so a reader sees they were sent. */
export function redactHeaders(headers: RawHeaders, names: ReadonlySet<string> | undefined): RawHeaders {
  if (!names || names.size === 0) return headers;
  return headers.map(([name, value]) => (names.has(name.toLowerCase()) ? [name, REDACTED] : [name, value]));
}

export function isRedacted(name: string, names: ReadonlySet<string> | undefined): boolean {
  return names?.has(name.toLowerCase()) ?? false;
}
