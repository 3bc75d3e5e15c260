import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeRaw, formatDecodeRaw, type RawField } from '../../app/protobuf-raw.js';

// A tiny wire-format writer, so each case says exactly which bytes it sends (non-canonical tags,
// groups and oversized varints included, which schema-driven encoders will not write).
type Part = Uint8Array | number[];

function concat(...parts: Part[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

function varint(value: bigint | number): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return out;
}

const tag = (number: number, wireType: number): number[] => varint((BigInt(number) << 3n) | BigInt(wireType));
const uint = (number: number, value: bigint | number): Uint8Array => concat(tag(number, 0), varint(value));
const sint = (number: number, value: bigint): Uint8Array =>
  uint(number, BigInt.asUintN(64, (value << 1n) ^ (value < 0n ? -1n : 0n)));
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const ld = (number: number, ...content: Part[]): Uint8Array => {
  const body = concat(...content);
  return concat(tag(number, 2), varint(body.length), body);
};
const group = (number: number, ...content: Part[]): Uint8Array => concat(tag(number, 3), ...content, tag(number, 4));

function fixed32(number: number, write: (view: DataView) => void): Uint8Array {
  const value = new Uint8Array(4);
  write(new DataView(value.buffer));
  return concat(tag(number, 5), value);
}

function fixed64(number: number, write: (view: DataView) => void): Uint8Array {
  const value = new Uint8Array(8);
  write(new DataView(value.buffer));
  return concat(tag(number, 1), value);
}

function nestedMessages(depth: number, innermost: Uint8Array): Uint8Array {
  let message = innermost;
  for (let level = 0; level < depth; level++) message = ld(1, message);
  return message;
}

/** protoc's own output, or undefined when it refused the bytes ("Failed to parse input."). */
function protocDecodeRaw(bytes: Uint8Array): string | undefined {
  const run = spawnSync('protoc', ['--decode_raw'], { input: bytes, encoding: 'latin1' });
  if (run.error)
    throw new Error(`protoc --decode_raw could not run (apt-get install protobuf-compiler): ${run.error.message}`);
  return run.status === 0 ? run.stdout : undefined;
}

const corpus: Record<string, Uint8Array> = {
  'a varint': uint(1, 150),
  'a string': ld(2, text('text')),
  'fields out of order and repeated, in the order sent': concat(uint(3, 1), uint(1, 2), uint(3, 3), ld(2, text('Z'))),
  'messages nested four deep with every wire type inside': ld(
    1,
    uint(1, 7),
    ld(
      2,
      ld(
        3,
        ld(4, uint(5, 1), ld(6, text('Deep'))),
        fixed32(7, (v) => v.setUint32(0, 5, true)),
      ),
    ),
    fixed64(8, (v) => v.setFloat64(0, 2.5, true)),
  ),
  'nesting past protoc’s ten levels of guessing: the innermost prints as a string': nestedMessages(12, uint(1, 1)),
  'nesting exactly ten levels deep': nestedMessages(10, uint(1, 1)),
  'packed repeated varints that do not parse as a message (bytes)': ld(4, ...[3, 270, 86942].map((n) => varint(n))),
  'packed repeated varints that do parse as a message': ld(4, ...[8, 150].map((n) => varint(n))),
  'packed repeated varints that are printable text': ld(4, ...[0x47, 0x48, 0x49].map((n) => varint(n))),
  'a string that happens to parse as a message': ld(1, text('hi')),
  'a string that parses as an empty group': ld(1, [0x0b, 0x0c]),
  'negative int32 and int64 as 10-byte varints': concat(
    uint(1, -1),
    uint(2, -2147483648),
    uint(3, -9223372036854775808n),
  ),
  'the largest varint and zigzag values': concat(
    uint(1, (1n << 64n) - 1n),
    sint(2, -3n),
    sint(3, 9223372036854775807n),
  ),
  'a varint whose tenth byte carries bits past 64 (dropped)': concat(
    tag(1, 0),
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
  ),
  'fixed32 and fixed64 (unsigned, signed, float, double)': concat(
    fixed32(1, (v) => v.setUint32(0, 0xdeadbeef, true)),
    fixed32(2, (v) => v.setFloat32(0, 1.5, true)),
    fixed32(3, (v) => v.setInt32(0, -1, true)),
    fixed64(4, (v) => v.setBigUint64(0, 0x0123456789abcdefn, true)),
    fixed64(5, (v) => v.setFloat64(0, -0, true)),
    fixed64(6, (v) => v.setBigInt64(0, -2n, true)),
  ),
  'an empty length-delimited field': concat(ld(1), uint(2, 0)),
  'UTF-8 text (octal-escaped by protoc)': ld(2, text('Grüße, ✓ 日本')),
  'text with C escapes': ld(3, text('would "quote" it\'s back\\slash\ttab\nline\rcr\x7f\x01')),
  'binary bytes': ld(5, [0xff, 0x00, 0x80, 0x7f, 0x10, 0xc3]),
  'a group with a nested group and a string': concat(
    group(
      4,
      uint(1, 1),
      group(5, ld(2, text('Group text'))),
      fixed32(3, (v) => v.setUint32(0, 1, true)),
    ),
    uint(6, 2),
  ),
  'a length-delimited field holding more groups than protoc’s guess allows (a string)': ld(
    1,
    Array(11).fill(0x0b),
    Array(11).fill(0x0c),
  ),
  'a length-delimited field holding as many groups as protoc’s guess allows': ld(
    1,
    Array(10).fill(0x0b),
    Array(10).fill(0x0c),
  ),
  'a length-delimited field whose content has a stray end-group tag (a string)': ld(1, [0x0c]),
  'the largest field number and a non-canonical tag': concat(uint(536870911, 1), [0x88, 0x00, 0x01]),
  'a tag with bits past 32 (dropped)': concat([0x88, 0x80, 0x80, 0x80, 0x10], [0x01]),
  'an empty message': new Uint8Array(0),
};

describe('formatDecodeRaw(decodeRaw(bytes)) prints what protoc --decode_raw prints', () => {
  for (const [name, bytes] of Object.entries(corpus)) {
    it(name, () => {
      const expected = protocDecodeRaw(bytes);
      expect(expected, 'protoc accepts the case').toBeDefined();
      const fields = decodeRaw(bytes);
      expect(fields).toBeDefined();
      expect(formatDecodeRaw(fields!)).toBe(expected);
    });
  }
});

describe('decodeRaw refuses bytes that are not a message, as protoc does', () => {
  const malformed: Record<string, Uint8Array> = {
    'a truncated varint': concat(tag(1, 0), [0x96]),
    'a varint of 11 bytes': concat(tag(1, 0), Array(10).fill(0xff), [0x01]),
    'a tag of 6 bytes': Uint8Array.from([0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01]),
    'a length past the end': concat(tag(1, 2), [5], text('abc')),
    'a truncated fixed32': concat(tag(1, 5), [1, 2, 3]),
    'a truncated fixed64': concat(tag(1, 1), [1, 2, 3, 4, 5, 6, 7]),
    'wire type 6': concat(tag(1, 6), [1]),
    'wire type 7': concat(tag(1, 7), [1]),
    'field number 0': Uint8Array.from([0x00, 0x01]),
    'a group never closed': concat(tag(1, 3), uint(2, 1)),
    'a group closed by another number': concat(tag(1, 3), tag(2, 4)),
    'an end-group tag with no group open': Uint8Array.from(tag(1, 4)),
    'groups nested past protoc’s limit of 100': concat(Array(101).fill(0x0b), Array(101).fill(0x0c)),
  };
  for (const [name, bytes] of Object.entries(malformed)) {
    it(name, () => {
      expect(protocDecodeRaw(bytes), 'protoc refuses it too').toBeUndefined();
      expect(decodeRaw(bytes)).toBeUndefined();
    });
  }

  it('accepts groups nested exactly 100 deep', () => {
    const bytes = concat(Array(100).fill(0x0b), Array(100).fill(0x0c));
    expect(formatDecodeRaw(decodeRaw(bytes)!)).toBe(protocDecodeRaw(bytes));
  });
});

describe('decodeRaw readings for display', () => {
  it('reads a varint as unsigned, int64 and zigzag', () => {
    expect(decodeRaw(uint(1, -1))).toEqual([
      { number: 1, wireType: 'varint', value: '18446744073709551615', signed: '-1', zigzag: '-9223372036854775808' },
    ]);
    expect(decodeRaw(sint(1, -3n))).toEqual([{ number: 1, wireType: 'varint', value: '5', signed: '5', zigzag: '-3' }]);
  });

  it('reads fixed32 and fixed64 as unsigned, signed and floating point', () => {
    const [f32, f64] = decodeRaw(
      concat(
        fixed32(1, (v) => v.setFloat32(0, -1.5, true)),
        fixed64(2, (v) => v.setFloat64(0, 0.1, true)),
      ),
    )!;
    expect(f32).toEqual({ number: 1, wireType: 'fixed32', value: '3217031168', signed: '-1077936128', float: -1.5 });
    expect(f64).toMatchObject({ number: 2, wireType: 'fixed64', double: 0.1, value: '4591870180066957722' });
  });

  it('reads length-delimited fields as a message, then printable text, then bytes', () => {
    const fields = decodeRaw(
      concat(ld(1, uint(1, 150)), ld(2, text('Grüße\n')), ld(3, [0xff, 0xfe]), ld(4, text('Tab\u0007bell')), ld(5)),
    )!;
    const kinds = fields.map((field) => (field.wireType === 'bytes' ? field.kind : field.wireType));
    expect(kinds).toEqual(['message', 'string', 'bytes', 'bytes', 'string']);
    expect(fields[0]).toMatchObject({ kind: 'message', fields: [{ number: 1, wireType: 'varint', value: '150' }] });
    expect(fields[1]).toMatchObject({ kind: 'string', text: 'Grüße\n' });
    expect(fields[4]).toMatchObject({ kind: 'string', text: '' });
  });

  it('nests a group’s fields under it', () => {
    const fields: RawField[] | undefined = decodeRaw(group(4, uint(1, 1)));
    expect(fields).toEqual([
      {
        number: 4,
        wireType: 'group',
        fields: [{ number: 1, wireType: 'varint', value: '1', signed: '1', zigzag: '-1' }],
      },
    ]);
  });

  it('reads bytes that are a view into a larger buffer', () => {
    const backing = concat(
      [0xaa, 0xbb],
      fixed32(1, (v) => v.setUint32(0, 7, true)),
    );
    expect(decodeRaw(backing.subarray(2))).toMatchObject([{ wireType: 'fixed32', value: '7' }]);
  });
});
