import type { SchemaList, SchemaSource } from '../../../app/contract.js';
import {
  loadDescriptorSet,
  messageTypesFor,
  type ProtoSchema,
  type RpcMethodTypes,
} from '../../../app/protobuf-schema.js';
import type { Registry } from '@bufbuild/protobuf';
import { bytesFromBase64 } from '../base64.js';

/**
 * The host's protobuf schemas as the page uses them (docs/adr/0004-protobuf-schemas.md): the list
 * the host gave, loaded into a registry once per revision, when a view first asks, never per
 * message; and what one call's path picks from it. Pure apart from that memo, so it is tested
 * without a DOM.
 */

/** The host's schemas at one revision, loaded. One object per revision: decoding caches key on it. */
export interface LoadedSchemas {
  readonly revision: number;
  readonly sources: readonly SchemaSource[];
  /** Undefined when the host has none, or when they do not load here (`error` says why). */
  readonly schema: ProtoSchema | undefined;
  readonly error: string | undefined;
}

const loaded = new WeakMap<SchemaList, LoadedSchemas>();

/** `list` loaded, the first time it is asked for; undefined until the host has answered. */
export function loadSchemas(list: SchemaList | undefined): LoadedSchemas | undefined {
  if (!list) return undefined;
  let result = loaded.get(list);
  if (!result) {
    result = load(list);
    loaded.set(list, result);
  }
  return result;
}

function load(list: SchemaList): LoadedSchemas {
  const base = { revision: list.revision, sources: list.sources };
  if (list.descriptorSet === '') return { ...base, schema: undefined, error: undefined };
  let bytes: Uint8Array;
  try {
    bytes = bytesFromBase64(list.descriptorSet);
  } catch {
    return { ...base, schema: undefined, error: 'the host sent a descriptor set that is not base64' };
  }
  const result = loadDescriptorSet(bytes);
  return 'error' in result
    ? { ...base, schema: undefined, error: result.error }
    : { ...base, schema: result.schema, error: undefined };
}

/**
 * What the schemas say about one call, from its path: the method's types when they know it. The
 * message decoder keys its cache on `schemas`, so a new revision re-decodes, lazily.
 */
export interface CallSchema {
  readonly schemas: LoadedSchemas;
  readonly registry: Registry;
  readonly types: RpcMethodTypes;
}

/** What the schemas know of the call at `path` (`/package.Service/Method`), or why they know nothing. */
export type CallSchemaState =
  | { readonly known: true; readonly call: CallSchema; readonly source: SchemaSource | undefined }
  | { readonly known: false; readonly why: 'loading' | 'no-service' | 'no-method' | 'load-error' };

export function callSchemaOf(schemas: LoadedSchemas | undefined, path: string, service: string): CallSchemaState {
  if (!schemas) return { known: false, why: 'loading' };
  if (schemas.error !== undefined) return { known: false, why: 'load-error' };
  const registry = schemas.schema?.registry;
  const types = registry && messageTypesFor(registry, path);
  if (registry && types) {
    const source = schemas.sources.findLast((s) => s.services.includes(service));
    return { known: true, call: { schemas, registry, types }, source };
  }
  return { known: false, why: registry?.getService(service) ? 'no-method' : 'no-service' };
}

/** The path part of a request's URL (origin form as it is; absolute form parsed), for `messageTypesFor`. */
export function requestPath(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
