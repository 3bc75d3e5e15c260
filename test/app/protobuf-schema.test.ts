import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeWithSchema,
  loadDescriptorSet,
  messageTypesFor,
  type ProtoSchema,
  type SchemaDecoded,
} from '../../app/protobuf-schema.js';

// Made by protoc from test/fixtures/proto/ (see the README there).
const fixtureSet = readFileSync(new URL('../fixtures/proto/forecast.desc', import.meta.url));

function load(bytes: Uint8Array): ProtoSchema {
  const loaded = loadDescriptorSet(bytes);
  if ('error' in loaded) throw new Error(loaded.error);
  return loaded.schema;
}

function fixtureFiles(): FileDescriptorProto[] {
  return fromBinary(FileDescriptorSetSchema, fixtureSet).file;
}

function setOf(files: FileDescriptorProto[]): Uint8Array {
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files }));
}

/** A message of `typeName` from the schema, encoded as a client would send it. */
function encode(schema: ProtoSchema, typeName: string, init: MessageInitShape<DescMessage>): Uint8Array {
  const type = schema.registry.getMessage(typeName)!;
  return toBinary(type, create(type, init));
}

function json(decoded: SchemaDecoded): unknown {
  if ('error' in decoded) throw new Error(decoded.error);
  return decoded.json;
}

const schema = load(fixtureSet);
const request = (init: MessageInitShape<DescMessage>): Uint8Array =>
  encode(schema, 'sluice.demo.v1.ForecastRequest', init);

describe('loadDescriptorSet', () => {
  it("reads protoc's set: files dependencies first, services by full name", () => {
    expect(schema.files).toEqual([
      'google/protobuf/any.proto',
      'google/protobuf/duration.proto',
      'google/protobuf/struct.proto',
      'google/protobuf/timestamp.proto',
      'google/protobuf/wrappers.proto',
      'sluice/units/v1/units.proto',
      'sluice/demo/v1/forecast.proto',
    ]);
    expect(schema.services).toEqual(['sluice.demo.v1.Forecasts']);
  });

  it('adds the well-known types a set made without --include_imports lacks', () => {
    const own = fixtureFiles().filter((file) => !file.name.startsWith('google/'));
    const loaded = load(setOf(own));
    expect([...loaded.files].sort()).toEqual(schema.files.toSorted());
    expect(loaded.files.at(-1)).toBe('sluice/demo/v1/forecast.proto');
    const bytes = encode(loaded, 'sluice.demo.v1.Forecast', { issuedAt: { seconds: 1n } });
    expect(json(decodeWithSchema(loaded.registry, 'sluice.demo.v1.Forecast', bytes))).toEqual({
      issuedAt: '1970-01-01T00:00:01Z',
    });
  });

  it('orders files given out of order', () => {
    const loaded = load(setOf(fixtureFiles().reverse()));
    expect(loaded.files.indexOf('sluice/units/v1/units.proto')).toBeLessThan(
      loaded.files.indexOf('sluice/demo/v1/forecast.proto'),
    );
  });

  it('names the missing file when a set lacks one that is not a well-known type', () => {
    const withoutUnits = fixtureFiles().filter((file) => file.name !== 'sluice/units/v1/units.proto');
    expect(loadDescriptorSet(setOf(withoutUnits))).toEqual({
      error:
        'sluice/demo/v1/forecast.proto: field sluice.demo.v1.ForecastRequest.unit refers to .sluice.units.v1.TemperatureUnit, which is not in the descriptor set',
    });
  });

  it('refuses bytes that are not a descriptor set, and an empty set', () => {
    const notASet = loadDescriptorSet(new TextEncoder().encode('syntax = "proto3";'));
    expect('error' in notASet && notASet.error).toMatch(/^not a FileDescriptorSet: /);
    expect(loadDescriptorSet(new Uint8Array())).toEqual({ error: 'the descriptor set holds no files' });
  });

  it('refuses an import cycle and a type defined twice', () => {
    const cycle = [
      create(FileDescriptorProtoSchema, { name: 'a.proto', dependency: ['b.proto'], syntax: 'proto3' }),
      create(FileDescriptorProtoSchema, { name: 'b.proto', dependency: ['a.proto'], syntax: 'proto3' }),
    ];
    expect(loadDescriptorSet(setOf(cycle))).toEqual({ error: 'import cycle: a.proto → b.proto → a.proto' });
    const twice = fixtureFiles();
    twice.push({ ...twice.find((file) => file.name === 'sluice/units/v1/units.proto')!, name: 'copy.proto' });
    expect(loadDescriptorSet(setOf(twice))).toEqual({
      error: 'sluice.units.v1.Alert is defined in both sluice/units/v1/units.proto and copy.proto',
    });
  });

  it('qualifies relative type names and fills in JSON names and imports, as protobuf.js servers need', () => {
    // What @grpc/reflection sends: names relative to their scope, no json_name, no dependency list.
    const files = fixtureFiles();
    const forecast = files.find((file) => file.name === 'sluice/demo/v1/forecast.proto')!;
    const relative: Record<string, string> = {
      '.sluice.units.v1.TemperatureUnit': 'units.v1.TemperatureUnit',
      '.sluice.demo.v1.Forecast.Reading': 'Reading',
      '.sluice.demo.v1.Forecast.Condition': 'Condition',
      '.google.protobuf.Timestamp': 'google.protobuf.Timestamp',
    };
    const strip = (fields: { typeName: string; jsonName: string }[]): void => {
      for (const field of fields) {
        field.typeName = relative[field.typeName] ?? field.typeName;
        field.jsonName = '';
      }
    };
    for (const message of forecast.messageType) {
      strip(message.field);
      for (const nested of message.nestedType) strip(nested.field);
    }
    forecast.dependency = [];
    const loaded = load(setOf(files.reverse()));
    const bytes = encode(schema, 'sluice.demo.v1.Forecast', {
      unit: 2,
      readings: [{ at: { seconds: 60n }, condition: 3 }],
      rainfallMm: { mon: 4 },
    });
    expect(json(decodeWithSchema(loaded.registry, 'sluice.demo.v1.Forecast', bytes))).toEqual({
      unit: 'FAHRENHEIT',
      readings: [{ at: '1970-01-01T00:01:00Z', condition: 'RAIN' }],
      rainfallMm: { mon: 4 },
    });
  });
});

