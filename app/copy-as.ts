/**
 * A captured request as a command that sends it again: curl for a POSIX shell (bash, zsh) and
 * `fetch` for a browser console or Node. Pure functions, shared by the renderer and the tests.
 */
import { HOP_BY_HOP_HEADERS, nominatedByConnection } from './http-headers.js';
import { headerValue, type RawHeaders, type RequestHead } from './proxy-events.js';

export interface RequestToCopy {
  readonly head: RequestHead;
  /** The body as forwarded (still content-encoded); undefined when the request had none. */
  readonly body?: Uint8Array | undefined;
  /** Why `body` is not what the client sent (not kept, cut short), in words; the command leads with it. */
  readonly bodyNote?: string | undefined;
}

/** Above this a body goes to curl on its standard input: Linux refuses a single argument over 128 KiB. */
const INLINE_BODY_LIMIT = 64 * 1024;
/** curl 7.x sends `Expect: 100-continue` on its own for an HTTP/1.1 body over 1 KiB. */
const CURL_EXPECT_THRESHOLD = 1024;

/** The fields to send again, in their order: no pseudo-headers, hop-by-hop fields or framing. */
export function replayHeaders(head: RequestHead): [string, string][] {
  const listed = nominatedByConnection(head.headers);
  const url = new URL(head.url);
  const kept: [string, string][] = [];
  let cookie: [string, string] | undefined;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    // `:authority`, `:path` and `:scheme` are already in the URL, `:method` in the method.
    // `Proxy-Authorization` was Sluice's to read; the rest described the hop to Sluice.
    if (name.startsWith(':') || HOP_BY_HOP_HEADERS.has(lower) || listed.has(lower)) continue;
    // The tool frames the body it sends; a copied length would be wrong for a body not kept.
    if (lower === 'content-length' || lower === 'transfer-encoding') continue;
    if (lower === 'host' && sameAuthority(value, url)) continue;
    if (lower === 'cookie') {
      // HTTP/2 allows one cookie field per crumb; HTTP/1.1 wants them joined (RFC 9113 section 8.2.3).
      if (cookie) cookie[1] = `${cookie[1]}; ${value}`;
      else kept.push((cookie = [name, value]));
      continue;
    }
    kept.push([name, value]);
  }
  return kept;
}

function sameAuthority(host: string, url: URL): boolean {
  const wanted = host.trim().toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return wanted === url.host || wanted === `${url.hostname}:${port}`;
}

function has(headers: RawHeaders, name: string): boolean {
  return headerValue(headers, name) !== undefined;
}

/** Whether the request carried a body, even an empty one (`Content-Length: 0` on a POST). */
function declaresBody(request: RequestToCopy): boolean {
  const { head, body } = request;
  if (body && body.length > 0) return true;
  const length = headerValue(head.headers, 'content-length');
  return (length !== undefined && length.trim() !== '') || has(head.headers, 'transfer-encoding');
}

/** A curl command line that sends the request again, for bash or zsh; lines joined with `\`. */
export function toCurl(request: RequestToCopy): string {
  const { head } = request;
  const body = request.body ?? new Uint8Array(0);
  const withBody = declaresBody(request);
  const url = new URL(head.url);
  const headers = replayHeaders(head);
  const args: string[] = [`curl ${shellQuote(head.url)}`];
  const method = head.method.toUpperCase();
  // curl -X HEAD would wait for a body that never comes.
  if (method === 'HEAD') args.push('--head');
  else if (method !== (withBody ? 'POST' : 'GET')) args.push(`-X ${shellQuote(head.method)}`);
  if (head.httpVersion === '2') args.push(url.protocol === 'https:' ? '--http2' : '--http2-prior-knowledge');
  else if (head.httpVersion === '1.0') args.push('--http1.0');
  // Over TLS curl offers HTTP/2 by itself; the request we copy was HTTP/1.1.
  else if (url.protocol === 'https:') args.push('--http1.1');
  if (/[[\]{}]/.test(head.url)) args.push('--globoff');
  for (const [name, value] of headers) {
    // `-H 'Name:'` would remove the header; `-H 'Name;'` is curl's way to send it empty.
    args.push(`-H ${headerWord(value === '' ? `${name};` : `${name}: ${value}`)}`);
  }
  if (withBody && !has(head.headers, 'content-type')) args.push(`-H 'Content-Type:'`);
  if (withBody && head.httpVersion === '1.1' && body.length > CURL_EXPECT_THRESHOLD && !has(head.headers, 'expect')) {
    args.push(`-H 'Expect:'`);
  }
  // Ask for the same encodings (the header above) and show the answer decoded.
  if (has(head.headers, 'accept-encoding')) args.push('--compressed');

  let input = '';
  if (withBody) {
    const text = textOf(body);
    if (text !== undefined && body.length <= INLINE_BODY_LIMIT) args.push(`--data-raw ${shellQuote(text)}`);
    else {
      input =
        text !== undefined
          ? `printf %s ${shellQuote(text)} | `
          : `echo ${shellQuote(base64Of(body))} | base64 --decode | `;
      args.push('--data-binary @-');
    }
  }
  const note = request.bodyNote ? `# ${request.bodyNote.replace(/\n/g, ' ')}\n` : '';
  return `${note}${input}${args.join(' \\\n  ')}`;
}

