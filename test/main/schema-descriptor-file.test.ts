import { create, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDescriptorSet } from '../../app/protobuf-schema.js';
import { MAX_DESCRIPTOR_SET_BYTES, readDescriptorSetFile } from '../../main/schema/descriptor-file.js';
import { SchemaError } from '../../main/schema/schema-error.js';
import { useCleanup } from '../helpers/cleanup.js';

const fixtureSet = new URL('../fixtures/proto/forecast.desc', import.meta.url);
const { freshDir } = useCleanup();

async function fileWith(name: string, bytes: Uint8Array | string): Promise<string> {
  const file = path.join(await freshDir(), name);
  await writeFile(file, bytes);
  return file;
}

async function refusal(file: string): Promise<string> {
  const error = await readDescriptorSetFile(file).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SchemaError);
  return (error as SchemaError).message;
}

describe('readDescriptorSetFile', () => {
  it("reads protoc's descriptor set as it is", async () => {
    const bytes = await readDescriptorSetFile(fileURLToPath(fixtureSet));
    expect(Buffer.from(bytes).equals(await readFile(fixtureSet))).toBe(true);
    const loaded = loadDescriptorSet(bytes);
    expect('schema' in loaded && loaded.schema.services).toEqual(['sluice.demo.v1.Forecasts']);
  });

  it('refuses a file that is not a descriptor set, naming it', async () => {
    const file = await fileWith('random.bin', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(await refusal(file)).toMatch(new RegExp(`^${file}: not a FileDescriptorSet: `));
  });

  it('says so when given a .proto file instead', async () => {
    const file = await fileWith('api.desc', '// An API.\nsyntax = "proto3";\nmessage A {}\n');
    expect(await refusal(file)).toMatch(/\(it looks like a \.proto file: give it as one\)$/);
  });

  it('refuses a set made without the imports it needs, naming what is missing', async () => {
    const set = create(FileDescriptorSetSchema, {
      file: [
        create(FileDescriptorProtoSchema, {
          name: 'a.proto',
          syntax: 'proto3',
          dependency: ['b.proto'],
          messageType: [{ name: 'A', field: [{ name: 'b', number: 1, label: 1, type: 11, typeName: '.B' }] }],
        }),
      ],
    });
    const file = await fileWith('a.desc', toBinary(FileDescriptorSetSchema, set));
    expect(await refusal(file)).toBe(`${file}: a.proto: field A.b refers to .B, which is not in the descriptor set`);
  });

  it('refuses an empty file, a missing one and one too large to be a schema', async () => {
    const empty = await fileWith('empty.desc', new Uint8Array());
    expect(await refusal(empty)).toBe(`${empty}: the descriptor set holds no files`);
    const missing = path.join(await freshDir(), 'missing.desc');
    expect(await refusal(missing)).toMatch(/^cannot read .*missing\.desc: ENOENT/);
    const huge = await fileWith('huge.desc', new Uint8Array());
    await truncate(huge, MAX_DESCRIPTOR_SET_BYTES + 1);
    expect(await refusal(huge)).toBe(
      `${huge}: ${MAX_DESCRIPTOR_SET_BYTES + 1} bytes is too large for a descriptor set`,
    );
  });
});
