/**
 * A protobuf message decoded with no schema, for display: field numbers, wire types and the
 * readings each value allows. The shape and the text follow `protoc --decode_raw` (protobuf's
 * TextFormat printing of unknown fields), so what Sluice shows matches what users check it against.
 */

interface FieldBase {
  /** The field number from the tag (1 to 2^29 - 1). */
  number: number;
}

export interface VarintField extends FieldBase {
  wireType: 'varint';
  /** Unsigned 64-bit decimal: what protoc prints (uint64, or an int32/int64 taken as unsigned). */
  value: string;
  /** The int64 reading: negative int32 and int64 values are sent as 10-byte varints. */
  signed: string;
  /** The sint32/sint64 (zigzag) reading. */
  zigzag: string;
}

export interface Fixed32Field extends FieldBase {
  wireType: 'fixed32';
  /** Unsigned decimal (fixed32). */
  value: string;
  /** The sfixed32 reading. */
  signed: string;
  float: number;
}

export interface Fixed64Field extends FieldBase {
  wireType: 'fixed64';
  /** Unsigned decimal (fixed64). */
  value: string;
  /** The sfixed64 reading. */
  signed: string;
  double: number;
}

/**
 * A length-delimited field, read the way protoc guesses: as a message when the bytes parse as
 * one (protoc prefers that even for text that happens to parse), else as text when it is
 * printable UTF-8, else as bytes. `bytes` is always the field's content, whatever the guess.
 */
export type LengthDelimitedField = FieldBase & { wireType: 'bytes'; bytes: Uint8Array } & (
    { kind: 'message'; fields: RawField[] } | { kind: 'string'; text: string } | { kind: 'bytes' }
  );

export interface GroupField extends FieldBase {
  wireType: 'group';
  fields: RawField[];
}

export type RawField = VarintField | Fixed32Field | Fixed64Field | LengthDelimitedField | GroupField;

/**
 * protoc tries length-delimited fields as messages only this many levels deep
 * (text_format.cc's kUnknownFieldRecursionLimit); deeper ones print as strings.
 */
const MESSAGE_GUESS_DEPTH = 10;
/** Groups the top-level parse allows inside one another (CodedInputStream's default limit). */
const TOP_LEVEL_GROUP_DEPTH = 100;

const UINT64_MASK = (1n << 64n) - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The fields of `bytes` as one protobuf message; undefined when they are not a well-formed one. */
export function decodeRaw(bytes: Uint8Array): RawField[] | undefined {
  return parseMessage(bytes, MESSAGE_GUESS_DEPTH, TOP_LEVEL_GROUP_DEPTH);
}

/**
 * What `protoc --decode_raw` prints for the bytes `fields` came from: one field a line, nested
 * messages and groups in braces indented two spaces, fixed32/64 in hex, strings C-escaped.
 */
export function formatDecodeRaw(fields: readonly RawField[]): string {
  const lines: string[] = [];
  appendFields(lines, fields, '');
  return lines.map((line) => `${line}\n`).join('');
}

// --- parsing ---------------------------------------------------------------------------------

interface Cursor {
  bytes: Uint8Array;
  at: number;
}

/**
 * `guessDepth` is how many more levels of length-delimited fields may be read as messages;
 * `groupDepth` how many groups may still open inside one another (protoc gives an embedded
 * message's parse the same limit as its guess depth, so deep groups make it a string).
 */
function parseMessage(bytes: Uint8Array, guessDepth: number, groupDepth: number): RawField[] | undefined {
  const cursor: Cursor = { bytes, at: 0 };
  const fields = parseFields(cursor, guessDepth, groupDepth, undefined);
  return fields && cursor.at === bytes.length ? fields : undefined;
}

/** Reads fields up to the end of the bytes, or, inside a group, up to its matching end tag. */
function parseFields(
  cursor: Cursor,
  guessDepth: number,
  groupDepth: number,
  openGroup: number | undefined,
): RawField[] | undefined {
  const fields: RawField[] = [];
  while (cursor.at < cursor.bytes.length) {
    const tag = readTag(cursor);
    if (tag === undefined) return undefined;
    const number = tag >>> 3;
    if (number === 0) return undefined;
    switch (tag & 7) {
      case 0: {
        const value = readVarint(cursor);
        if (value === undefined) return undefined;
        fields.push(varintField(number, value));
        break;
      }
      case 1:
      case 5: {
        const view = take(cursor, (tag & 7) === 1 ? 8 : 4);
        if (!view) return undefined;
        fields.push(fixedField(number, view));
        break;
      }
      case 2: {
        const length = readVarint(cursor);
        if (length === undefined || length > BigInt(cursor.bytes.length - cursor.at)) return undefined;
        const end = cursor.at + Number(length);
        const content = cursor.bytes.subarray(cursor.at, end);
        cursor.at = end;
        fields.push(lengthDelimitedField(number, content, guessDepth));
        break;
      }
      case 3: {
        if (groupDepth <= 0) return undefined;
        // protoc prints a group's fields one guess level deeper, as it does an embedded message's.
        const inner = parseFields(cursor, guessDepth - 1, groupDepth - 1, number);
        if (!inner) return undefined;
        fields.push({ number, wireType: 'group', fields: inner });
        break;
      }
      case 4:
        // An end tag closes only the group it names; anywhere else the message is malformed.
        return number === openGroup ? fields : undefined;
      default:
        return undefined; // wire types 6 and 7 do not exist
    }
  }
  // The bytes ran out with a group still open.
  return openGroup === undefined ? fields : undefined;
}