describe('messageTypesFor', () => {
  it("finds a method's request and response types from its path", () => {
    expect(messageTypesFor(schema.registry, '/sluice.demo.v1.Forecasts/GetForecast')).toEqual({
      method: 'sluice.demo.v1.Forecasts.GetForecast',
      input: 'sluice.demo.v1.ForecastRequest',
      output: 'sluice.demo.v1.Forecast',
      clientStreaming: false,
      serverStreaming: false,
    });
    expect(messageTypesFor(schema.registry, '/sluice.demo.v1.Forecasts/WatchForecasts?connect=v1')).toMatchObject({
      method: 'sluice.demo.v1.Forecasts.WatchForecasts',
      serverStreaming: true,
    });
  });

  it('answers undefined for a method, a service or a path it does not know', () => {
    expect(messageTypesFor(schema.registry, '/sluice.demo.v1.Forecasts/Nope')).toBeUndefined();
    expect(messageTypesFor(schema.registry, '/sluice.demo.v1.Other/GetForecast')).toBeUndefined();
    expect(messageTypesFor(schema.registry, '/v1/sluice.demo.v1.Forecasts/GetForecast')).toBeUndefined();
    expect(messageTypesFor(schema.registry, '/%E0%A4%A/GetForecast')).toBeUndefined();
  });
});

