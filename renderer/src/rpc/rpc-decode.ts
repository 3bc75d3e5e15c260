import type { RpcMessageEvent } from '../../../app/proxy-events.js';
import { decodeRaw } from '../../../app/protobuf-raw.js';
import { decodeBase64 } from '../messages/message-common.js';
import { fieldsToJson, type FieldJson } from './field-json.js';

/**
 * How the RPC messages view reads a message: the one place that decides, so a decoding with a
 * schema (named fields) can take the place of field numbers here without the view changing.
 *
 * - `fields`: protobuf bytes decoded without a schema, keyed by field number (`fieldsToJson`);
 * - `json`: the text of a JSON codec (`application/grpc+json`, Connect JSON, an end-of-stream);
 * - `text`: text that is not JSON (a gRPC-Web trailer frame's header lines);
 * - `bytes`: bytes that are not a protobuf message as they stand: still compressed, cut by the
 *   display cap mid-field, or another codec.
 */
export type DecodedMessage =
  | { readonly how: 'fields'; readonly value: FieldJson }
  | { readonly how: 'json'; readonly value: unknown; readonly text: string }
  | { readonly how: 'text'; readonly text: string }
  | { readonly how: 'bytes'; readonly why: string };

/** Words for the detail's head: what the decoded view shows. */
export const DECODED_WORDS: Record<DecodedMessage['how'], string> = {
  fields: 'protobuf, no schema: keys are field numbers',
  json: 'JSON',
  text: 'text',
  bytes: 'bytes',
};

// Messages are immutable events and many rows re-render per frame while a stream flows: each is
// decoded once. A message dropped from the store takes its entry with it.
const decoded = new WeakMap<RpcMessageEvent, DecodedMessage>();

export function decodeForDisplay(message: RpcMessageEvent): DecodedMessage {
  let result = decoded.get(message);
  if (!result) {
    result = decode(message);
    decoded.set(message, result);
  }
  return result;
}

function decode(message: RpcMessageEvent): DecodedMessage {
  if (!message.binary) {
    const value = parseJson(message.data);
    return value === undefined ? { how: 'text', text: message.data } : { how: 'json', value, text: message.data };
  }
  if (message.undecoded !== undefined) return { how: 'bytes', why: `still compressed: ${message.undecoded}` };
  const fields = decodeRaw(decodeBase64(message.data));
  if (fields) return { how: 'fields', value: fieldsToJson(fields) };
  return {
    how: 'bytes',
    why: message.truncated ? 'cut for display mid-field, so not readable as protobuf' : 'not a protobuf message',
  };
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
