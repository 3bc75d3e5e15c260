import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { protoCamelCase } from '@bufbuild/protobuf/reflect';
import {
  Edition,
  FeatureSet_EnumType,
  FeatureSet_FieldPresence,
  FeatureSet_MessageEncoding,
  FeatureSet_Utf8Validation,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProtoSchema,
  type EnumDescriptorProtoSchema,
  type FeatureSetSchema,
  type FieldDescriptorProtoSchema,
  type FileDescriptorProto,
  type ServiceDescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor.js';
import { loadDescriptorSet, WELL_KNOWN_FILES } from '../../app/protobuf-schema.js';
import { errorMessage } from '../../app/error-message.js';
import { SchemaError } from './schema-error.js';

/**
 * `.proto` files to a FileDescriptorSet, the one form Sluice keeps a schema in
 * (docs/adr/0004-protobuf-schemas.md). protobuf.js parses each file and resolves the type names
 * across them; the descriptors are written here, one per file, as protoc writes them (file names
 * as imported, dependencies, fully qualified type names, map entries, JSON names), because
 * protobuf.js's own `toDescriptor` infers one file per package and names types relatively.
 */

export interface ProtoFilesOptions {
  /**
   * Folders imports are looked up in, as protoc's `-I`, after the importing file's own folder.
   * A file given inside one of them is named by its path from there, as protoc names it.
   */
  readonly includeDirs?: readonly string[];
}

/**
 * The serialized FileDescriptorSet of `files` and everything they import, dependencies first.
 * The well-known types (`google/protobuf/*.proto`) always come from the copies Sluice bundles.
 * Throws SchemaError naming the file and line when a file does not parse or an import is not found.
 */
export async function descriptorSetFromProtoFiles(
  files: readonly string[],
  options: ProtoFilesOptions = {},
): Promise<Uint8Array> {
  if (files.length === 0) throw new SchemaError('no .proto files given');
  const loader = new ProtoLoader((options.includeDirs ?? []).map((dir) => path.resolve(dir)));
  for (const file of files) await loader.loadRoot(path.resolve(file));
  loader.resolveAll();
  const bytes = toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: loader.descriptors() }));
  const loaded = loadDescriptorSet(bytes);
  if ('error' in loaded) throw new SchemaError(loaded.error);
  return bytes;
}

interface LoadedFile {
  readonly name: string;
  readonly source: string;
  readonly packageName: string;
  readonly dependency: readonly string[];
}

/** protobuf.js's fields that its typings leave out: the file's edition and resolved features. */
interface WithEdition {
  _edition?: string | null;
  _features?: Record<string, string>;
}

