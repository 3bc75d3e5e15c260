import {
  create,
  createFileRegistry,
  createRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMessage,
  type FileRegistry,
  type JsonValue,
  type Registry,
} from '@bufbuild/protobuf';
import { protoCamelCase } from '@bufbuild/protobuf/reflect';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
  type Any,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { errorMessage } from './error-message.js';

/**
 * Protobuf schemas for display. A schema is one `FileDescriptorSet` (what `protoc
 * --descriptor_set_out` writes), whichever way it was obtained (.proto files, a descriptor set
 * file, server reflection: docs/adr/0004-protobuf-schemas.md). Pure and browser-safe: the host and
 * the page both use it. Decoding never throws; a message that does not fit its type is an error
 * string, and the caller shows the message without a schema instead.
 */

export interface ProtoSchema {
  readonly registry: FileRegistry;
  /** The files' names, dependencies first, with any bundled well-known types the set needed. */
  readonly files: readonly string[];
  /** Every service's full name, e.g. `sluice.demo.v1.Forecasts`. */
  readonly services: readonly string[];
}

/** The message types of the method a call's path names. */
export interface RpcMethodTypes {
  /** The method's full name, e.g. `sluice.demo.v1.Forecasts.GetForecast`. */
  readonly method: string;
  /** The request message type's full name. */
  readonly input: string;
  /** The response message type's full name. */
  readonly output: string;
  readonly clientStreaming: boolean;
  readonly serverStreaming: boolean;
}

/**
 * A message decoded with its type, as canonical proto3 JSON (enums by name, int64 as strings,
 * well-known types in their JSON forms). `unknownFields` counts fields, anywhere in the message,
 * that the type does not declare: above 0 the schema is stale or the type is not the right one.
 * An `Any` whose type is not in the schema shows as `{"@type", "@unresolved": true, "value"}`
 * (the packed bytes, base64).
 */
export type SchemaDecoded = { json: JsonValue; unknownFields: number } | { error: string };

/** The well-known types' files, as protoc ships them, for sets and imports that lack them. */
export const WELL_KNOWN_FILES: ReadonlyMap<string, FileDescriptorProto> = new Map(
  [
    file_google_protobuf_any,
    file_google_protobuf_api,
    file_google_protobuf_descriptor,
    file_google_protobuf_duration,
    file_google_protobuf_empty,
    file_google_protobuf_field_mask,
    file_google_protobuf_source_context,
    file_google_protobuf_struct,
    file_google_protobuf_timestamp,
    file_google_protobuf_type,
    file_google_protobuf_wrappers,
  ].map((file) => [file.proto.name, file.proto]),
);

