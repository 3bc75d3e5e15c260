import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { describe, expect, it } from 'vitest';
import type { HostEvent, SchemaFile, SchemaList } from '../../app/contract.js';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { decodeWithSchema, loadDescriptorSet, messageTypesFor } from '../../app/protobuf-schema.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';
import { setGrpcProxyEnv } from '../helpers/grpc.js';

/**
 * The `schemas.*` commands through a real host: files sent as the page sends them, a descriptor
 * set, a server's reflection asked about a call Sluice captured, and removal.
 */

const { defer, freshDir } = useCleanup();
const fixtures = fileURLToPath(new URL('../fixtures/proto/', import.meta.url));
const FORECAST_PROTO = path.join(fixtures, 'sluice/demo/v1/forecast.proto');
const UNITS_PROTO = path.join(fixtures, 'sluice/units/v1/units.proto');
const SERVICE = 'sluice.demo.v1.Forecasts';

async function makeHost(): Promise<{ host: SluiceHost; events: HostEvent[] }> {
  const host = await SluiceHost.create({ dataDir: await freshDir(), overrides: { proxyPort: 0 } });
  defer(() => host.close());
  const events: HostEvent[] = [];
  host.subscribe((e) => events.push(e));
  return { host, events };
}

/** A file as the page sends it: its name without folders, its bytes in base64. */
async function chosen(file: string): Promise<SchemaFile> {
  return { name: path.basename(file), data: (await readFile(file)).toString('base64') };
}

function schemaOf(list: SchemaList) {
  const loaded = loadDescriptorSet(Buffer.from(list.descriptorSet, 'base64'));
  if ('error' in loaded) throw new Error(loaded.error);
  return loaded.schema;
}