/** A `fetch` call that sends the request again, for a browser console or Node (top-level await). */
export function toFetch(request: RequestToCopy): string {
  const { head } = request;
  const body = request.body ?? new Uint8Array(0);
  const method = head.method.toUpperCase();
  const notes: string[] = [];
  if (request.bodyNote) notes.push(request.bodyNote);
  if (head.httpVersion === '2') notes.push('Sent as HTTP/2; fetch picks the HTTP version itself.');
  const bodyAllowed = method !== 'GET' && method !== 'HEAD';
  if (declaresBody(request) && !bodyAllowed) notes.push(`fetch cannot send a body with ${method}; it is left out.`);

  // fetch refuses Expect and sets Host itself; browsers also drop Cookie, Origin and a few others.
  const headers = replayHeaders(head).filter(([name]) => !['host', 'expect'].includes(name.toLowerCase()));
  const options: string[] = [];
  if (method !== 'GET') options.push(`method: ${JSON.stringify(head.method)}`);
  if (headers.length > 0) {
    const names = new Set(headers.map(([name]) => name.toLowerCase()));
    // An object cannot hold a name twice; pairs keep every repeat in order.
    const lines =
      names.size === headers.length
        ? headers.map(([name, value]) => `    ${JSON.stringify(name)}: ${JSON.stringify(value)},`)
        : headers.map(([name, value]) => `    [${JSON.stringify(name)}, ${JSON.stringify(value)}],`);
    const [open, close] = names.size === headers.length ? ['{', '}'] : ['[', ']'];
    options.push(`headers: ${open}\n${lines.join('\n')}\n  ${close}`);
  }
  if (bodyAllowed && declaresBody(request)) {
    const text = textOf(body);
    // A string body gets `Content-Type: text/plain` from fetch; bytes get none, as the original had none.
    if (text !== undefined && has(head.headers, 'content-type')) options.push(`body: ${JSON.stringify(text)}`);
    else if (text !== undefined) options.push(`body: new TextEncoder().encode(${JSON.stringify(text)})`);
    else options.push(`body: Uint8Array.from(atob(${JSON.stringify(base64Of(body))}), (c) => c.charCodeAt(0))`);
  }
  const call =
    options.length === 0
      ? `await fetch(${JSON.stringify(head.url)});`
      : `await fetch(${JSON.stringify(head.url)}, {\n${options.map((o) => `  ${o},`).join('\n')}\n});`;
  return [...notes.map((n) => `// ${n.replace(/\n/g, ' ')}`), call].join('\n');
}

/**
 * What to tell the user about the body a copy sends. `kept` is what the host still has (null for
 * no copy at all); `cap` is the most a copy will carry.
 */
export function keptBodyNote(
  forwarded: number,
  kept: { readonly captured: number; readonly limited?: string | undefined } | null,
  options: { readonly stillSending?: boolean; readonly cap?: number } = {},
): string | undefined {
  if (forwarded === 0 && !options.stillSending) return undefined;
  if (!kept) {
    if (forwarded === 0) return undefined;
    return `Sluice kept no copy of this request's ${forwarded}-byte body (capture was paused, or it was cleared); this sends none.`;
  }
  if (options.cap !== undefined && kept.captured > options.cap) {
    return `The request body (${kept.captured} bytes) is more than a copy carries (${options.cap}); this sends none. Export it as HAR to get it whole.`;
  }
  if (kept.limited) {
    return `Sluice kept only the first ${kept.captured} of this request's ${forwarded} body bytes (${kept.limited}); this sends those.`;
  }
  if (options.stillSending) {
    return `The request may still have been arriving; this sends the ${kept.captured} body bytes kept so far.`;
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text when it is UTF-8 without NUL (no shell string can hold a NUL); else undefined. */
function textOf(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function base64Of(bytes: Uint8Array): string {
  let binary = '';
  // String.fromCharCode takes arguments: a slice at a time keeps under the engine's argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/* eslint-disable no-control-regex -- finding control characters is what these are for */
const CONTROL = /[\x00-\x1f\x7f]/;
const NON_ASCII = /[^\x00-\x7f]/;
const ESCAPE_CONTROLS = /[\\'\x00-\x1f\x7f]/g;
const ESCAPE_BYTES = /[\\'\x00-\x1f\x7f-\xff]/g;
/* eslint-enable no-control-regex */

/**
 * A header's `Name: value` as one shell word. Node reads header bytes as Latin-1, and most
 * non-ASCII values are UTF-8 read that way: those are written as the text, which a terminal pastes
 * as the same UTF-8. Bytes that are no UTF-8 are written one by one as `\xHH` in `$'...'`.
 */
function headerWord(line: string): string {
  if (!NON_ASCII.test(line)) return shellQuote(line);
  const bytes = Uint8Array.from(line, (c) => c.charCodeAt(0) & 0xff);
  const text = textOf(bytes);
  return text !== undefined ? shellQuote(text) : ansiC(line, ESCAPE_BYTES);
}

/**
 * One shell word: `'...'` when it has no control characters, else bash's `$'...'` with escapes.
 * Never holds a NUL (callers send such bodies through base64).
 */
export function shellQuote(value: string): string {
  if (!CONTROL.test(value)) return `'${value.replace(/'/g, `'\\''`)}'`;
  return ansiC(value, ESCAPE_CONTROLS);
}

/** bash's `$'...'` with the characters `escape` matches written as escapes (each below U+0100). */
function ansiC(value: string, escape: RegExp): string {
  const escaped = value.replace(escape, (c) => {
    if (c === '\\' || c === "'") return `\\${c}`;
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `$'${escaped}'`;
}
