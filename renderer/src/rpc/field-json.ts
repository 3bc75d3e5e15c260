import type { Fixed32Field, Fixed64Field, RawField, VarintField } from '../../../app/protobuf-raw.js';
import { base64FromBytes } from '../base64.js';

/**
 * A protobuf message decoded without a schema (`decodeRaw`) as a plain JSON value for display,
 * keyed by field number: `{"1": "hello", "2": {"1": 5}}`. Pure, so it is tested without a DOM.
 *
 * Without a schema a value's type is a guess, so each wire type gets its most likely reading:
 * - a varint is a number; one past 2^53 a decimal string, as protobuf's JSON mapping writes 64-bit
 *   integers; one with its top bit set is read as negative (an int32 or int64 below zero is sent
 *   as ten bytes), which is far more common than a uint64 that large;
 * - fixed32 and fixed64 are read as float and double when that reading looks like a real number
 *   (zero, or a magnitude between 1e-9 and 1e15), otherwise as unsigned integers;
 * - a length-delimited field is a nested object when its bytes parse as a message (protoc's guess),
 *   else a string when it is printable UTF-8, else its bytes in base64 (protobuf's JSON for bytes);
 * - a group is a nested object;
 * - a field number seen more than once (a repeated field) is an array of its values, in order.
 * `protoc --decode_raw` (`formatDecodeRaw`) gives every reading exactly; this is for reading.
 */
export type FieldJson = string | number | FieldJson[] | { [field: string]: FieldJson };

export function fieldsToJson(fields: readonly RawField[]): { [field: string]: FieldJson } {
  const object: { [field: string]: FieldJson } = {};
  const repeated = new Set<string>();
  for (const field of fields) {
    const key = `${field.number}`;
    const value = fieldValue(field);
    const earlier = object[key];
    if (earlier === undefined) {
      object[key] = value;
    } else if (repeated.has(key)) {
      (earlier as FieldJson[]).push(value);
    } else {
      object[key] = [earlier, value];
      repeated.add(key);
    }
  }
  return object;
}

function fieldValue(field: RawField): FieldJson {
  switch (field.wireType) {
    case 'varint':
      return varintValue(field);
    case 'fixed32':
    case 'fixed64':
      return fixedValue(field);
    case 'bytes':
      if (field.kind === 'message') return fieldsToJson(field.fields);
      if (field.kind === 'string') return field.text;
      return base64FromBytes(field.bytes);
    case 'group':
      return fieldsToJson(field.fields);
  }
}

function varintValue(field: VarintField): FieldJson {
  const negative = field.signed.startsWith('-');
  return integer(negative ? field.signed : field.value);
}

function fixedValue(field: Fixed32Field | Fixed64Field): FieldJson {
  const real = field.wireType === 'fixed32' ? Number(field.float.toPrecision(7)) : field.double;
  const magnitude = Math.abs(real);
  if (real === 0 || (magnitude >= 1e-9 && magnitude < 1e15)) return real;
  return integer(field.value);
}

/** A decimal integer as a number when it is exact as one, else as its decimal string. */
function integer(decimal: string): FieldJson {
  const value = Number(decimal);
  return Number.isSafeInteger(value) ? value : decimal;
}
