import { errorMessage } from '../../app/error-message.js';
/**
 * An incremental JSON parser that hands over the items of one array as each completes, so a HAR
 * file of any size is never one string (V8 caps strings near 512 MB) and never one object tree.
 * It validates as strictly as `JSON.parse` and says where a syntax error is: byte, line, column.
 */

/** A JSON syntax error with its place in the input. */
export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly byte: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`JSON syntax error at line ${line}, column ${column} (byte ${byte}): ${reason}`);
    this.name = 'JsonSyntaxError';
  }
}

type Container = Record<string, unknown> | unknown[];

interface Frame {
  readonly kind: 'object' | 'array';
  /** Undefined for the streamed array: its items are handed over, not kept. */
  readonly value: Container | undefined;
  readonly path: readonly string[];
  /** The key whose value comes next (objects only). */
  key: string | undefined;
  /** What the frame expects next. */
  state: 'first' | 'key' | 'colon' | 'value' | 'comma';
  /** Items handed over so far (the streamed array only). */
  count: number;
}

/** Where the current piece starts in the input, so any place in it can be named. */
interface PieceStart {
  readonly chars: number;
  readonly bytes: number;
  readonly line: number;
  readonly lineStartChar: number;
}

/** A place in the input: a piece and an index in it (a token may start in an earlier piece). */
interface Place {
  readonly piece: string;
  readonly index: number;
  readonly start: PieceStart;
}

