import type { Direction } from '../../app/proxy-events.js';
import type { RpcSchema } from '../../app/protobuf-schema.js';
import { isJsonCodec } from '../../app/rpc-calls.js';
import {
  FLAG_COMPRESSED,
  FLAG_CONNECT_END_STREAM,
  FLAG_GRPC_WEB_TRAILERS,
  PREFIX_BYTES,
} from '../capture/grpc-framer.js';

/**
 * How content rules read and write one RPC stream's messages (gRPC, gRPC-Web, Connect): through
 * the schema the user gave (`--proto`, the UI, server reflection), as canonical proto3 JSON. A
 * rule's `where`, `rewrite` and `inject` then work on `{"city":"Oslo"}` rather than on bytes.
 */
export interface MessageCodec {
  /** The message type's full name, e.g. `sluice.demo.v1.Forecast`. */
  readonly typeName: string;
  /** A message's bytes as JSON text, or why they do not decode. */
  decode(bytes: Uint8Array): string | { error: string };
  /** JSON text as a message's bytes, or why it does not encode. */
  encode(json: string): Buffer | { error: string };
}

/** Connect's end-of-stream message and gRPC-Web's trailers: not messages of the method's type. */
const NOT_A_MESSAGE = FLAG_CONNECT_END_STREAM | FLAG_GRPC_WEB_TRAILERS;

/** Messages of a JSON codec (`application/connect+json`, `application/grpc+json`): text already. */
const JSON_MESSAGES: MessageCodec = {
  typeName: 'JSON',
  decode: (bytes) => {
    const text = Buffer.from(bytes).toString('utf8');
    try {
      JSON.parse(text);
      return text;
    } catch {
      return { error: 'its data is not JSON' };
    }
  },
  encode: (json) => {
    try {
      JSON.parse(json);
    } catch {
      return { error: 'its data is not JSON' };
    }
    return Buffer.from(json, 'utf8');
  },
};

/**
 * The codec for the messages one direction of a call carries (`contentType`: that direction's):
 * JSON as it is for a JSON codec, else through the schema when it has the call's method.
 */
export function messageCodecFor(
  schema: RpcSchema | undefined,
  path: string,
  direction: Direction,
  contentType?: string,
): MessageCodec | undefined {
  if (isJsonCodec(contentType)) return JSON_MESSAGES;
  if (!schema) return undefined;
  const types = schema.methodTypes(path);
  if (!types) return undefined;
  const typeName = direction === 'request' ? types.input : types.output;
  return {
    typeName,
    decode: (bytes) => {
      const decoded = schema.decode(typeName, bytes);
      return 'error' in decoded ? decoded : JSON.stringify(decoded.json);
    },
    encode: (json) => {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        return { error: 'its data is not JSON' };
      }
      const encoded = schema.encode(typeName, value as never);
      return 'error' in encoded ? encoded : Buffer.from(encoded.bytes);
    },
  };
}

/** One whole length-prefixed frame taken apart: a message of the method's type, or why it is not one. */
export function framedMessage(frame: Buffer): { payload: Buffer } | { error: string } {
  if (frame.length < PREFIX_BYTES || frame.readUInt32BE(1) !== frame.length - PREFIX_BYTES)
    return { error: 'not a whole message' };
  const flags = frame[0]!;
  if (flags & NOT_A_MESSAGE) return { error: 'it ends the stream (trailers), not a message' };
  if (flags & FLAG_COMPRESSED) return { error: 'it is compressed' };
  return { payload: frame.subarray(PREFIX_BYTES) };
}

/** `payload` as an uncompressed length-prefixed message. */
export function messageFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(PREFIX_BYTES);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}