class ProtoLoader {
  /** Starts with the bundled well-known types, so names in them resolve. */
  readonly root = protobuf.Root.fromDescriptor(
    toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [...WELL_KNOWN_FILES.values()] })),
    { keepCase: true },
  );
  /** Files in the order loaded, each after its imports. */
  private readonly files: LoadedFile[] = [];
  private readonly nameByPath = new Map<string, string>();
  private readonly pathByName = new Map<string, string>();
  private readonly wellKnownUsed = new Set<string>();

  constructor(private readonly includeDirs: readonly string[]) {}

  /** Resolves every type name; an unknown one is an error naming the file it is in. */
  resolveAll(): void {
    try {
      this.root.resolveAll();
    } catch (error) {
      const message = errorMessage(error);
      // protobuf.js ends with the object holding the name: "no such type 'X' in Type .pkg.Message".
      const holder = /in \w+ (\.[\w.]+)$/.exec(message)?.[1];
      const file = holder === undefined ? null : (this.root.lookup(holder)?.filename ?? null);
      throw new SchemaError(file === null ? message : `${file}: ${message}`);
    }
  }

  async loadRoot(absolute: string): Promise<void> {
    const inside = this.includeDirs
      .map((include) => path.relative(include, absolute))
      .find((relative) => relative !== '' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
    const name = (inside ?? path.basename(absolute)).split(path.sep).join('/');
    // A copy of a well-known type given among the files is the bundled one.
    if (WELL_KNOWN_FILES.has(name)) this.wellKnownUsed.add(name);
    else await this.load(absolute, name);
  }

  /** The descriptors of the files loaded, each after its imports, well-known types first. */
  descriptors(): FileDescriptorProto[] {
    const wellKnown: FileDescriptorProto[] = [];
    const addWellKnown = (name: string): void => {
      const file = WELL_KNOWN_FILES.get(name)!;
      if (wellKnown.includes(file)) return;
      file.dependency.forEach(addWellKnown);
      wellKnown.push(file);
    };
    [...this.wellKnownUsed].sort().forEach(addWellKnown);
    const objects = objectsByFile(this.root);
    return [...wellKnown, ...this.files.map((file) => fileDescriptor(file, objects.get(file.name) ?? []))];
  }

  /** Loads the file at `absolute` as `name`, after its imports; returns the name it has. */
  private async load(absolute: string, name: string): Promise<string> {
    const known = this.nameByPath.get(absolute);
    if (known !== undefined) return known;
    const other = this.pathByName.get(name);
    if (other !== undefined) throw new SchemaError(`two files are named ${name}: ${other} and ${absolute}`);
    this.nameByPath.set(absolute, name);
    this.pathByName.set(name, absolute);

    let source: string;
    try {
      source = await readFile(absolute, 'utf8');
    } catch (error) {
      throw new SchemaError(`cannot read ${absolute}: ${errorMessage(error)}`);
    }
    let parsed: protobuf.IParserResult;
    try {
      // protobuf.js stamps each object it parses with this name, which is how files are told apart.
      parseState.filename = name;
      parsed = protobuf.parse(source, this.root, { keepCase: true });
    } catch (error) {
      // Syntax errors name the file and line already; others ("duplicate name") do not.
      const message = errorMessage(error);
      throw new SchemaError(message.includes(name) ? message : `${name}: ${message}`);
    } finally {
      parseState.filename = null;
    }

    const dependency: string[] = [];
    const imports = [
      ...(parsed.imports ?? []).map((target) => ({ target, weak: false })),
      ...(parsed.weakImports ?? []).map((target) => ({ target, weak: true })),
    ];
    for (const { target, weak } of imports) {
      if (WELL_KNOWN_FILES.has(target)) {
        this.wellKnownUsed.add(target);
        dependency.push(target);
        continue;
      }
      const found = await this.find(target, path.dirname(absolute));
      if (found === undefined) {
        if (weak) continue;
        const looked = [path.dirname(absolute), ...this.includeDirs].join(', ');
        throw new SchemaError(`${name}: import "${target}" not found (looked in ${looked})`);
      }
      dependency.push(await this.load(found, target));
    }
    this.files.push({ name, source, packageName: parsed.package ?? '', dependency });
    return name;
  }

  private async find(target: string, importerDir: string): Promise<string | undefined> {
    for (const dir of [importerDir, ...this.includeDirs]) {
      const candidate = path.resolve(dir, target);
      try {
        if ((await stat(candidate)).isFile()) return candidate;
      } catch {
        // Not here; try the next folder.
      }
    }
    return undefined;
  }
}

/** protobuf.js's parser notes the file it is parsing here; its typings leave it out. */
const parseState = protobuf.parse as unknown as { filename: string | null };

type TopLevel = protobuf.Type | protobuf.Enum | protobuf.Service | protobuf.Field;

/** Each file's top-level messages, enums, services and extensions, by the file they came from. */
function objectsByFile(root: protobuf.Root): Map<string, TopLevel[]> {
  const byFile = new Map<string, TopLevel[]>();
  const walk = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (
        nested instanceof protobuf.Type ||
        nested instanceof protobuf.Enum ||
        nested instanceof protobuf.Service ||
        nested instanceof protobuf.Field
      ) {
        if (nested.filename === null) continue;
        const list = byFile.get(nested.filename) ?? [];
        list.push(nested);
        byFile.set(nested.filename, list);
      } else if (nested instanceof protobuf.Namespace) {
        walk(nested);
      }
    }
  };
  walk(root);
  return byFile;
}

/** How a file's fields decode: by its syntax, or by its edition's features. */
type Syntax = { readonly syntax: 'proto2' | 'proto3' } | { readonly syntax: 'editions'; readonly edition: Edition };

type MessageInit = MessageInitShape<typeof DescriptorProtoSchema>;
type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;
type EnumInit = MessageInitShape<typeof EnumDescriptorProtoSchema>;
type ServiceInit = MessageInitShape<typeof ServiceDescriptorProtoSchema>;
type FeaturesInit = MessageInitShape<typeof FeatureSetSchema>;

function fileDescriptor(file: LoadedFile, objects: readonly TopLevel[]): FileDescriptorProto {
  const syntax = syntaxOf(file, objects);
  return create(FileDescriptorProtoSchema, {
    name: file.name,
    ...(file.packageName === '' ? {} : { package: file.packageName }),
    dependency: [...file.dependency],
    // proto2 is the default, which protoc leaves unsaid.
    ...(syntax.syntax === 'proto2' ? {} : { syntax: syntax.syntax }),
    ...(syntax.syntax === 'editions' ? { edition: syntax.edition } : {}),
    messageType: objects
      .filter((object) => object instanceof protobuf.Type)
      .map((type) => messageDescriptor(type, syntax)),
    enumType: objects.filter((object) => object instanceof protobuf.Enum).map((type) => enumDescriptor(type, syntax)),
    service: objects.filter((object) => object instanceof protobuf.Service).map(serviceDescriptor),
    extension: objects
      .filter((object) => object instanceof protobuf.Field)
      .map((field) => fieldDescriptor(field, syntax)),
  });
}

