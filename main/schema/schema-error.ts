/**
 * Why a schema could not be had, in words for the user: a .proto that does not parse or imports a
 * file that is not found, a file that is not a descriptor set, a server that offers no reflection.
 * Anything else thrown while getting a schema is a fault in Sluice.
 */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}
