import { equals, fromBinary, toJson } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeWithSchema, loadDescriptorSet } from '../../app/protobuf-schema.js';
import { descriptorSetFromProtoFiles } from '../../main/schema/proto-files.js';
import { SchemaError } from '../../main/schema/schema-error.js';
import { useCleanup } from '../helpers/cleanup.js';

const fixtures = fileURLToPath(new URL('../fixtures/proto/', import.meta.url));
const forecastProto = path.join(fixtures, 'sluice/demo/v1/forecast.proto');
const { freshDir } = useCleanup();

function filesOf(bytes: Uint8Array): FileDescriptorProto[] {
  return fromBinary(FileDescriptorSetSchema, bytes).file;
}

/** Each file's descriptor equals protoc's, field for field (presence included). */
function expectSameFiles(ours: FileDescriptorProto[], protoc: FileDescriptorProto[]): void {
  expect(ours.map((file) => file.name)).toEqual(protoc.map((file) => file.name));
  for (const [index, file] of protoc.entries()) {
    const mine = ours[index]!;
    // On a difference, show both as JSON.
    if (!equals(FileDescriptorProtoSchema, mine, file)) {
      expect(toJson(FileDescriptorProtoSchema, mine)).toEqual(toJson(FileDescriptorProtoSchema, file));
    }
  }
}

/** Writes `files` (name → text) under a fresh folder and returns it. */
async function protoTree(files: Record<string, string>): Promise<string> {
  const dir = await freshDir();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

async function schemaError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SchemaError);
  return (error as SchemaError).message;
}

