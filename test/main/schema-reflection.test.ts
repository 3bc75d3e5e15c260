import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { ReflectionV1AlphaImplementation } from '@grpc/reflection/build/src/implementations/reflection-v1alpha.js';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWithSchema, loadDescriptorSet, messageTypesFor, type ProtoSchema } from '../../app/protobuf-schema.js';
import { fetchSchemaByReflection, type ReflectionOptions } from '../../main/schema/reflection-client.js';
import { SchemaError } from '../../main/schema/schema-error.js';
import { useCleanup } from '../helpers/cleanup.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

const fixtures = fileURLToPath(new URL('../fixtures/proto/', import.meta.url));
const SERVICE = 'sluice.demo.v1.Forecasts';
const { defer } = useCleanup();

const packageDefinition = protoLoader.loadSync(path.join(fixtures, 'sluice/demo/v1/forecast.proto'), {
  includeDirs: [fixtures],
});
const forecasts = (grpc.loadPackageDefinition(packageDefinition) as unknown as ForecastsPackage).sluice.demo.v1
  .Forecasts;

interface ForecastsPackage {
  sluice: { demo: { v1: { Forecasts: grpc.ServiceClientConstructor } } };
}

/** What GetForecast answers, as grpc-js (protobuf.js underneath) serializes it. */
const FORECAST = {
  city: 'Lyon',
  unit: 'CELSIUS',
  readings: [{ at: { seconds: 1767225600, nanos: 0 }, temperature: 3.5, condition: 'RAIN' }],
  // proto-loader's default: fields by their camelCase names.
  rainfallMm: { mon: 4 },
  issuedAt: { seconds: 1767225600, nanos: 0 },
  humidity: { value: 81 },
  deltas: [-2, 5],
  satellite: 7,
};

type Reflection = 'v1 and v1alpha' | 'v1alpha only' | 'none';

/** The fixture's Forecasts service on grpc-js at 127.0.0.1:0, h2c or TLS, with reflection as asked. */
async function startForecasts(reflection: Reflection, authority?: UpstreamAuthority): Promise<number> {
  const server = new grpc.Server();
  server.addService(forecasts.service, {
    GetForecast: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, FORECAST),
    WatchForecasts: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  if (reflection === 'v1 and v1alpha') new ReflectionService(packageDefinition).addToServer(server);
  if (reflection === 'v1alpha only') new ReflectionV1AlphaImplementation(packageDefinition).addToServer(server);
  const credentials = authority
    ? grpc.ServerCredentials.createSsl(null, [
        {
          private_key: Buffer.from(authority.issue('localhost').key),
          cert_chain: Buffer.from(authority.issue('localhost').cert),
        },
      ])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  defer(async () => server.forceShutdown());
  return port;
}

function schemaOf(descriptorSet: Uint8Array): ProtoSchema {
  const loaded = loadDescriptorSet(descriptorSet);
  if ('error' in loaded) throw new Error(loaded.error);
  return loaded.schema;
}

/** GetForecast's response bytes, exactly as the server sent them. */
async function forecastBytes(target: string, credentials = grpc.credentials.createInsecure()): Promise<Uint8Array> {
  // Straight to the server, whatever proxy the environment names.
  const client = new grpc.Client(target, credentials, { 'grpc.enable_http_proxy': 0 });
  try {
    return await new Promise<Uint8Array>((resolve, reject) =>
      client.makeUnaryRequest(
        `/${SERVICE}/GetForecast`,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        Buffer.alloc(0),
        (error, bytes) => (error ? reject(error) : resolve(bytes!)),
      ),
    );
  } finally {
    client.close();
  }
}

const EXPECTED_JSON = {
  city: 'Lyon',
  unit: 'CELSIUS',
  readings: [{ at: '2026-01-01T00:00:00Z', temperature: 3.5, condition: 'RAIN' }],
  rainfallMm: { mon: 4 },
  issuedAt: '2026-01-01T00:00:00Z',
  humidity: 81,
  deltas: ['-2', '5'],
  satellite: 7,
};

async function refusal(options: ReflectionOptions): Promise<string> {
  const error = await fetchSchemaByReflection(options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SchemaError);
  return (error as SchemaError).message;
}

describe('fetchSchemaByReflection against @grpc/reflection', () => {
  it("asks v1 for the service's file and its imports, and decodes the server's own messages by name", async () => {
    const port = await startForecasts('v1 and v1alpha');
    const result = await fetchSchemaByReflection({ target: `http://127.0.0.1:${port}`, service: SERVICE });
    expect(result.version).toBe('v1');
    const schema = schemaOf(result.descriptorSet);
    expect(schema.services).toEqual([SERVICE]);
    const types = messageTypesFor(schema.registry, `/${SERVICE}/GetForecast`)!;
    expect(types).toMatchObject({ input: 'sluice.demo.v1.ForecastRequest', output: 'sluice.demo.v1.Forecast' });
    const bytes = await forecastBytes(`127.0.0.1:${port}`);
    expect(decodeWithSchema(schema.registry, types.output, bytes)).toEqual({ json: EXPECTED_JSON, unknownFields: 0 });
  });

  it('falls back to v1alpha where v1 is UNIMPLEMENTED', async () => {
    const port = await startForecasts('v1alpha only');
    const result = await fetchSchemaByReflection({ target: `http://127.0.0.1:${port}`, service: SERVICE });
    expect(result.version).toBe('v1alpha');
    expect(schemaOf(result.descriptorSet).services).toEqual([SERVICE]);
  });

  it('says so when the server offers no reflection', async () => {
    const port = await startForecasts('none');
    expect(await refusal({ target: `http://127.0.0.1:${port}`, service: SERVICE })).toBe(
      `http://127.0.0.1:${port} does not offer server reflection (grpc.reflection.v1 and v1alpha answered UNIMPLEMENTED)`,
    );
  });

  it("says so when the server's reflection does not know the service", async () => {
    const port = await startForecasts('v1 and v1alpha');
    expect(await refusal({ target: `http://127.0.0.1:${port}`, service: 'sluice.demo.v1.Nope' })).toBe(
      "v1: the server's reflection does not know sluice.demo.v1.Nope: NOT_FOUND: Symbol not found: sluice.demo.v1.Nope",
    );
  });

  describe('over TLS', () => {
    let authority: UpstreamAuthority;
    beforeAll(async () => {
      authority = await makeUpstreamAuthority();
    });
    afterAll(async () => authority.remove());

    it("trusts the server as the proxy's upstream trust is given: extra CAs, or none at all", async () => {
      const port = await startForecasts('v1 and v1alpha', authority);
      const target = `https://localhost:${port}`;
      const trusted = await fetchSchemaByReflection({
        target,
        service: SERVICE,
        trust: { extraCaPems: [authority.ca.certPem] },
      });
      const schema = schemaOf(trusted.descriptorSet);
      const bytes = await forecastBytes(
        `localhost:${port}`,
        grpc.credentials.createSsl(Buffer.from(authority.ca.certPem)),
      );
      expect(decodeWithSchema(schema.registry, 'sluice.demo.v1.Forecast', bytes)).toEqual({
        json: EXPECTED_JSON,
        unknownFields: 0,
      });
      const insecure = await fetchSchemaByReflection({ target, service: SERVICE, trust: { insecure: true } });
      expect(insecure.version).toBe('v1');
      expect(await refusal({ target, service: SERVICE })).toMatch(
        new RegExp(`^cannot reach https://localhost:${port}: .*(certificate|self.signed)`, 'i'),
      );
    });
  });
});

// ---- A server that answers as grpc-go and grpc-java do: one file per answer, imports by name ----

function protocFiles(): FileDescriptorProto[] {
  return fromBinary(FileDescriptorSetSchema, readFileSync(path.join(fixtures, 'forecast.desc'))).file;
}

/** ServerReflectionRequest's question: file_by_filename (3) or file_containing_symbol (4). */
function readQuestion(message: Uint8Array): { byName?: string; symbol?: string } {
  const reader = new BinaryReader(message);
  const question: { byName?: string; symbol?: string } = {};
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === 3) question.byName = reader.string();
    else if (number === 4) question.symbol = reader.string();
    else reader.skip(wireType, number);
  }
  return question;
}

