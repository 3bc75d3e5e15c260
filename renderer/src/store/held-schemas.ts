import type { SchemaList } from '../../../app/contract.js';

/*
 * Apart from schemas.ts, which loads schemas with @bufbuild/protobuf: the store holds the list
 * from the first frame, and the protobuf code is loaded only with the views that decode.
 */

/** The host's schemas as the store holds them, with the connection they came over. */
export interface HeldSchemas {
  readonly list: SchemaList;
  /** Counted up by the page on each (re)connect. */
  readonly connection: number;
}

/**
 * What the store holds once `next` arrives over `connection`. Within one connection the highest
 * revision wins, however replies were ordered; the first list of a new connection is taken
 * whatever its revision (a restarted host counts again from 0), though one equal to what is held
 * keeps the object already loaded. Returns `current` itself when nothing changes.
 */
export function nextSchemas(current: HeldSchemas | undefined, next: SchemaList, connection: number): HeldSchemas {
  if (!current) return { list: next, connection };
  if (connection < current.connection) return current;
  if (connection === current.connection)
    return next.revision > current.list.revision ? { list: next, connection } : current;
  return { list: sameSchemas(current.list, next) ? current.list : next, connection };
}

function sameSchemas(a: SchemaList, b: SchemaList): boolean {
  return (
    a.revision === b.revision &&
    a.descriptorSet === b.descriptorSet &&
    JSON.stringify(a.sources) === JSON.stringify(b.sources)
  );
}