describe('descriptorSetFromProtoFiles', () => {
  it("makes the same set as protoc --include_imports from the fixture's include dir", async () => {
    const bytes = await descriptorSetFromProtoFiles([forecastProto], { includeDirs: [fixtures] });
    const protoc = filesOf(await readFile(path.join(fixtures, 'forecast.desc')));
    expectSameFiles(filesOf(bytes), protoc);
  });

  it('gives a set that decodes by name', async () => {
    const bytes = await descriptorSetFromProtoFiles([forecastProto], { includeDirs: [fixtures] });
    const loaded = loadDescriptorSet(bytes);
    if ('error' in loaded) throw new Error(loaded.error);
    // ForecastRequest { city: "Oslo", unit: FAHRENHEIT, days: 3 }
    const message = new Uint8Array([0x0a, 4, ...new TextEncoder().encode('Oslo'), 0x10, 2, 0x18, 3]);
    expect(decodeWithSchema(loaded.schema.registry, 'sluice.demo.v1.ForecastRequest', message)).toEqual({
      json: { city: 'Oslo', unit: 'FAHRENHEIT', days: 3 },
      unknownFields: 0,
    });
  });

  it('matches protoc on proto2: required, defaults, packed, groups, extensions, maps, oneofs, aliases', async () => {
    const dir = await protoTree({
      'legacy.proto': `syntax = "proto2";
package legacy;
message Envelope {
  required int32 id = 1;
  optional string label = 2 [default = "none"];
  repeated int32 codes = 3 [packed = true];
  optional group Meta = 4 { optional int64 at = 1; }
  optional Kind kind = 5 [default = SECOND];
  extensions 100 to 199;
  enum Kind { FIRST = 1; SECOND = 2; }
  map<int32, Envelope> children = 6;
  optional double ratio = 7 [default = 0.5];
  optional bool flag = 8 [default = true];
  optional string renamed = 9 [json_name = "otherName"];
  oneof choice { int32 left = 10; string right = 11; }
}
extend Envelope { optional string note = 100; }
message Holder { extend Envelope { optional Holder holder = 101; } }
enum Aliased { option allow_alias = true; A = 0; B = 0; }
service S { rpc Call(Envelope) returns (stream Envelope); rpc Send(stream Envelope) returns (Envelope); }
`,
    });
    const desc = path.join(dir, 'legacy.desc');
    const run = spawnSync('protoc', ['-I', dir, `--descriptor_set_out=${desc}`, 'legacy.proto'], { cwd: dir });
    if (run.error) throw new Error(`protoc could not run (apt-get install protobuf-compiler): ${run.error.message}`);
    expect(run.stderr.toString()).toBe('');
    const bytes = await descriptorSetFromProtoFiles([path.join(dir, 'legacy.proto')], { includeDirs: [dir] });
    expectSameFiles(filesOf(bytes), filesOf(await readFile(desc)));
  });

  it("resolves imports from the importing file's folder, with no include dirs", async () => {
    const dir = await protoTree({
      'api/main.proto': 'syntax = "proto3"; import "parts/part.proto"; message Main { Part part = 1; }',
      'api/parts/part.proto':
        'syntax = "proto3"; import "google/protobuf/empty.proto"; message Part { google.protobuf.Empty e = 1; string name = 2; }',
    });
    const files = filesOf(await descriptorSetFromProtoFiles([path.join(dir, 'api/main.proto')]));
    expect(files.map((file) => [file.name, file.dependency])).toEqual([
      ['google/protobuf/empty.proto', []],
      ['parts/part.proto', ['google/protobuf/empty.proto']],
      ['main.proto', ['parts/part.proto']],
    ]);
    expect(files[2]!.messageType[0]!.field[0]!.typeName).toBe('.Part');
  });

  it('loads a file given twice, or given and imported, once', async () => {
    const bytes = await descriptorSetFromProtoFiles(
      [path.join(fixtures, 'sluice/units/v1/units.proto'), forecastProto, forecastProto],
      { includeDirs: [fixtures] },
    );
    expect(
      filesOf(bytes)
        .filter((file) => file.name.startsWith('sluice/'))
        .map((file) => file.name),
    ).toEqual(['sluice/units/v1/units.proto', 'sluice/demo/v1/forecast.proto']);
  });

  it('takes the well-known types from its bundled copies, never from an include dir', async () => {
    const dir = await protoTree({
      'google/protobuf/timestamp.proto': 'not a proto file at all',
      'uses.proto':
        'syntax = "proto3"; import "google/protobuf/timestamp.proto"; message U { google.protobuf.Timestamp at = 1; }',
    });
    const given = [path.join(dir, 'uses.proto'), path.join(dir, 'google/protobuf/timestamp.proto')];
    const files = filesOf(await descriptorSetFromProtoFiles(given, { includeDirs: [dir] }));
    expect(files.map((file) => file.name)).toEqual(['google/protobuf/timestamp.proto', 'uses.proto']);
  });

  it('decodes an edition 2023 file by its features: delimited messages, implicit presence, closed enums', async () => {
    const dir = await protoTree({
      'e.proto': `edition = "2023";
package ed;
option features.field_presence = IMPLICIT;
message Outer {
  int32 count = 1;
  int32 kept = 2 [features.field_presence = EXPLICIT];
  Inner inner = 3 [features.message_encoding = DELIMITED];
  Level level = 4;
}
message Inner { string text = 1; }
enum Level { option features.enum_type = CLOSED; LEVEL_LOW = 0; LEVEL_HIGH = 1; }
`,
    });
    const loaded = loadDescriptorSet(await descriptorSetFromProtoFiles([path.join(dir, 'e.proto')]));
    if ('error' in loaded) throw new Error(loaded.error);
    const outer = loaded.schema.registry.getMessage('ed.Outer')!;
    expect(outer.field.count!.presence).toBe(2); // IMPLICIT
    expect(outer.field.kept!.presence).toBe(1); // EXPLICIT
    // count 0, kept 0, inner as a group { text "hi" }, level 7 (not a Level: closed, so unknown).
    const bytes = new Uint8Array([0x08, 0, 0x10, 0, 0x1b, 0x0a, 2, 0x68, 0x69, 0x1c, 0x20, 7]);
    expect(decodeWithSchema(loaded.schema.registry, 'ed.Outer', bytes)).toEqual({
      json: { kept: 0, inner: { text: 'hi' } },
      unknownFields: 1,
    });
  });

  it('says which import is missing and where it looked', async () => {
    const dir = await protoTree({ 'a.proto': 'syntax = "proto3";\nimport "nowhere/b.proto";\nmessage A {}\n' });
    const include = await freshDir();
    expect(
      await schemaError(descriptorSetFromProtoFiles([path.join(dir, 'a.proto')], { includeDirs: [include] })),
    ).toBe(`a.proto: import "nowhere/b.proto" not found (looked in ${dir}, ${include})`);
  });

  it('says which file and line do not parse, and which type is unknown', async () => {
    const dir = await protoTree({
      'broken.proto': 'syntax = "proto3";\nmessage A {\n  int32 = 1;\n}\n',
      'unknown.proto': 'syntax = "proto3";\npackage u;\nmessage A {\n  Missing m = 1;\n}\n',
    });
    expect(await schemaError(descriptorSetFromProtoFiles([path.join(dir, 'broken.proto')]))).toMatch(
      /broken\.proto.*line 3/,
    );
    expect(await schemaError(descriptorSetFromProtoFiles([path.join(dir, 'unknown.proto')]))).toBe(
      "unknown.proto: no such Type or Enum 'Missing' in Type .u.A",
    );
    expect(await schemaError(descriptorSetFromProtoFiles([path.join(dir, 'absent.proto')]))).toMatch(
      /^cannot read .*absent\.proto: ENOENT/,
    );
    expect(await schemaError(descriptorSetFromProtoFiles([]))).toBe('no .proto files given');
  });
});
