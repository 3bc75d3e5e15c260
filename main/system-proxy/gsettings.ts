/**
 * The GVariant text form that `gsettings get` prints and `gsettings set` parses, for the few
 * types the proxy schema uses: strings, arrays of strings, integers and booleans.
 */

export type GValue = string | number | boolean | string[];

export class GVariantParseError extends Error {
  override name = 'GVariantParseError';
}

/** Quote a string the way GLib does: single quotes, with `\` and `'` escaped. */
export function formatString(value: string): string {
  let out = "'";
  for (const ch of value) {
    if (ch === '\\' || ch === "'") out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else out += ch;
  }
  return out + "'";
}

export function formatValue(value: GValue): string {
  if (typeof value === 'string') return formatString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new GVariantParseError(`not an integer: ${value}`);
    return String(value);
  }
  // The empty array needs a type annotation, otherwise GLib cannot tell its element type.
  if (value.length === 0) return '@as []';
  return '[' + value.map(formatString).join(', ') + ']';
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', a: '\x07' };

/** A tiny cursor parser: GLib quotes with ' or " (whichever avoids escaping) and escapes with \. */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  fail(what: string): never {
    throw new GVariantParseError(`${what} at ${this.pos} in ${JSON.stringify(this.text)}`);
  }

  string(): string {
    const quote = this.text[this.pos];
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted string');
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.text[this.pos++];
      if (ch === undefined) this.fail('unterminated string');
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = this.text[this.pos++];
      if (esc === undefined) this.fail('dangling escape');
      if (esc === 'u' || esc === 'U') {
        const len = esc === 'u' ? 4 : 8;
        const hex = this.text.slice(this.pos, this.pos + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) this.fail('bad unicode escape');
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += len;
      } else {
        out += ESCAPES[esc] ?? esc;
      }
    }
  }

  stringArray(): string[] {
    if (this.text.startsWith('@as', this.pos)) {
      this.pos += 3;
      this.skipSpace();
    }
    if (this.text[this.pos] !== '[') this.fail('expected [');
    this.pos++;
    const items: string[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipSpace();
      items.push(this.string());
      this.skipSpace();
      const sep = this.text[this.pos++];
      if (sep === ']') return items;
      if (sep !== ',') this.fail('expected , or ]');
    }
  }
}

function parseWhole<T>(text: string, read: (c: Cursor) => T): T {
  const c = new Cursor(text.trim());
  const value = read(c);
  c.skipSpace();
  if (c.pos !== c.text.length) c.fail('trailing text');
  return value;
}

export function parseString(text: string): string {
  return parseWhole(text, (c) => c.string());
}

export function parseStringArray(text: string): string[] {
  return parseWhole(text, (c) => c.stringArray());
}

export function parseInt32(text: string): number {
  // gsettings may print a type prefix such as `uint32 5` for unsigned keys; accept it.
  const m = /^(?:u?int32\s+)?(-?\d+)$/.exec(text.trim());
  if (!m) throw new GVariantParseError(`not an integer: ${JSON.stringify(text)}`);
  return Number(m[1]);
}

export function parseBoolean(text: string): boolean {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new GVariantParseError(`not a boolean: ${JSON.stringify(text)}`);
}
