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

/**
 * Query parameters that carry credentials in common APIs: API keys (`key`, `api_key`), OAuth
 * tokens, signed-URL signatures and credentials (`X-Amz-Signature`, `sig`), passwords, sessions.
 * Matched on the name lower-cased without `-` and `_`, by its ending (`access_token`, `x-api-key`).
 */
const SECRET_PARAM =
  /(token|secret|password|passwd|pwd|signature|sig|apikey|key|auth|authorization|credential|session|sessionid)$/;

export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name.toLowerCase().replace(/[-_]/g, ''));
}

/** What redaction puts in a URL: plain letters, so it needs no percent-encoding. */
export const REDACTED_IN_URL = 'redacted';

/**
 * The URL with its user info and the values of secret-looking query parameters replaced. Every
 * other byte stays as it was (a re-serialised query would change the encoding of the rest).
 */
export function redactUrl(url: string): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt < 0 ? url : url.slice(0, hashAt);
  const hash = hashAt < 0 ? '' : url.slice(hashAt);
  const queryAt = beforeHash.indexOf('?');
  let base = queryAt < 0 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = queryAt < 0 ? undefined : beforeHash.slice(queryAt + 1);
  // scheme://user:password@host... : the user info ends at the last @ before the path.
  const authority = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(base);
  if (authority && authority[2]!.includes('@')) {
    const hostPart = authority[2]!.slice(authority[2]!.lastIndexOf('@') + 1);
    base = `${authority[1]}${REDACTED_IN_URL}:${REDACTED_IN_URL}@${hostPart}${base.slice(authority[0].length)}`;
  }
  if (query === undefined) return base + hash;
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq < 0) return part;
    let name: string;
    try {
      name = decodeURIComponent(part.slice(0, eq).replace(/\+/g, ' '));
    } catch {
      name = part.slice(0, eq);
    }
    return isSecretParam(name) ? `${part.slice(0, eq)}=${REDACTED_IN_URL}` : part;
  });
  return `${base}?${parts.join('&')}${hash}`;
}
