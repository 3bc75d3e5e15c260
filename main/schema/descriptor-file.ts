import { open } from 'node:fs/promises';
import { loadDescriptorSet } from '../../app/protobuf-schema.js';
import { errorMessage } from '../../app/error-message.js';
import { SchemaError } from './schema-error.js';

/**
 * A descriptor set file (`protoc --descriptor_set_out`, `buf build -o`: `.desc`, `.binpb`, `.pb`),
 * read as it is: the one form Sluice keeps a schema in (docs/adr/0004-protobuf-schemas.md).
 */

/** Larger than any real schema (all of googleapis is about 10 MiB): a file past it is not one. */
export const MAX_DESCRIPTOR_SET_BYTES = 64 * 1024 * 1024;

/**
 * The bytes of the descriptor set file at `path`, checked to load as a schema. Throws SchemaError
 * saying why not: unreadable, too large, not a descriptor set (a `.proto` given here is named as
 * such), or a set that lacks a file it needs.
 */
export async function readDescriptorSetFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      if (size > MAX_DESCRIPTOR_SET_BYTES) {
        throw new SchemaError(`${path}: ${size} bytes is too large for a descriptor set`);
      }
      bytes = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof SchemaError) throw error;
    throw new SchemaError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  const loaded = loadDescriptorSet(bytes);
  if ('error' in loaded) {
    const hint = looksLikeProtoSource(bytes) ? ' (it looks like a .proto file: give it as one)' : '';
    throw new SchemaError(`${path}: ${loaded.error}${hint}`);
  }
  return bytes;
}

/** Whether the bytes start like `.proto` source: text opening with a comment or a statement. */
function looksLikeProtoSource(bytes: Uint8Array): boolean {
  const start = new TextDecoder('utf-8').decode(bytes.subarray(0, 4096));
  return /^\s*(?:\/\/|\/\*|(?:syntax|edition|package|import|option|message|enum|service)\b)/.test(start);
}
