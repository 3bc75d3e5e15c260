import type { SchemaFile } from '../../../app/contract.js';
import { base64FromBytes } from '../base64.js';

/**
 * What the file picker for schemas accepts: `.proto` files (several at once, since they import
 * each other) and descriptor sets as protoc and buf write them.
 */
export const SCHEMA_FILE_ACCEPT = '.proto,.desc,.binpb,.pb';

/** Files the user chose, as `schemas.add` takes them: each name with its bytes in base64. */
export async function readSchemaFiles(files: Iterable<File>): Promise<SchemaFile[]> {
  return Promise.all(
    [...files].map(async (file) => ({
      name: file.name,
      data: base64FromBytes(new Uint8Array(await file.arrayBuffer())),
    })),
  );
}