function syntaxOf(file: LoadedFile, objects: readonly TopLevel[]): Syntax {
  // protobuf.js notes the syntax on each top-level object; a file with none has it only in its text.
  const noted = (objects[0] as WithEdition | undefined)?._edition;
  const written = /^\s*(?:syntax|edition)\s*=\s*["']([^"']+)["']/m.exec(withoutComments(file.source))?.[1];
  const edition = noted ?? written ?? 'proto2';
  if (edition === 'proto2' || edition === 'proto3') return { syntax: edition };
  if (edition === '2023') return { syntax: 'editions', edition: Edition.EDITION_2023 };
  if (edition === '2024') return { syntax: 'editions', edition: Edition.EDITION_2024 };
  throw new SchemaError(`${file.name}: edition "${edition}" is not supported`);
}

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
}

function messageDescriptor(type: protobuf.Type, syntax: Syntax): MessageInit {
  const fields = type.fieldsArray.filter((field) => field.declaringField === null);
  // proto3 `optional` fields sit in synthetic oneofs, which protoc lists after the real ones.
  const synthetic = (oneof: protobuf.OneOf): boolean =>
    oneof.fieldsArray.length === 1 && oneof.fieldsArray[0]!.options?.proto3_optional === true;
  const oneofs = [...type.oneofsArray.filter((oneof) => !synthetic(oneof)), ...type.oneofsArray.filter(synthetic)];
  const mapEntries: MessageInit[] = [];
  const field = fields.map((member) => {
    const descriptor = fieldDescriptor(member, syntax);
    if (member.partOf) descriptor.oneofIndex = oneofs.indexOf(member.partOf);
    if (member instanceof protobuf.MapField) {
      const entry = mapEntryDescriptor(member, syntax);
      mapEntries.push(entry);
      descriptor.type = FieldDescriptorProto_Type.MESSAGE;
      descriptor.typeName = `${type.fullName}.${entry.name!}`;
      descriptor.label = FieldDescriptorProto_Label.REPEATED;
    }
    return descriptor;
  });
  const nested = type.nestedArray;
  return {
    name: type.name,
    field,
    nestedType: [
      ...nested.filter((object) => object instanceof protobuf.Type).map((inner) => messageDescriptor(inner, syntax)),
      ...mapEntries,
    ],
    enumType: nested.filter((object) => object instanceof protobuf.Enum).map((inner) => enumDescriptor(inner, syntax)),
    extension: nested.filter((object) => object instanceof protobuf.Field).map((ext) => fieldDescriptor(ext, syntax)),
    oneofDecl: oneofs.map((oneof) => ({ name: oneof.name })),
    extensionRange: (type.extensions ?? []).map(([start, end]) => ({ start, end: end! + 1 })),
  };
}

/** protoc's name for a map field's entry message: `rainfall_mm` → `RainfallMmEntry`. */
function mapEntryName(fieldName: string): string {
  return `${fieldName.replace(/(?:^|_+)([a-z]?)/g, (_match, letter: string) => letter.toUpperCase())}Entry`;
}

function mapEntryDescriptor(field: protobuf.MapField, syntax: Syntax): MessageInit {
  const value: FieldInit = { name: 'value', jsonName: 'value', number: 2, label: FieldDescriptorProto_Label.OPTIONAL };
  Object.assign(value, typeOf(field, syntax));
  return {
    name: mapEntryName(field.name),
    field: [
      {
        name: 'key',
        jsonName: 'key',
        number: 1,
        label: FieldDescriptorProto_Label.OPTIONAL,
        type: scalarType(field.keyType, field),
      },
      value,
    ],
    options: { mapEntry: true },
  };
}

function fieldDescriptor(field: protobuf.FieldBase, syntax: Syntax): FieldInit {
  const options = (field.options ?? {}) as Record<string, unknown>;
  const descriptor: FieldInit = {
    name: field.name,
    number: field.id,
    jsonName: typeof options.json_name === 'string' ? options.json_name : protoCamelCase(field.name),
    label: field.repeated
      ? FieldDescriptorProto_Label.REPEATED
      : field instanceof protobuf.Field && field.required && syntax.syntax === 'proto2'
        ? FieldDescriptorProto_Label.REQUIRED
        : FieldDescriptorProto_Label.OPTIONAL,
    ...typeOf(field, syntax),
  };
  if (options.proto3_optional === true) descriptor.proto3Optional = true;
  if (options.default !== undefined && descriptor.type !== FieldDescriptorProto_Type.BYTES) {
    descriptor.defaultValue = String(options.default);
  }
  if (field.extensionField) descriptor.extendee = field.extensionField.parent!.fullName;
  const fieldOptions: NonNullable<FieldInit['options']> = {};
  if (typeof options.packed === 'boolean') fieldOptions.packed = options.packed;
  if (syntax.syntax === 'editions') {
    const features = fieldFeatures(field);
    if (features) fieldOptions.features = features;
  }
  if (Object.keys(fieldOptions).length > 0) descriptor.options = fieldOptions;
  return descriptor;
}

