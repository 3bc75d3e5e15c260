/**
 * Reading fields of a HAR entry that any tool may have written: every field is checked, none is
 * trusted, and what is missing or odd falls back to what HAR 1.2 says it means.
 */
import type { RawHeaders } from '../../app/proxy-events.js';

export type Fields = Record<string, unknown>;

export function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(parent: Fields, key: string): Fields | undefined {
  const value = parent[key];
  return isObject(value) ? value : undefined;
}

export function stringAt(parent: Fields | undefined, key: string): string | undefined {
  const value = parent?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** A finite number, or undefined: HAR uses -1 for "does not apply", which callers keep. */
export function numberAt(parent: Fields | undefined, key: string): number | undefined {
  const value = parent?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * A connection or stream id: a positive whole number, or one written as digits, as HAR's
 * `connection` must be (a string) and Chrome writes it. Anything else is no id.
 */
export function idAt(parent: Fields | undefined, key: string): number | undefined {
  const value = parent?.[key];
  const id = typeof value === 'string' && /^\d{1,15}$/.test(value.trim()) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

export function arrayAt(parent: Fields | undefined, key: string): unknown[] | undefined {
  const value = parent?.[key];
  return Array.isArray(value) ? value : undefined;
}

/** `[{name, value}]` as wire-order pairs; items that are not name/value objects are left out. */
export function headersAt(parent: Fields | undefined, key: string): [string, string][] {
  const headers: [string, string][] = [];
  for (const item of arrayAt(parent, key) ?? []) {
    if (!isObject(item) || typeof item.name !== 'string') continue;
    headers.push([item.name, item.value === undefined || item.value === null ? '' : String(item.value)]);
  }
  return headers;
}

/**
 * HAR writes `HTTP/1.1`; the core reports `1.1`, and `2` or `3` for the versions whose names have
 * no minor version. Tools spell those `HTTP/2`, `HTTP/2.0`, `http/2.0` (Chrome), `h2` (its ALPN
 * name), `HTTP/3` (Firefox) or `h3` (Chrome, also with a draft number, `h3-29`), in any case.
 * Anything else is kept as written, without an `HTTP/` in front.
 */
export function coreHttpVersion(version: string | undefined): string {
  const text = version?.trim();
  if (!text) return '1.1';
  const named = /^h([23])(?:c|-\w+)?$/i.exec(text);
  if (named) return named[1]!;
  const number = /^HTTP\/(.+)$/i.exec(text)?.[1] ?? text;
  return /^[23](\.0)?$/.test(number) ? number[0]! : number;
}

/**
 * A HAR body's `text` is the body with its Content-Encoding undone, so the imported headers must
 * not claim one any more: `body.read` with `decoded` would try to gunzip plain text. The header
 * keeps its place and value under another name, so nothing is lost.
 */
export const ORIGINAL_CONTENT_ENCODING = 'x-original-content-encoding';

export function withoutContentEncoding(headers: RawHeaders): [string, string][] {
  return headers.map(([name, value]) => [
    name.toLowerCase() === 'content-encoding' ? ORIGINAL_CONTENT_ENCODING : name,
    value,
  ]);
}

const BASE64 = /^[A-Za-z0-9+/\-_\s]*=*\s*$/;

/** Whether a text can be read as base64 (standard or URL-safe alphabet, whitespace allowed). */
export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

/** A body's bytes from its HAR text; throws with words when base64 is not base64. */
export function bodyBytes(text: string, base64: boolean): Buffer {
  if (!base64) return Buffer.from(text, 'utf8');
  if (!isBase64(text)) throw new Error('its text is marked base64 but is not valid base64');
  return Buffer.from(text, 'base64');
}
