import type { JsonValue } from '@bufbuild/protobuf';
import type { RpcMessageEvent } from '../../../app/proxy-events.js';
import { decodeRaw } from '../../../app/protobuf-raw.js';
import { decodeWithSchema } from '../../../app/protobuf-schema.js';
import { decodeBase64 } from '../messages/message-common.js';
import type { CallSchema } from '../store/schemas.js';
import { fieldsToJson, type FieldJson } from './field-json.js';

/**
 * How the RPC messages view reads a message: the one place that decides.
 *
 * - `schema`: protobuf bytes decoded with the call's schema (`decodeWithSchema`): proto3 JSON with
 *   field names, enums by name, well-known types readable; `type` is the message type's full name,
 *   `unknownFields` counts fields the type does not declare (a stale schema or the wrong type);
 * - `fields`: protobuf bytes decoded without a schema, keyed by field number (`fieldsToJson`);
 *   `schemaError` says why the call's schema did not decode it, when it had one;
 * - `json`: the text of a JSON codec (`application/grpc+json`, Connect JSON, an end-of-stream),
 *   shown as sent, schema or not;
 * - `text`: text that is not JSON (a gRPC-Web trailer frame's header lines);
 * - `bytes`: bytes that are not a protobuf message as they stand: still compressed, cut by the
 *   display cap mid-field, or another codec.
 */
export type DecodedMessage =
  | {
      readonly how: 'schema';
      readonly value: JsonValue;
      readonly type: string;
      readonly unknownFields: number;
    }
  | { readonly how: 'fields'; readonly value: FieldJson; readonly schemaError?: string }
  | { readonly how: 'json'; readonly value: unknown; readonly text: string }
  | { readonly how: 'text'; readonly text: string }
  | { readonly how: 'bytes'; readonly why: string };

/** Words for the detail's head: what the decoded view shows. */
export function decodedWords(decoded: DecodedMessage): string {
  switch (decoded.how) {
    case 'schema':
      return `protobuf, ${decoded.type}`;
    case 'fields':
      return 'protobuf, no schema: keys are field numbers';
    case 'json':
      return 'JSON';
    case 'text':
      return 'text';
    case 'bytes':
      return decoded.why;
  }
}

/** The warning for fields a schema did not declare: "3 fields the schema does not know: ...". */
export function unknownFieldsWarning(count: number): string {
  return `${count} field${count === 1 ? '' : 's'} the schema does not know: stale schema or wrong type?`;
}

/**
 * The message type a frame is decoded as: a message sent by the client is the method's input, one
 * from the server its output. Trailer frames and end-of-stream envelopes are not protobuf.
 */
export function messageTypeOf(message: RpcMessageEvent, call: CallSchema | undefined): string | undefined {
  if (!call || message.kind !== 'message' || !message.binary) return undefined;
  return message.direction === 'request' ? call.types.input : call.types.output;
}

// Messages are immutable events and many rows re-render per frame while a stream flows: each is
// decoded once per schema revision (the loaded schemas are one object per revision), and only when
// a row or the detail asks, so a schema arriving costs the rows in view, not every message. A
// message dropped from the store takes its entry with it.
const NO_SCHEMA = {};
const decoded = new WeakMap<RpcMessageEvent, { readonly key: object; readonly result: DecodedMessage }>();

/**
 * The message as the view shows it. `call` is what the schemas know of the message's call (from
 * its path); without it, or when its bytes do not fit the type, fields show by number.
 */
export function decodeForDisplay(message: RpcMessageEvent, call?: CallSchema): DecodedMessage {
  const key = decodeKey(message, call);
  const cached = decoded.get(message);
  if (cached?.key === key) return cached.result;
  const result = decode(message, call);
  decoded.set(message, { key, result });
  return result;
}

/**
 * What a message's decoding depends on besides its bytes: the schemas' revision when they type it,
 * else nothing (a schema arriving for another service leaves its field-number reading as it is).
 */
export function decodeKey(message: RpcMessageEvent, call: CallSchema | undefined): object {
  return messageTypeOf(message, call) === undefined ? NO_SCHEMA : call!.schemas;
}

function decode(message: RpcMessageEvent, call: CallSchema | undefined): DecodedMessage {
  if (!message.binary) {
    const value = parseJson(message.data);
    return value === undefined ? { how: 'text', text: message.data } : { how: 'json', value, text: message.data };
  }
  if (message.undecoded !== undefined) return { how: 'bytes', why: `still compressed: ${message.undecoded}` };
  const bytes = decodeBase64(message.data);
  const type = messageTypeOf(message, call);
  let schemaError: string | undefined;
  if (type !== undefined) {
    const result = decodeWithSchema(call!.registry, type, bytes);
    if (!('error' in result)) return { how: 'schema', value: result.json, type, unknownFields: result.unknownFields };
    schemaError = message.truncated ? `${result.error} (the message was cut for display)` : result.error;
  }
  const fields = decodeRaw(bytes);
  if (fields) return { how: 'fields', value: fieldsToJson(fields), ...(schemaError ? { schemaError } : {}) };
  const why = message.truncated ? 'cut for display mid-field, so not readable as protobuf' : 'not a protobuf message';
  return { how: 'bytes', why: schemaError ? `${why}; with the schema: ${schemaError}` : why };
}

/** Parsing a very large document for a preview would stall the page; it shows as sent instead. */
const JSON_MAX_CHARS = 2_000_000;

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.length > JSON_MAX_CHARS || !'[{"'.includes(trimmed[0] ?? ' ')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}