/** The schema in a serialized `FileDescriptorSet`, or why it cannot be used. */
export function loadDescriptorSet(bytes: Uint8Array): { schema: ProtoSchema } | { error: string } {
  let files: FileDescriptorProto[];
  try {
    files = fromBinary(FileDescriptorSetSchema, bytes).file;
  } catch (error) {
    return { error: `not a FileDescriptorSet: ${errorMessage(error)}` };
  }
  if (files.length === 0) return { error: 'the descriptor set holds no files' };
  try {
    const ordered = prepareFiles(files);
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    const services = [...registry].filter((type) => type.kind === 'service').map((service) => service.typeName);
    return { schema: { registry, files: ordered.map((file) => file.name), services } };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

/**
 * The types of the method named by a gRPC, gRPC-Web or Connect path (`/package.Service/Method`,
 * a query allowed), or undefined when the schema has no such method.
 */
export function messageTypesFor(registry: Registry, path: string): RpcMethodTypes | undefined {
  const name = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path.split('?', 1)[0]!);
  if (!name) return undefined;
  let serviceName: string;
  let methodName: string;
  try {
    serviceName = decodeURIComponent(name[1]!);
    methodName = decodeURIComponent(name[2]!);
  } catch {
    return undefined;
  }
  const method = registry.getService(serviceName)?.methods.find((candidate) => candidate.name === methodName);
  if (!method) return undefined;
  return {
    method: `${serviceName}.${method.name}`,
    input: method.input.typeName,
    output: method.output.typeName,
    clientStreaming: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
    serverStreaming: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
  };
}

/**
 * One schema's RPC messages read and written, for code that must not load the protobuf library
 * itself: the proxy core takes it from the host, which loads this module only once the user gives
 * a schema (the library and its descriptors are 4.4 MB of a fresh process's live heap).
 */
export interface RpcSchema {
  methodTypes(path: string): RpcMethodTypes | undefined;
  decode(typeName: string, bytes: Uint8Array): SchemaDecoded;
  encode(typeName: string, json: JsonValue): { bytes: Uint8Array } | { error: string };
}

export function rpcSchemaOf(registry: Registry): RpcSchema {
  return {
    methodTypes: (path) => messageTypesFor(registry, path),
    decode: (typeName, bytes) => decodeWithSchema(registry, typeName, bytes),
    encode: (typeName, json) => encodeWithSchema(registry, typeName, json),
  };
}

/** `bytes` decoded as the message type `typeName` from `registry`. Never throws. */
export function decodeWithSchema(registry: Registry, typeName: string, bytes: Uint8Array): SchemaDecoded {
  const type = registry.getMessage(typeName);
  if (!type) return { error: `${typeName} is not in the schema` };
  let message: object;
  try {
    message = fromBinary(type, bytes);
  } catch (error) {
    return { error: `not a ${typeName}: ${errorMessage(error)}` };
  }
  const unknownFields = countUnknownFields(message);
  try {
    return { json: toJson(type, message as never, { registry }), unknownFields };
  } catch (first) {
    // Most often an Any packing a type the schema lacks: show its bytes, keep the rest named.
    try {
      if (markUnresolvedAnys(message, registry) > 0) {
        const json = toJson(type, message as never, { registry: withUnresolvedAny(registry) });
        return { json: restoreUnresolvedAnys(json), unknownFields };
      }
    } catch {
      // Fall through to the first error, which names the cause.
    }
    return { error: `${typeName} does not convert to JSON: ${errorMessage(first)}` };
  }
}

/**
 * `json` (canonical proto3 JSON, as `decodeWithSchema` gives) encoded as the message type
 * `typeName`: what a rule writes into an RPC stream. Never throws; a field the type lacks or a
 * value of the wrong kind is an error naming it.
 */
export function encodeWithSchema(
  registry: Registry,
  typeName: string,
  json: JsonValue,
): { bytes: Uint8Array } | { error: string } {
  const type = registry.getMessage(typeName);
  if (!type) return { error: `${typeName} is not in the schema` };
  try {
    return { bytes: toBinary(type, fromJson(type, json, { registry })) };
  } catch (error) {
    return { error: `not a ${typeName}: ${errorMessage(error)}` };
  }
}

// ---- Preparing a set ----

/**
 * The files of a set made ready for a registry: each type reference fully qualified, each field's
 * JSON name filled in, each dependency present (bundled well-known types added where the set
 * lacks them, unused missing imports dropped) and every file after its dependencies. protoc's sets
 * need none of it; servers whose descriptors come from protobuf.js (`@grpc/reflection`) name
 * types relative to their scope, omit JSON names and list no dependencies.
 */
function prepareFiles(input: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const files = new Map<string, FileDescriptorProto>();
  for (const file of input) if (!files.has(file.name)) files.set(file.name, file);
  const definedIn: TypeIndex = new Map();
  for (const file of files.values()) indexTypes(file, definedIn);
  const bundledDefinedIn = wellKnownTypes();

  const added = new Map<string, FileDescriptorProto>();
  const addBundled = (name: string): void => {
    if (files.has(name) || added.has(name)) return;
    const file = WELL_KNOWN_FILES.get(name)!;
    added.set(name, file);
    for (const dependency of file.dependency) addBundled(dependency);
  };

  for (const file of files.values()) {
    const used = new Set<string>();
    const resolve: Resolve = (scope, reference, where) => {
      for (const candidate of candidateNames(scope, reference)) {
        const own = definedIn.get(candidate);
        const bundled = own ? undefined : bundledDefinedIn.get(candidate);
        if (bundled) addBundled(bundled.file);
        const found = own ?? bundled;
        if (found) {
          used.add(found.file);
          return { name: `.${candidate}`, kind: found.kind };
        }
      }
      throw new Error(`${file.name}: ${where} refers to ${reference}, which is not in the descriptor set`);
    };
    const scope = file.package;
    for (const message of file.messageType) prepareMessage(message, join(scope, message.name), resolve);
    for (const field of file.extension) prepareField(field, scope, resolve, `extension ${join(scope, field.name)}`);
    for (const service of file.service) {
      const serviceName = join(scope, service.name);
      for (const method of service.method) {
        const where = `method ${serviceName}.${method.name}`;
        method.inputType = resolve(serviceName, method.inputType, where).name;
        method.outputType = resolve(serviceName, method.outputType, where).name;
      }
    }
    used.delete(file.name);
    // Keep the imports that are present (an unused one may be a file the set left out), add the used.
    file.dependency = [...new Set([...file.dependency.filter((name) => files.has(name)), ...used])];
    file.publicDependency = [];
    file.weakDependency = [];
  }
  return dependencyOrder([...files.values(), ...added.values()]);
}

/** Where each type a set defines is, by full name (no leading dot). */
type TypeIndex = Map<string, { file: string; kind: 'message' | 'enum' }>;

let wellKnownIndex: TypeIndex | undefined;

function wellKnownTypes(): TypeIndex {
  if (!wellKnownIndex) {
    wellKnownIndex = new Map();
    for (const file of WELL_KNOWN_FILES.values()) indexTypes(file, wellKnownIndex);
  }
  return wellKnownIndex;
}

/** The full name (with its leading dot) a reference from `scope` means, and what it names. */
type Resolve = (scope: string, reference: string, where: string) => { name: string; kind: 'message' | 'enum' };

function prepareMessage(message: DescriptorProto, fullName: string, resolve: Resolve): void {
  for (const field of message.field) prepareField(field, fullName, resolve, `field ${fullName}.${field.name}`);
  for (const field of message.extension) prepareField(field, fullName, resolve, `extension ${fullName}.${field.name}`);
  for (const nested of message.nestedType) prepareMessage(nested, `${fullName}.${nested.name}`, resolve);
}

function prepareField(field: FieldDescriptorProto, scope: string, resolve: Resolve, where: string): void {
  if (field.jsonName === '') field.jsonName = protoCamelCase(field.name);
  if (field.typeName !== '') {
    const target = resolve(scope, field.typeName, where);
    field.typeName = target.name;
    if (field.type === (0 as FieldDescriptorProto_Type)) {
      field.type = target.kind === 'enum' ? FieldDescriptorProto_Type.ENUM : FieldDescriptorProto_Type.MESSAGE;
    }
  }
  if (field.label === (0 as FieldDescriptorProto_Label)) field.label = FieldDescriptorProto_Label.OPTIONAL;
  if (field.extendee !== '') field.extendee = resolve(scope, field.extendee, where).name;
}

/**
 * The full names a reference may mean, as protoc looks them up: an absolute `.a.b` only itself;
 * a relative `b.C` inside scope `x.y` first as `x.y.b.C`, then `x.b.C`, then `b.C`.
 */
function candidateNames(scope: string, reference: string): string[] {
  if (reference.startsWith('.')) return [reference.slice(1)];
  const candidates: string[] = [];
  const parts = scope === '' ? [] : scope.split('.');
  for (let length = parts.length; length >= 0; length--)
    candidates.push(join(parts.slice(0, length).join('.'), reference));
  return candidates;
}

function indexTypes(file: FileDescriptorProto, index: TypeIndex): void {
  const add = (name: string, kind: 'message' | 'enum'): void => {
    const other = index.get(name);
    if (other) throw new Error(`${name} is defined in both ${other.file} and ${file.name}`);
    index.set(name, { file: file.name, kind });
  };
  const addMessage = (message: DescriptorProto, fullName: string): void => {
    add(fullName, 'message');
    for (const nested of message.nestedType) addMessage(nested, `${fullName}.${nested.name}`);
    for (const enumType of message.enumType) add(`${fullName}.${enumType.name}`, 'enum');
  };
  for (const message of file.messageType) addMessage(message, join(file.package, message.name));
  for (const enumType of file.enumType) add(join(file.package, enumType.name), 'enum');
}

/** The files with each one after the files it imports; a cycle is an error, as in protoc. */
function dependencyOrder(files: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((file) => [file.name, file]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: FileDescriptorProto[] = [];
  const visit = (file: FileDescriptorProto, path: readonly string[]): void => {
    const seen = state.get(file.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`import cycle: ${[...path, file.name].join(' → ')}`);
    state.set(file.name, 'visiting');
    for (const dependency of file.dependency) {
      const next = byName.get(dependency);
      if (next) visit(next, [...path, file.name]);
    }
    state.set(file.name, 'done');
    ordered.push(file);
  };
  for (const file of files) visit(file, []);
  return ordered;
}

function join(scope: string, name: string): string {
  return scope === '' ? name : `${scope}.${name}`;
}

// ---- Decoding ----

const ANY_TYPE = 'google.protobuf.Any';
/** What an Any whose type is not in the schema is repacked as, so the rest of the message converts. */
const UNRESOLVED_ANY_URL = 'type.googleapis.com/sluice.display.UnresolvedAny';

const unresolvedAnyType: DescMessage = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'sluice/display/unresolved_any.proto',
    package: 'sluice.display',
    syntax: 'proto3',
    messageType: [
      {
        name: 'UnresolvedAny',
        field: [
          { name: 'type_url', jsonName: 'typeUrl', number: 1, label: 1, type: FieldDescriptorProto_Type.STRING },
          { name: 'value', jsonName: 'value', number: 2, label: 1, type: FieldDescriptorProto_Type.BYTES },
        ],
      },
    ],
  }),
  () => undefined,
).getMessage('sluice.display.UnresolvedAny')!;

