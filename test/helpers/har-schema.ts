import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FormatsPlugin } from 'ajv-formats';

const require = createRequire(import.meta.url);

/**
 * A validator for the published HAR 1.2 JSON schema (the `har-schema` package, draft-06) with
 * Ajv 8 and real format checks (date-time, uri, ipv4). The schema spells a lower bound `min`,
 * which no JSON-schema draft knows; we read it as the `minimum` it was meant to be, so a
 * negative `time` or a timing below -1 fails too.
 */
export function harValidator(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false, meta: false, validateSchema: true });
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object);
  ajv.opts.defaultMeta = 'http://json-schema.org/draft-06/schema#';
  (require('ajv-formats') as FormatsPlugin)(ajv);
  ajv.addKeyword({ keyword: 'min', macro: (minimum: number) => ({ minimum }) });
  ajv.addKeyword({ keyword: 'optional' });
  const schemas = require('har-schema') as Record<string, object>;
  for (const schema of Object.values(schemas)) ajv.addSchema(schema);
  return ajv.getSchema('har.json#')!;
}

/** The validator's errors in a line each, for a failing assertion to show. */
export function harErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('\n');
}
