/**
 * A request head as text a person reads and edits: at a request breakpoint (the core sends it on
 * as edited) and when a captured request is sent again (the host sends what the user left). Pure.
 */
import type { RequestHead } from './proxy-events.js';

/** A held request's head as the user left it: what goes upstream instead of what the client sent. */
export interface EditedRequestHead {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** Its fields, pseudo-headers left out (the request line says them). */
  readonly headers: [string, string][];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A request head as the user sees and edits it at a breakpoint: `METHOD URL HTTP/x`, then `name: value` lines. */
export function requestHeadText(request: RequestHead): string {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  for (const [name, value] of request.headers) if (!name.startsWith(':')) lines.push(`${name}: ${value}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The head the user edited (as `requestHeadText` wrote it), or why it cannot go. The method, the
 * path and query and the fields may change; where the request goes may not (the URL keeps its
 * scheme, host and port: the upstream was chosen when the client connected).
 */
export function parseEditedHead(text: string, original: RequestHead): EditedRequestHead | string {
  const lines = text.split(/\r\n|\r|\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const first = /^(\S+) (\S+)(?: HTTP\/\d(?:\.\d)?)?$/.exec(lines[0]?.trim() ?? '');
  if (!first) return 'its first line is not "METHOD URL HTTP/version"';
  const [, method = '', target = ''] = first;
  if (!TOKEN.test(method)) return `"${method}" is not a method`;
  let path: string;
  try {
    const was = new URL(original.url);
    const url = new URL(target, was);
    if (url.origin !== was.origin) return `the URL must keep ${was.origin}: where the request goes cannot change`;
    path = `${url.pathname}${url.search}`;
  } catch {
    return `"${target}" is not a URL`;
  }
  const headers: [string, string][] = [];
  for (const [i, line] of lines.slice(1).entries()) {
    const colon = line.indexOf(':', 1);
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!TOKEN.test(name)) return `line ${i + 2} is not "name: value"`;
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { method, path, headers };
}