/** The field's type, and the full name of its message or enum type. */
function typeOf(field: protobuf.FieldBase, syntax: Syntax): Pick<FieldInit, 'type' | 'typeName'> {
  const target = field.resolvedType;
  if (target instanceof protobuf.Enum) return { type: FieldDescriptorProto_Type.ENUM, typeName: target.fullName };
  if (target instanceof protobuf.Type) {
    // A proto2 group; in editions a delimited field is a message field with that feature.
    const group = field instanceof protobuf.Field && field.delimited && syntax.syntax === 'proto2';
    return {
      type: group ? FieldDescriptorProto_Type.GROUP : FieldDescriptorProto_Type.MESSAGE,
      typeName: target.fullName,
    };
  }
  return { type: scalarType(field.type, field) };
}

const SCALAR_TYPES: Readonly<Record<string, FieldDescriptorProto_Type>> = {
  double: FieldDescriptorProto_Type.DOUBLE,
  float: FieldDescriptorProto_Type.FLOAT,
  int64: FieldDescriptorProto_Type.INT64,
  uint64: FieldDescriptorProto_Type.UINT64,
  int32: FieldDescriptorProto_Type.INT32,
  fixed64: FieldDescriptorProto_Type.FIXED64,
  fixed32: FieldDescriptorProto_Type.FIXED32,
  bool: FieldDescriptorProto_Type.BOOL,
  string: FieldDescriptorProto_Type.STRING,
  bytes: FieldDescriptorProto_Type.BYTES,
  uint32: FieldDescriptorProto_Type.UINT32,
  sfixed32: FieldDescriptorProto_Type.SFIXED32,
  sfixed64: FieldDescriptorProto_Type.SFIXED64,
  sint32: FieldDescriptorProto_Type.SINT32,
  sint64: FieldDescriptorProto_Type.SINT64,
};

function scalarType(name: string, field: protobuf.FieldBase): FieldDescriptorProto_Type {
  const type = SCALAR_TYPES[name];
  if (type === undefined)
    throw new SchemaError(`${field.filename ?? ''}: field ${field.fullName} has unknown type ${name}`);
  return type;
}

/**
 * The features an editions field decodes by, where they differ from edition 2023's defaults;
 * protobuf.js has resolved them through the file, message and field options already.
 */
function fieldFeatures(field: protobuf.FieldBase): FeaturesInit | undefined {
  const resolved = (field as unknown as WithEdition)._features ?? {};
  const features: FeaturesInit = {};
  const singular = !field.repeated && !field.partOf && !(field.resolvedType instanceof protobuf.Type);
  if (singular && resolved.field_presence === 'IMPLICIT') features.fieldPresence = FeatureSet_FieldPresence.IMPLICIT;
  if (singular && resolved.field_presence === 'LEGACY_REQUIRED') {
    features.fieldPresence = FeatureSet_FieldPresence.LEGACY_REQUIRED;
  }
  if (field.resolvedType instanceof protobuf.Type && resolved.message_encoding === 'DELIMITED') {
    features.messageEncoding = FeatureSet_MessageEncoding.DELIMITED;
  }
  if (resolved.utf8_validation === 'NONE') features.utf8Validation = FeatureSet_Utf8Validation.NONE;
  return Object.keys(features).length > 0 ? features : undefined;
}

function enumDescriptor(type: protobuf.Enum, syntax: Syntax): EnumInit {
  const options = (type.options ?? {}) as Record<string, unknown>;
  const descriptor: EnumInit = {
    name: type.name,
    value: Object.entries(type.values).map(([name, number]) => ({ name, number })),
  };
  const enumOptions: NonNullable<EnumInit['options']> = {};
  if (options.allow_alias === true) enumOptions.allowAlias = true;
  if (syntax.syntax === 'editions' && (type as unknown as WithEdition)._features?.enum_type === 'CLOSED') {
    enumOptions.features = { enumType: FeatureSet_EnumType.CLOSED };
  }
  if (Object.keys(enumOptions).length > 0) descriptor.options = enumOptions;
  return descriptor;
}

function serviceDescriptor(service: protobuf.Service): ServiceInit {
  return {
    name: service.name,
    method: service.methodsArray.map((method) => ({
      name: method.name,
      inputType: method.resolvedRequestType!.fullName,
      outputType: method.resolvedResponseType!.fullName,
      ...(method.requestStream ? { clientStreaming: true } : {}),
      ...(method.responseStream ? { serverStreaming: true } : {}),
    })),
  };
}