describe('decodeWithSchema', () => {
  it('shows fields by name, enums by name and well-known types in their JSON forms', () => {
    const bytes = encode(schema, 'sluice.demo.v1.Forecast', {
      city: 'Lyon',
      unit: 1,
      readings: [
        { at: { seconds: 1767225600n, nanos: 500_000_000 }, temperature: 3.5, condition: 1 },
        { at: { seconds: 1767229200n }, temperature: -1.25, condition: 9 },
      ],
      rainfallMm: { mon: 4, tue: 0 },
      issuedAt: { seconds: 1767225600n },
      validFor: { seconds: 3600n, nanos: 1_000_000 },
      // Struct fields take a JSON object.
      extra: { source: 'model', runs: 3 },
      // Wrapper fields take the bare value; 0 is sent, since a wrapper has presence.
      humidity: 0,
      detail: {
        typeUrl: 'type.googleapis.com/sluice.demo.v1.ForecastRequest',
        value: request({ city: 'Paris', days: 2 }),
      },
      deltas: [-1n, 0n, 9007199254740993n],
      signature: new Uint8Array([0, 1, 254, 255]),
      note: '',
      source: { case: 'satellite', value: 7 },
    });
    expect(decodeWithSchema(schema.registry, 'sluice.demo.v1.Forecast', bytes)).toEqual({
      json: {
        city: 'Lyon',
        unit: 'CELSIUS',
        readings: [
          { at: '2026-01-01T00:00:00.500Z', temperature: 3.5, condition: 'SUNNY' },
          // A value the enum does not name stays a number.
          { at: '2026-01-01T01:00:00Z', temperature: -1.25, condition: 9 },
        ],
        rainfallMm: { mon: 4, tue: 0 },
        issuedAt: '2026-01-01T00:00:00Z',
        validFor: '3600.001s',
        extra: { source: 'model', runs: 3 },
        humidity: 0,
        detail: { '@type': 'type.googleapis.com/sluice.demo.v1.ForecastRequest', city: 'Paris', days: 2 },
        deltas: ['-1', '0', '9007199254740993'],
        signature: 'AAH+/w==',
        // proto3 `optional`: set to its default, so shown.
        note: '',
        satellite: 7,
      },
      unknownFields: 0,
    });
  });

  it('shows an Any whose type is not in the schema as its URL and bytes, the rest by name', () => {
    const bytes = encode(schema, 'sluice.demo.v1.Forecast', {
      city: 'Lyon',
      detail: { typeUrl: 'type.googleapis.com/acme.Secret', value: new Uint8Array([8, 1]) },
    });
    expect(json(decodeWithSchema(schema.registry, 'sluice.demo.v1.Forecast', bytes))).toEqual({
      city: 'Lyon',
      detail: { '@type': 'type.googleapis.com/acme.Secret', '@unresolved': true, value: 'CAE=' },
    });
    // A known type whose bytes do not decode as it is shown the same way.
    const broken = encode(schema, 'sluice.demo.v1.Forecast', {
      detail: { typeUrl: 'type.googleapis.com/sluice.demo.v1.ForecastRequest', value: new Uint8Array([0x0a, 5]) },
    });
    expect(json(decodeWithSchema(schema.registry, 'sluice.demo.v1.Forecast', broken))).toEqual({
      detail: { '@type': 'type.googleapis.com/sluice.demo.v1.ForecastRequest', '@unresolved': true, value: 'CgU=' },
    });
  });

  it('counts fields the type does not declare, nested ones included', () => {
    // ForecastRequest { city = "x", 99: 1 } inside Forecast.readings[0] as field 7 of a Reading.
    const reading = [0x11, ...new Array<number>(8).fill(0), 0xb8, 0x06, 0x01]; // temperature 0, then field 103
    const bytes = new Uint8Array([0x0a, 0x01, 0x78, 0x1a, reading.length, ...reading, 0x98, 0x06, 0x02]);
    expect(decodeWithSchema(schema.registry, 'sluice.demo.v1.Forecast', bytes)).toEqual({
      json: { city: 'x', readings: [{}] },
      unknownFields: 2,
    });
  });

  it('answers an error, never throws, for bytes that are not the type', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([0x0a, 0x05, 0x61]), /^not a sluice\.demo\.v1\.Forecast: premature EOF$/],
      [new Uint8Array([0x0a, 0x02, 0xff, 0xfe]), /^not a sluice\.demo\.v1\.Forecast: .*utf-8/i],
      [new Uint8Array([0x00, 0x01]), /^not a sluice\.demo\.v1\.Forecast: illegal tag/],
      [new Uint8Array([0x2a, 0x02, 0x08]), /^not a sluice\.demo\.v1\.Forecast: /],
    ];
    for (const [bytes, error] of cases) {
      const decoded = decodeWithSchema(schema.registry, 'sluice.demo.v1.Forecast', bytes);
      expect('error' in decoded && decoded.error, `bytes ${bytes.join(',')}`).toMatch(error);
    }
    expect(decodeWithSchema(schema.registry, 'sluice.demo.v1.Missing', new Uint8Array())).toEqual({
      error: 'sluice.demo.v1.Missing is not in the schema',
    });
  });

  it('decodes an empty message as {}', () => {
    expect(decodeWithSchema(schema.registry, 'sluice.demo.v1.ForecastRequest', new Uint8Array())).toEqual({
      json: {},
      unknownFields: 0,
    });
  });
});