type Scalar =
  | { kind: 'string'; parts: string[]; escape: boolean; isKey: boolean; from: Place }
  | { kind: 'bare'; text: string; from: Place };

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const BARE_CHAR = /[0-9a-zA-Z+\-.]/;
const STRING_STOP = /["\\]/g;

/**
 * Feed text in pieces with `write`, then `end`. Items of the array at `streamPath` (e.g.
 * `['log', 'entries']`) go to `onItem` as they complete; everything else is assembled, and `end`
 * returns the whole document with that array left empty.
 */
export class JsonStreamParser {
  private readonly stack: Frame[] = [];
  private root: unknown;
  private rootDone = false;
  private scalar: Scalar | undefined;
  /** Characters, bytes and lines of the pieces before the current one. */
  private charsBefore = 0;
  private bytesBefore = 0;
  private line = 1;
  private lineStartChar = 0;
  private piece = '';

  constructor(
    private readonly streamPath: readonly string[],
    private readonly onItem: (item: unknown, index: number) => void,
  ) {}

  write(text: string): void {
    this.piece = text;
    let i = 0;
    while (i < text.length) {
      if (this.scalar) {
        i = this.scalar.kind === 'string' ? this.continueString(text, i) : this.continueBare(text, i);
        continue;
      }
      const code = text.charCodeAt(i);
      if (WHITESPACE.has(code)) {
        i++;
        continue;
      }
      i = this.structural(text, i, code);
    }
    this.advance(text);
  }

  /**
   * While the object at `path` (e.g. `['log']`) is being read, its members read so far; so an
   * item's handler can see what came before the streamed array (`log.creator`). Undefined
   * otherwise.
   */
  openObject(path: readonly string[]): Readonly<Record<string, unknown>> | undefined {
    const frame = this.stack.find((f) => f.kind === 'object' && sameList(f.path, path));
    return frame?.value as Record<string, unknown> | undefined;
  }

  /** The document, with the streamed array empty; throws when the input stopped early. */
  end(): unknown {
    this.piece = '';
    if (this.scalar?.kind === 'bare') this.finishBare();
    if (this.scalar || this.stack.length > 0 || !this.rootDone) this.fail(0, 'unexpected end of input');
    return this.root;
  }

  private structural(text: string, i: number, code: number): number {
    const frame = this.stack[this.stack.length - 1];
    const ch = text[i]!;
    if (this.rootDone && !frame) this.fail(i, `unexpected ${describe(ch)} after the end of the document`);
    const expectsKey = frame?.kind === 'object' && (frame.state === 'first' || frame.state === 'key');
    const expectsValue = frame?.kind === 'object' ? frame.state === 'value' : !frame || frame.state !== 'comma';
    if (code === 0x22 /* " */) {
      if (!expectsKey && !expectsValue) this.fail(i, `expected ${expectation(frame)}, found a string`);
      this.scalar = { kind: 'string', parts: [], escape: false, isKey: expectsKey, from: this.place(i) };
      return i + 1;
    }
    if (frame?.state === 'colon') {
      if (ch !== ':') this.fail(i, `expected ':' after an object key, found ${describe(ch)}`);
      frame.state = 'value';
      return i + 1;
    }
    if (ch === ',') {
      if (frame?.state !== 'comma') this.fail(i, `expected ${expectation(frame)}, found ','`);
      frame.state = frame.kind === 'object' ? 'key' : 'value';
      return i + 1;
    }
    if (ch === '}' || ch === ']') {
      const kind = ch === '}' ? 'object' : 'array';
      if (!frame || frame.kind !== kind || (frame.state !== 'comma' && frame.state !== 'first')) {
        this.fail(i, `expected ${expectation(frame)}, found ${describe(ch)}`);
      }
      this.stack.pop();
      this.completeValue(frame.value ?? []);
      return i + 1;
    }
    if (!expectsValue) this.fail(i, `expected ${expectation(frame)}, found ${describe(ch)}`);
    if (ch === '{' || ch === '[') {
      const path = frame ? [...frame.path, frame.kind === 'object' ? frame.key! : '*'] : [];
      const streamed = ch === '[' && sameList(path, this.streamPath);
      this.stack.push({
        kind: ch === '{' ? 'object' : 'array',
        value: streamed ? undefined : ch === '{' ? {} : [],
        path,
        key: undefined,
        state: 'first',
        count: 0,
      });
      return i + 1;
    }
    if (!BARE_CHAR.test(ch)) this.fail(i, `unexpected ${describe(ch)}`);
    this.scalar = { kind: 'bare', text: '', from: this.place(i) };
    return i;
  }

  /** Scans a string's characters up to its closing quote, keeping the raw text with escapes. */
  private continueString(text: string, i: number): number {
    const scalar = this.scalar as Extract<Scalar, { kind: 'string' }>;
    let from = i;
    if (scalar.escape) {
      // The character after a backslash that ended the previous piece.
      scalar.escape = false;
      from = i + 1;
    }
    STRING_STOP.lastIndex = from;
    for (;;) {
      const match = STRING_STOP.exec(text);
      if (!match) {
        scalar.parts.push(text.slice(i));
        return text.length;
      }
      const at = match.index;
      if (text[at] === '\\') {
        if (at + 1 >= text.length) {
          scalar.parts.push(text.slice(i));
          scalar.escape = true;
          return text.length;
        }
        STRING_STOP.lastIndex = at + 2;
        continue;
      }
      scalar.parts.push(text.slice(i, at));
      this.scalar = undefined;
      this.finishString(scalar);
      return at + 1;
    }
  }

  private finishString(scalar: Extract<Scalar, { kind: 'string' }>): void {
    const raw = scalar.parts.length === 1 ? scalar.parts[0]! : scalar.parts.join('');
    let value: string;
    try {
      // Native parsing decodes escapes and refuses control characters exactly as JSON.parse does.
      value = JSON.parse(`"${raw}"`) as string;
    } catch (err) {
      this.failAt(scalar.from, `bad string (${errorMessage(err)})`);
    }
    const frame = this.stack[this.stack.length - 1];
    if (scalar.isKey && frame) {
      frame.key = value;
      frame.state = 'colon';
      return;
    }
    this.completeValue(value);
  }

  private continueBare(text: string, i: number): number {
    const scalar = this.scalar as Extract<Scalar, { kind: 'bare' }>;
    let j = i;
    while (j < text.length && BARE_CHAR.test(text[j]!)) j++;
    scalar.text += text.slice(i, j);
    if (scalar.text.length > 400) this.failAt(scalar.from, 'a number or literal far too long');
    if (j < text.length) this.finishBare();
    return j;
  }

  private finishBare(): void {
    const { text, from } = this.scalar as Extract<Scalar, { kind: 'bare' }>;
    this.scalar = undefined;
    let value: unknown;
    if (text === 'true') value = true;
    else if (text === 'false') value = false;
    else if (text === 'null') value = null;
    else if (NUMBER.test(text)) value = Number(text);
    else this.failAt(from, `unexpected ${JSON.stringify(text)}`);
    this.completeValue(value);
  }

  /** A value is complete: into its parent, to `onItem`, or as the document. */
  private completeValue(value: unknown): void {
    const frame = this.stack[this.stack.length - 1];
    if (!frame) {
      this.root = value;
      this.rootDone = true;
      return;
    }
    if (frame.kind === 'object') {
      (frame.value as Record<string, unknown>)[frame.key!] = value;
    } else if (frame.value) {
      (frame.value as unknown[]).push(value);
    } else {
      this.onItem(value, frame.count++);
    }
    frame.state = 'comma';
  }

  private advance(text: string): void {
    this.bytesBefore += Buffer.byteLength(text);
    let at = text.indexOf('\n');
    while (at >= 0) {
      this.line++;
      this.lineStartChar = this.charsBefore + at + 1;
      at = text.indexOf('\n', at + 1);
    }
    this.charsBefore += text.length;
  }

  private place(index: number): Place {
    return {
      piece: this.piece,
      index,
      start: { chars: this.charsBefore, bytes: this.bytesBefore, line: this.line, lineStartChar: this.lineStartChar },
    };
  }

  private fail(index: number, reason: string): never {
    this.failAt(this.place(index), reason);
  }

  /** Throws with the byte, line and column of a place; counted only now, when it is needed. */
  private failAt(place: Place, reason: string): never {
    const before = place.piece.slice(0, place.index);
    let { line, lineStartChar } = place.start;
    for (let at = before.indexOf('\n'); at >= 0; at = before.indexOf('\n', at + 1)) {
      line++;
      lineStartChar = place.start.chars + at + 1;
    }
    const char = place.start.chars + place.index;
    throw new JsonSyntaxError(reason, place.start.bytes + Buffer.byteLength(before), line, char - lineStartChar + 1);
  }
}

function expectation(frame: Frame | undefined): string {
  if (!frame) return 'a value';
  switch (frame.state) {
    case 'first':
      return frame.kind === 'object' ? "an object key or '}'" : "a value or ']'";
    case 'key':
      return 'an object key';
    case 'colon':
      return "':'";
    case 'value':
      return 'a value';
    case 'comma':
      return frame.kind === 'object' ? "',' or '}'" : "',' or ']'";
  }
}

function describe(ch: string): string {
  return JSON.stringify(ch);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}