describe('schemas.* commands', () => {
  it('.proto files chosen together (names only) load, imports by path included, and every window is told', async () => {
    const { host, events } = await makeHost();
    const list = await host.call('schemas.add', { files: [await chosen(FORECAST_PROTO), await chosen(UNITS_PROTO)] });
    expect(list.sources).toEqual([
      expect.objectContaining({ kind: 'proto-files', label: 'forecast.proto, units.proto', services: [SERVICE] }),
    ]);
    const schema = schemaOf(list);
    expect(schema.files).toContain('sluice/units/v1/units.proto');
    expect(messageTypesFor(schema.registry, `/${SERVICE}/GetForecast`)?.output).toBe('sluice.demo.v1.Forecast');
    expect(events).toContainEqual(expect.objectContaining({ type: 'schemas-changed', revision: list.revision }));
    expect(await host.call('schemas.get', {})).toEqual(list);
  });

  it('a descriptor set loads; the same schema loaded again from .proto files replaces it, and removal empties', async () => {
    const { host } = await makeHost();
    await host.call('schemas.add', { files: [await chosen(path.join(fixtures, 'forecast.desc'))] });
    const list = await host.call('schemas.add', { files: [await chosen(FORECAST_PROTO), await chosen(UNITS_PROTO)] });
    expect(list.sources.map((s) => s.kind)).toEqual(['proto-files']);
    expect(schemaOf(list).services).toEqual([SERVICE]);

    const none = await host.call('schemas.remove', { sourceId: list.sources[0]!.id });
    expect(none).toMatchObject({ sources: [], descriptorSet: '' });
  });

  it('a file that is not a schema is refused with its name and why; what was loaded stays', async () => {
    const { host } = await makeHost();
    const before = await host.call('schemas.add', { files: [await chosen(path.join(fixtures, 'forecast.desc'))] });
    await expect(
      host.call('schemas.add', {
        files: [{ name: 'broken.proto', data: Buffer.from('message {').toString('base64') }],
      }),
    ).rejects.toThrow(/broken\.proto/);
    await expect(
      host.call('schemas.add', { files: [{ name: 'notes.desc', data: Buffer.from('hello').toString('base64') }] }),
    ).rejects.toThrow(/notes\.desc/);
    expect(await host.call('schemas.get', {})).toEqual(before);
    await expect(host.call('schemas.add', { files: 'x' as unknown as SchemaFile[] })).rejects.toThrow(/files must be/);
  });

  it("the host's schemas reach the proxy's stream rules: a rule rewrites a message's field, until the schema goes", async () => {
    const definition = protoLoader.loadSync(FORECAST_PROTO, { includeDirs: [fixtures] });
    const forecasts = (grpc.loadPackageDefinition(definition) as unknown as ForecastsPackage).sluice.demo.v1.Forecasts;
    const server = new grpc.Server();
    server.addService(forecasts.service, {
      GetForecast: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { city: 'Lyon' }),
      WatchForecasts: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    defer(async () => server.forceShutdown());
    const { host } = await makeHost();
    const { port: proxyPort } = await host.call('proxy.start', {});
    const restore = setGrpcProxyEnv(proxyPort);
    defer(async () => restore());
    const client = new forecasts(`localhost:${port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as ForecastsClient & grpc.Client;
    defer(async () => client.close());
    const cityAnswered = (): Promise<string> =>
      new Promise((resolve, reject) =>
        client.GetForecast({ city: 'Lyon' }, new grpc.Metadata(), (e, v) =>
          e ? reject(e) : resolve((v as { city: string }).city),
        ),
      );
    await host.call('rules.set', {
      rules: [
        {
          name: 'paris',
          match: { path: `/${SERVICE}/GetForecast` },
          actions: [{ type: 'rewrite', set: { path: 'city', value: 'Paris' } }],
        },
      ],
    });
    const list = await host.call('schemas.add', { files: [await chosen(path.join(fixtures, 'forecast.desc'))] });
    expect(await cityAnswered()).toBe('Paris');
    await host.call('schemas.remove', { sourceId: list.sources[0]!.id });
    expect(await cityAnswered()).toBe('Lyon');
  });

  it("reflection: the server a captured call went to is asked, with the call's authorization", async () => {
    const definition = protoLoader.loadSync(FORECAST_PROTO, { includeDirs: [fixtures] });
    const forecasts = (grpc.loadPackageDefinition(definition) as unknown as ForecastsPackage).sluice.demo.v1.Forecasts;
    // Each call's path and authorization as the server got them, reflection's included.
    const seen: [string, string][] = [];
    const server = new grpc.Server({
      interceptors: [
        (method, call) =>
          new grpc.ServerInterceptingCall(call, {
            start: (next) =>
              next({
                onReceiveMetadata: (metadata, pass) => {
                  seen.push([method.path, String(metadata.get('authorization')[0] ?? '')]);
                  pass(metadata);
                },
              }),
          }),
      ],
    });
    server.addService(forecasts.service, {
      GetForecast: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { city: 'Lyon' }),
      WatchForecasts: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
    });
    new ReflectionService(definition).addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    defer(async () => server.forceShutdown());
    const { host, events } = await makeHost();
    const { port: proxyPort } = await host.call('proxy.start', {});
    const restore = setGrpcProxyEnv(proxyPort);
    defer(async () => restore());
    const client = new forecasts(`localhost:${port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    defer(async () => client.close());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer t0k3n');
    await new Promise((resolve, reject) =>
      (client as unknown as ForecastsClient).GetForecast({ city: 'Lyon' }, metadata, (e, v) =>
        e ? reject(e) : resolve(v),
      ),
    );
    const opened = events.find(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith('/GetForecast'),
    )!;
    await expect.poll(() => events.some((e) => e.type === 'exchange-closed' && e.id === opened.id)).toBe(true);

    const list = await host.call('schemas.reflect', { id: opened.id });
    expect(list.sources).toEqual([
      expect.objectContaining({ kind: 'reflection', label: `localhost:${port} (reflection v1)`, services: [SERVICE] }),
    ]);
    const schema = schemaOf(list);
    const types = messageTypesFor(schema.registry, `/${SERVICE}/GetForecast`)!;
    // A message as the server sends it decodes by name with what reflection gave.
    const city = Buffer.from([0x0a, 4, ...Buffer.from('Lyon')]);
    expect(decodeWithSchema(schema.registry, types.output, city)).toEqual({ json: { city: 'Lyon' }, unknownFields: 0 });
    expect(seen).toContainEqual(['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', 'Bearer t0k3n']);

    await expect(host.call('schemas.reflect', { id: 999_999 })).rejects.toThrow(/not in the capture/);
  });
});

interface ForecastsPackage {
  sluice: { demo: { v1: { Forecasts: grpc.ServiceClientConstructor } } };
}

interface ForecastsClient {
  GetForecast(
    request: unknown,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, value?: unknown) => void,
  ): void;
}