const withUnresolvedAnyCache = new WeakMap<Registry, Registry>();

function withUnresolvedAny(registry: Registry): Registry {
  let combined = withUnresolvedAnyCache.get(registry);
  if (!combined) {
    combined = createRegistry(registry, unresolvedAnyType);
    withUnresolvedAnyCache.set(registry, combined);
  }
  return combined;
}

/** Each object in a decoded message graph (messages, map values, oneof cases), depth first. */
function* objectsIn(value: unknown): Generator<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const item of value) yield* objectsIn(item);
    return;
  }
  const object = value as Record<string, unknown>;
  yield object;
  for (const [key, item] of Object.entries(object)) if (key !== '$unknown') yield* objectsIn(item);
}

function countUnknownFields(message: object): number {
  let count = 0;
  for (const object of objectsIn(message)) if (Array.isArray(object.$unknown)) count += object.$unknown.length;
  return count;
}

/**
 * Repacks each Any whose type the schema lacks, or whose bytes do not decode as that type, as an
 * UnresolvedAny holding its URL and bytes; returns how many it repacked.
 */
function markUnresolvedAnys(message: object, registry: Registry): number {
  let marked = 0;
  for (const object of objectsIn(message)) {
    if (object.$typeName !== ANY_TYPE) continue;
    const any = object as unknown as Any;
    if (any.typeUrl === '' || resolvesAny(any, registry)) continue;
    const packed = create(unresolvedAnyType, { typeUrl: any.typeUrl, value: any.value });
    any.typeUrl = UNRESOLVED_ANY_URL;
    any.value = toBinary(unresolvedAnyType, packed);
    marked++;
  }
  return marked;
}

function resolvesAny(any: Any, registry: Registry): boolean {
  const type = registry.getMessage(any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1));
  if (!type) return false;
  try {
    fromBinary(type, any.value);
    return true;
  } catch {
    return false;
  }
}

function restoreUnresolvedAnys(json: JsonValue): JsonValue {
  if (Array.isArray(json)) return json.map(restoreUnresolvedAnys);
  if (typeof json !== 'object' || json === null) return json;
  if (json['@type'] === UNRESOLVED_ANY_URL) {
    return { '@type': json.typeUrl ?? '', '@unresolved': true, value: json.value ?? '' };
  }
  return Object.fromEntries(Object.entries(json).map(([key, value]) => [key, restoreUnresolvedAnys(value)]));
}
