import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, normalize } from 'node:path';
import { create, fromBinary, toBinary, type Registry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import type { SchemaFile, SchemaList, SchemaSource } from '../../app/contract.js';
import { loadDescriptorSet, rpcSchemaOf, type RpcSchema } from '../../app/protobuf-schema.js';
import { descriptorSetFromProtoFiles } from './proto-files.js';
import { readDescriptorSetFile } from './descriptor-file.js';
import { SchemaError } from './schema-error.js';

interface Entry {
  readonly source: SchemaSource;
  readonly files: readonly FileDescriptorProto[];
}

/**
 * The schemas the host decodes RPC messages with, from every source the user gave (files on the
 * command line or chosen in the UI, a server's reflection), kept as one FileDescriptorSet
 * (docs/adr/0004-protobuf-schemas.md). What a new source defines replaces what older ones
 * defined (a file named in two sources, or a type), so loading an edited .proto again takes the
 * new version; an older source left with nothing goes. A source whose files do not fit with the
 * rest (an older file imports one it replaced under another name) is refused whole.
 */
export class SchemaBook {
  private entries: Entry[] = [];
  private nextId = 1;
  private revision = 0;
  private merged = '';
  private loaded: RpcSchema | undefined;

  constructor(private readonly changed: (revision: number) => void) {}

  /** Every loaded type, for what reads messages in the host's process (stream rules); undefined when none. */
  get rpcSchema(): RpcSchema | undefined {
    return this.loaded;
  }

  list(): SchemaList {
    return {
      revision: this.revision,
      sources: this.entries.map((entry) => entry.source),
      descriptorSet: this.merged,
    };
  }

  /**
   * Files from the command line: `.proto` files together (imports looked up beside each file,
   * then in `includeDirs`), any other file as a descriptor set.
   */
  async addPaths(paths: readonly string[], includeDirs: readonly string[] = []): Promise<SchemaList> {
    const protos = paths.filter(isProtoFile);
    const sets = paths.filter((path) => !isProtoFile(path));
    // Read every file before adding any, so a bad one leaves the book as it was.
    const loaded: { kind: SchemaSource['kind']; label: string; bytes: Uint8Array }[] = [];
    if (protos.length > 0) {
      const bytes = await descriptorSetFromProtoFiles(protos, { includeDirs });
      loaded.push({ kind: 'proto-files', label: protos.map((path) => basename(path)).join(', '), bytes });
    }
    for (const path of sets) {
      loaded.push({ kind: 'descriptor-set', label: basename(path), bytes: await readDescriptorSetFile(path) });
    }
    for (const { kind, label, bytes } of loaded) this.add(kind, label, bytes);
    return this.list();
  }

  /**
   * Files chosen in the UI, sent as bytes: written to a private folder and read as `addPaths`
   * reads them. A page sends names without folders, so a file one of them imports by a path
   * (`import "acme/units/v1/units.proto"`) is also put at that path when a file of that name was sent.
   */
  async addFiles(files: readonly SchemaFile[]): Promise<SchemaList> {
    if (files.length === 0) throw new SchemaError('no files given');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-schema-'));
    try {
      const sent = new Map<string, Buffer>();
      for (const file of files) {
        // Only the base name: a page names the file, never where on this machine it goes.
        const name = basename(file.name);
        if (!name || name === '.' || name === '..') throw new SchemaError(`"${file.name}" is not a file name`);
        sent.set(name, Buffer.from(file.data, 'base64'));
      }
      // Each file once, where the imports look for it (a file imported by two paths is an error
      // protoc would make too), else at the top.
      const placed = new Map<string, string>();
      for (const imported of importedPaths([...sent.values()])) {
        if (sent.has(basename(imported)) && !placed.has(basename(imported))) placed.set(basename(imported), imported);
      }
      const paths: string[] = [];
      for (const [name, bytes] of sent) {
        const path = join(dir, placed.get(name) ?? name);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, bytes);
        paths.push(path);
      }
      return await this.addPaths(paths, [dir]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A serialized FileDescriptorSet (from reflection, or read already) as one source. */
  add(kind: SchemaSource['kind'], label: string, bytes: Uint8Array): SchemaList {
    const loaded = loadDescriptorSet(bytes);
    if ('error' in loaded) throw new SchemaError(`${label}: ${loaded.error}`);
    const files = fromBinary(FileDescriptorSetSchema, bytes).file;
    const source: SchemaSource = {
      id: this.nextId++,
      kind,
      label,
      services: loaded.schema.services,
      files: files.length,
    };
    // What the new files define replaces what older sources defined under any file name: the
    // same .proto loaded from another folder, or after a descriptor set of it.
    const defined = new Set(files.flatMap(symbolsOf));
    const entries: Entry[] = [];
    for (const entry of this.entries) {
      const kept = entry.files.filter((file) => !symbolsOf(file).some((symbol) => defined.has(symbol)));
      if (kept.length === entry.files.length) entries.push(entry);
      else if (kept.length > 0) entries.push({ source: { ...entry.source, files: kept.length }, files: kept });
    }
    entries.push({ source, files });
    const merged = mergedSet(entries);
    const check = loadDescriptorSet(merged);
    if ('error' in check)
      throw new SchemaError(`${label} does not fit with the schemas already loaded: ${check.error}`);
    this.commit(entries, merged, check.schema.registry);
    return this.list();
  }

  remove(sourceId: number): SchemaList {
    const entries = this.entries.filter((entry) => entry.source.id !== sourceId);
    if (entries.length === this.entries.length) throw new SchemaError(`no schema ${sourceId}`);
    const merged = mergedSet(entries);
    const loaded = loadDescriptorSet(merged);
    // What was loaded together loads without a source it was checked with: this cannot fail.
    this.commit(entries, merged, 'schema' in loaded && entries.length > 0 ? loaded.schema.registry : undefined);
    return this.list();
  }

  private commit(entries: Entry[], merged: Uint8Array, registry: Registry | undefined): void {
    this.entries = entries;
    this.loaded = registry && rpcSchemaOf(registry);
    this.merged = entries.length === 0 ? '' : Buffer.from(merged).toString('base64');
    this.changed(++this.revision);
  }
}

/** One set of every entry's files, a file name taken from the newest entry that has it. */
function mergedSet(entries: readonly Entry[]): Uint8Array {
  const byName = new Map<string, FileDescriptorProto>();
  for (const entry of entries) {
    for (const file of entry.files) {
      byName.delete(file.name);
      byName.set(file.name, file);
    }
  }
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [...byName.values()] }));
}

/** The full names of a file's top-level types, services and extensions. */
function symbolsOf(file: FileDescriptorProto): string[] {
  const prefix = file.package ? `${file.package}.` : '';
  return [...file.messageType, ...file.enumType, ...file.service, ...file.extension].map(
    (declared) => prefix + declared.name,
  );
}

function isProtoFile(path: string): boolean {
  return extname(path).toLowerCase() === '.proto';
}

/** The relative paths .proto sources import, those that stay inside the folder they are put in. */
function importedPaths(sources: readonly Buffer[]): Set<string> {
  const paths = new Set<string>();
  for (const source of sources) {
    for (const match of source.toString('utf8').matchAll(/^\s*import\s+(?:public\s+|weak\s+)?["']([^"']+)["']/gm)) {
      const path = normalize(match[1]!);
      if (!path.startsWith('..') && !path.startsWith('/')) paths.add(path);
    }
  }
  return paths;
}
