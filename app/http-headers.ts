/**
 * Connection-specific fields (RFC 9110 section 7.6.1) and the non-standard ones proxies meet: they
 * describe one hop, never the request, so a proxy forwarding a message and a copy sending it again
 * both leave them out (with any field the Connection header names).
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'upgrade',
]);

/** The fields a `Connection` header names as this connection's own (RFC 9110 section 7.6.1), lower case. */
export function nominatedByConnection(pairs: Iterable<readonly [string, string]>): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of pairs) {
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) names.add(token.trim().toLowerCase());
  }
  return names;
}

/**
 * Whether a Content-Type names a Server-Sent Events stream, in any case and with any parameters.
 * One definition for the core (which parses such a body), HAR import and the renderer (which show it).
 */
export function isEventStream(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*text\/event-stream\s*(;|$)/i.test(contentType);
}

/**
 * The byte count a Content-Length field declares (several fields' values joined with commas),
 * or undefined when it declares none: repeats of one value are allowed (RFC 9110 section 8.6),
 * as "5, 5" or as two fields; anything else is no length.
 */
export function contentLengthValue(field: string): number | undefined {
  const value = field.includes(',') ? distinctValues(field) : field.trim();
  return /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** A comma-separated field's distinct values, joined again: one value when they all agree. */
export function distinctValues(field: string): string {
  return [...new Set(field.split(',').map((v) => v.trim()))].join(', ');
}
