import { create, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { SchemaList } from '../../app/contract.js';
import type { RpcMessageEvent } from '../../app/proxy-events.js';
import { base64FromBytes } from '../../renderer/src/base64.js';
import { decodeForDisplay, unknownFieldsWarning } from '../../renderer/src/rpc/rpc-decode.js';
import { rpcMessageTest } from '../../renderer/src/rpc/rpc-filter.js';
import { rpcPreview, searchedText } from '../../renderer/src/rpc/rpc-format.js';
import {
  callSchemaOf,
  loadSchemas,
  requestPath,
  type CallSchema,
  type LoadedSchemas,
} from '../../renderer/src/store/schemas.js';
import { nextSchemas } from '../../renderer/src/store/held-schemas.js';

/**
 * How the RPC messages view picks a message's type and decodes it with the host's schemas: the
 * call's path picks the method, the direction its input or output, and the decoding is cached per
 * message and schema revision. The schema is the fixture's descriptor set, as protoc wrote it.
 */

// Renderer tests are typed for the page, without Node; the fixture is read through Node all the same.
const fsModule = 'node:fs';
const { readFileSync } = (await import(fsModule)) as { readFileSync(path: URL): Uint8Array };
const DESCRIPTOR_SET = readFileSync(new URL('../fixtures/proto/forecast.desc', import.meta.url));
const SERVICE = 'sluice.demo.v1.Forecasts';
const GET = `/${SERVICE}/GetForecast`;

function schemaList(revision: number, descriptorSet: Uint8Array | string = DESCRIPTOR_SET): SchemaList {
  return {
    revision,
    sources: [{ id: 1, kind: 'descriptor-set', label: 'forecast.desc', services: [SERVICE], files: 8 }],
    descriptorSet: typeof descriptorSet === 'string' ? descriptorSet : base64FromBytes(descriptorSet),
  };
}

function callSchema(schemas: LoadedSchemas | undefined, path = GET): CallSchema {
  const state = callSchemaOf(schemas, path, SERVICE);
  if (!state.known) throw new Error(`the schema does not know ${path}: ${state.why}`);
  return state.call;
}

const schemas = loadSchemas(schemaList(1))!;
const call = callSchema(schemas);

/** A message of `typeName` from the fixture's schema, as a server would send it. */
function encode(typeName: string, init: Record<string, unknown>): Uint8Array {
  const type = schemas.schema!.registry.getMessage(typeName) as DescMessage;
  return toBinary(type, create(type, init as never));
}

function message(fields: Partial<RpcMessageEvent> & { bytes?: Uint8Array }): RpcMessageEvent {
  const { bytes, ...rest } = fields;
  return {
    type: 'rpc-message',
    id: 1,
    direction: 'response',
    index: 0,
    kind: 'message',
    t: 0,
    wireBytes: bytes?.length ?? 0,
    size: bytes?.length ?? 0,
    compressed: false,
    data: bytes ? base64FromBytes(bytes) : '',
    binary: true,
    chunkRange: [0, 0],
    ...rest,
  };
}

const REQUEST = encode('sluice.demo.v1.ForecastRequest', { city: 'Lyon', unit: 1, days: 3 });
const FORECAST = encode('sluice.demo.v1.Forecast', {
  city: 'Lyon',
  unit: 1,
  readings: [{ at: { seconds: 1767225600n }, temperature: 3.5, condition: 3 }],
  issuedAt: { seconds: 1767225600n },
  humidity: 81,
});

/** A varint field the fixture's types do not declare. */
const FIELD_99 = [0x98, 0x06, 0x01];

describe('the host schemas in the page', () => {
  it('loads a list once, when first asked, and says why one does not load', () => {
    const list = schemaList(4);
    expect(loadSchemas(list)).toBe(loadSchemas(list));
    expect(loadSchemas(list)!.schema!.services).toEqual([SERVICE]);
    expect(loadSchemas(undefined)).toBeUndefined();
    expect(loadSchemas({ revision: 0, sources: [], descriptorSet: '' })).toMatchObject({
      schema: undefined,
      error: undefined,
    });
    expect(loadSchemas(schemaList(5, 'aGVsbG8='))!.error).toMatch(/not a FileDescriptorSet/);
  });

  it("picks the method from the call's path: known, a service without that method, no service", () => {
    expect(callSchemaOf(schemas, `/${SERVICE}/WatchForecasts`, SERVICE)).toMatchObject({
      known: true,
      call: {
        types: {
          method: `${SERVICE}.WatchForecasts`,
          input: 'sluice.demo.v1.ForecastRequest',
          output: 'sluice.demo.v1.Forecast',
          serverStreaming: true,
        },
      },
      source: { label: 'forecast.desc' },
    });
    expect(callSchemaOf(schemas, `/${SERVICE}/Nope`, SERVICE)).toEqual({ known: false, why: 'no-method' });
    expect(callSchemaOf(schemas, '/pkg.Other/Get', 'pkg.Other')).toEqual({ known: false, why: 'no-service' });
    expect(callSchemaOf(undefined, GET, SERVICE)).toEqual({ known: false, why: 'loading' });
    expect(callSchemaOf(loadSchemas(schemaList(6, 'aGVsbG8=')), GET, SERVICE)).toEqual({
      known: false,
      why: 'load-error',
    });
  });

  it("reads the path from a request's URL in either form", () => {
    expect(requestPath(`http://127.0.0.1:50051${GET}`)).toBe(GET);
    expect(requestPath(GET)).toBe(GET);
    expect(requestPath(`https://api.test${GET}?connect=v1&encoding=proto`)).toBe(GET);
  });

  it('keeps the newest list within a connection, and takes a new connection’s whatever its revision', () => {
    const [one, two, other] = [schemaList(1), schemaList(2), schemaList(1, '')];
    const held = nextSchemas(undefined, two, 1);
    expect(nextSchemas(held, one, 1)).toBe(held);
    expect(nextSchemas(held, two, 0)).toBe(held);
    expect(nextSchemas(held, other, 2)).toEqual({ list: other, connection: 2 });
    // The same schemas again after a reconnect: the list already loaded stays.
    expect(nextSchemas(held, schemaList(2), 2).list).toBe(two);
  });
});

describe('decodeForDisplay with a schema', () => {
  it("decodes a request as the method's input, a response as its output: names, enums, well-known types", () => {
    expect(decodeForDisplay(message({ direction: 'request', bytes: REQUEST }), call)).toEqual({
      how: 'schema',
      type: 'sluice.demo.v1.ForecastRequest',
      value: { city: 'Lyon', unit: 'CELSIUS', days: 3 },
      unknownFields: 0,
    });
    expect(decodeForDisplay(message({ bytes: FORECAST }), call)).toEqual({
      how: 'schema',
      type: 'sluice.demo.v1.Forecast',
      value: {
        city: 'Lyon',
        unit: 'CELSIUS',
        readings: [{ at: '2026-01-01T00:00:00Z', temperature: 3.5, condition: 'RAIN' }],
        issuedAt: '2026-01-01T00:00:00Z',
        humidity: 81,
      },
      unknownFields: 0,
    });
  });

  it('leaves trailer frames, end-of-stream envelopes and JSON codecs as they came', () => {
    const trailers = message({ kind: 'trailers', binary: false, data: 'grpc-status:0\r\n' });
    expect(decodeForDisplay(trailers, call)).toEqual({ how: 'text', text: trailers.data });
    const end = message({ kind: 'end-stream', binary: false, data: '{"metadata":{}}' });
    expect(decodeForDisplay(end, call)).toMatchObject({ how: 'json', value: { metadata: {} } });
    // A binary end-of-stream is never taken for the output type either.
    expect(decodeForDisplay(message({ kind: 'end-stream', bytes: FORECAST }), call).how).toBe('fields');
    const json = message({ binary: false, data: '{"city":"Lyon","unit":"CELSIUS"}' });
    expect(decodeForDisplay(json, call)).toMatchObject({ how: 'json', text: json.data });
  });

  it('counts fields the schema does not know, and says what that may mean', () => {
    const stale = message({ bytes: new Uint8Array([...FORECAST, ...FIELD_99]) });
    expect(decodeForDisplay(stale, call)).toMatchObject({ how: 'schema', unknownFields: 1 });
    expect(unknownFieldsWarning(3)).toBe('3 fields the schema does not know: stale schema or wrong type?');
    expect(unknownFieldsWarning(1)).toBe('1 field the schema does not know: stale schema or wrong type?');
  });

  it('falls back to field numbers, with the reason, when the bytes are not the type', () => {
    // Field 1 of a Forecast is a string; here it is a varint.
    const wrong = message({ bytes: new Uint8Array([0x08, 0x05]) });
    const decoded = decodeForDisplay(wrong, call);
    expect(decoded).toMatchObject({ how: 'fields', value: { 1: 5 } });
    expect(decoded.how === 'fields' && decoded.schemaError).toMatch(/^not a sluice\.demo\.v1\.Forecast: /);
    // Without a schema there is no reason to give.
    expect(decodeForDisplay(message({ bytes: new Uint8Array([0x08, 0x05]) }))).toEqual({
      how: 'fields',
      value: { 1: 5 },
    });
  });

  it('still shows compressed bytes it could not undo as bytes', () => {
    const undecoded = message({ compressed: true, undecoded: 'unknown encoding snappy', data: 'AAEC' });
    expect(decodeForDisplay(undecoded, call)).toEqual({
      how: 'bytes',
      why: 'still compressed: unknown encoding snappy',
    });
  });
});

describe('the decode cache', () => {
  it('decodes a message once per schema revision, lazily: a new revision re-decodes it when asked', () => {
    const response = message({ bytes: FORECAST });
    // No schema yet: field numbers.
    expect(rpcPreview(response)).toMatch(/^\{"1":"Lyon","2":1,/);
    const first = decodeForDisplay(response, call);
    expect(decodeForDisplay(response, call)).toBe(first);
    expect(rpcPreview(response, call)).toMatch(/^\{"city":"Lyon","unit":"CELSIUS",/);

    // The same schemas at a new revision: decoded again when next asked for, to an equal result.
    const later = callSchema(loadSchemas(schemaList(7)));
    const again = decodeForDisplay(response, later);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(decodeForDisplay(response, later)).toBe(again);
  });

  it('leaves a field-number reading as it is when the schema has not got the method', () => {
    const other = message({ bytes: FORECAST });
    const before = decodeForDisplay(other);
    const unrelated = callSchemaOf(loadSchemas(schemaList(8)), '/pkg.Other/Get', 'pkg.Other');
    expect(unrelated.known).toBe(false);
    expect(decodeForDisplay(other, undefined)).toBe(before);
    // And a trailer frame's reading never depends on the schema.
    const trailers = message({ kind: 'trailers', binary: false, data: 'grpc-status:0' });
    expect(decodeForDisplay(trailers, call)).toBe(decodeForDisplay(trailers));
  });

  it('filters by what the row shows: field names with the schema, field numbers without', () => {
    const response = message({ bytes: FORECAST });
    expect(searchedText(response, call)).toContain('"condition":"RAIN"');
    expect(rpcMessageTest({ text: 'RAIN', choice: '' }, call)(response)).toBe(true);
    expect(rpcMessageTest({ text: 'RAIN', choice: '' })(response)).toBe(false);
    expect(rpcMessageTest({ text: '"city":"lyon"', choice: '' }, call)(response)).toBe(true);
  });
});