function frame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/**
 * Reflection from protoc's descriptor set, one file per answer; the well-known types are NOT_FOUND
 * (some servers register only their own files). `silent` accepts the call and never answers.
 */
async function startOneFileServer(
  silent = false,
): Promise<{ port: number; asked: string[]; authorization: (string | undefined)[] }> {
  const raw = new Map(protocFiles().map((file) => [file.name, toBinary(FileDescriptorProtoSchema, file)]));
  const asked: string[] = [];
  const authorization: (string | undefined)[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    authorization.push(headers.authorization);
    if (headers[':path'] !== '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    let pending = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const question = readQuestion(pending.subarray(5, 5 + pending.readUInt32BE(1)));
        pending = pending.subarray(5 + pending.readUInt32BE(1));
        asked.push(question.symbol ?? question.byName!);
        if (silent) continue;
        const name = question.symbol === SERVICE ? 'sluice/demo/v1/forecast.proto' : question.byName!;
        const file = raw.get(name);
        const answer = new BinaryWriter();
        if (file && !name.startsWith('google/')) {
          answer.tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(file).join();
        } else {
          answer
            .tag(7, WireType.LengthDelimited)
            .fork()
            .tag(1, WireType.Varint)
            .int32(5)
            .tag(2, WireType.LengthDelimited)
            .string(`no ${name}`)
            .join();
        }
        stream.write(frame(answer.finish()));
      }
    });
    stream.on('end', () => stream.end());
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, asked, authorization };
}

describe('fetchSchemaByReflection against a server that sends one file per answer', () => {
  it("follows each file's imports by name, and takes the well-known types the server lacks from Sluice's", async () => {
    const { port, asked, authorization } = await startOneFileServer();
    const result = await fetchSchemaByReflection({
      target: `http://127.0.0.1:${port}`,
      service: SERVICE,
      metadata: { authorization: 'Bearer reflect' },
    });
    expect(authorization).toEqual(['Bearer reflect']);
    expect(asked).toEqual([
      SERVICE,
      'google/protobuf/any.proto',
      'google/protobuf/duration.proto',
      'google/protobuf/struct.proto',
      'google/protobuf/timestamp.proto',
      'google/protobuf/wrappers.proto',
      'sluice/units/v1/units.proto',
    ]);
    const schema = schemaOf(result.descriptorSet);
    expect(schema.files.toSorted()).toEqual(
      protocFiles()
        .map((file) => file.name)
        .sort(),
    );
  });

  it('gives up at the timeout when the server never answers', async () => {
    const { port } = await startOneFileServer(true);
    const started = performance.now();
    expect(await refusal({ target: `http://127.0.0.1:${port}`, service: SERVICE, timeoutMs: 300 })).toBe(
      `http://127.0.0.1:${port} did not answer reflection within 300 ms`,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('says so when nothing listens there', async () => {
    const closed = http2.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await refusal({ target: `http://127.0.0.1:${port}`, service: SERVICE })).toMatch(
      new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });
});