function varintField(number: number, value: bigint): VarintField {
  const zigzag = (value >> 1n) ^ -(value & 1n);
  return { number, wireType: 'varint', value: `${value}`, signed: `${BigInt.asIntN(64, value)}`, zigzag: `${zigzag}` };
}

/** A fixed32 field from 4 bytes, a fixed64 one from 8. */
function fixedField(number: number, view: DataView): Fixed32Field | Fixed64Field {
  if (view.byteLength === 4) {
    const [value, signed, float] = [view.getUint32(0, true), view.getInt32(0, true), view.getFloat32(0, true)];
    return { number, wireType: 'fixed32', value: `${value}`, signed: `${signed}`, float };
  }
  const [value, signed, double] = [view.getBigUint64(0, true), view.getBigInt64(0, true), view.getFloat64(0, true)];
  return { number, wireType: 'fixed64', value: `${value}`, signed: `${signed}`, double };
}

function lengthDelimitedField(number: number, bytes: Uint8Array, guessDepth: number): LengthDelimitedField {
  if (bytes.length > 0 && guessDepth > 0) {
    const fields = parseMessage(bytes, guessDepth - 1, guessDepth);
    if (fields) return { number, wireType: 'bytes', bytes, kind: 'message', fields };
  }
  const text = printableText(bytes);
  if (text !== undefined) return { number, wireType: 'bytes', bytes, kind: 'string', text };
  return { number, wireType: 'bytes', bytes, kind: 'bytes' };
}

/** The bytes as text when they are valid UTF-8 with no control characters but tab and newlines. */
function printableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(text) ? undefined : text;
}

/**
 * A tag is a varint of at most 5 bytes whose value protobuf keeps to 32 bits (bits past them are
 * dropped, as protoc does); a longer one is malformed.
 */
function readTag(cursor: Cursor): number | undefined {
  const value = readVarint(cursor, 5);
  return value === undefined ? undefined : Number(value & 0xffff_ffffn);
}

/** A varint of at most `maxBytes` bytes, kept to 64 bits like protobuf's own reader. */
function readVarint(cursor: Cursor, maxBytes = 10): bigint | undefined {
  let value = 0n;
  for (let index = 0; index < maxBytes; index++) {
    const byte = cursor.bytes[cursor.at + index];
    if (byte === undefined) return undefined;
    value |= BigInt(byte & 0x7f) << BigInt(7 * index);
    if (byte < 0x80) {
      cursor.at += index + 1;
      return value & UINT64_MASK;
    }
  }
  return undefined;
}

function take(cursor: Cursor, length: number): DataView | undefined {
  if (cursor.bytes.length - cursor.at < length) return undefined;
  const view = new DataView(cursor.bytes.buffer, cursor.bytes.byteOffset + cursor.at, length);
  cursor.at += length;
  return view;
}

// --- printing --------------------------------------------------------------------------------

function appendFields(lines: string[], fields: readonly RawField[], indent: string): void {
  for (const field of fields) {
    switch (field.wireType) {
      case 'varint':
        lines.push(`${indent}${field.number}: ${field.value}`);
        break;
      case 'fixed32':
        lines.push(`${indent}${field.number}: 0x${BigInt(field.value).toString(16).padStart(8, '0')}`);
        break;
      case 'fixed64':
        lines.push(`${indent}${field.number}: 0x${BigInt(field.value).toString(16).padStart(16, '0')}`);
        break;
      case 'bytes':
        if (field.kind === 'message') appendBlock(lines, field.number, field.fields, indent);
        else lines.push(`${indent}${field.number}: "${cEscape(field.bytes)}"`);
        break;
      case 'group':
        appendBlock(lines, field.number, field.fields, indent);
        break;
    }
  }
}

function appendBlock(lines: string[], number: number, fields: readonly RawField[], indent: string): void {
  lines.push(`${indent}${number} {`);
  appendFields(lines, fields, `${indent}  `);
  lines.push(`${indent}}`);
}

const NAMED_ESCAPES: Record<number, string> = {
  0x09: '\\t',
  0x0a: '\\n',
  0x0d: '\\r',
  0x22: '\\"',
  0x27: "\\'",
  0x5c: '\\\\',
};

/**
 * protobuf's CEscape, byte by byte: the named escapes above, printable ASCII as itself, every
 * other byte (UTF-8 included) as a three-digit octal escape.
 */
function cEscape(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const named = NAMED_ESCAPES[byte];
    if (named !== undefined) out += named;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}
