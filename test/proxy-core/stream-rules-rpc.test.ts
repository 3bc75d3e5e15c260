import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDescriptorSet, rpcSchemaOf, type ProtoSchema } from '../../app/protobuf-schema.js';
import type { BreakpointHeldEvent, ProxyEvent, RuleAppliedEvent } from '../../app/proxy-events.js';
import type { StreamRule } from '../../app/stream-rules.js';
import { deadline, makeClient, serverStreamCall, setGrpcProxyEnv } from '../helpers/grpc.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

/**
 * Content rules on gRPC messages read and write them through the user's schema: a real grpc-js
 * server streams `sluice.demo.v1.Forecast` messages (test/fixtures/proto), a real grpc-js client
 * reads them through Sluice, and the rules match, rewrite, put in and hold them as JSON.
 */

const WATCH = '/sluice.demo.v1.Forecasts/WatchForecasts';
const CITIES = ['Oslo', 'Bergen', 'Tromsø'];

const schema: ProtoSchema = (() => {
  const loaded = loadDescriptorSet(readFileSync(new URL('../fixtures/proto/forecast.desc', import.meta.url)));
  if ('error' in loaded) throw new Error(loaded.error);
  return loaded.schema;
})();
const forecastType: DescMessage = schema.registry.getMessage('sluice.demo.v1.Forecast')!;

const requestType: DescMessage = schema.registry.getMessage('sluice.demo.v1.ForecastRequest')!;
/** The requests the server decoded, in order. */
const requestsSeen: { city: string }[] = [];

const identity = (bytes: Buffer): Buffer => bytes;

function forecast(city: string): Buffer {
  return Buffer.from(toBinary(forecastType, create(forecastType, { city, humidity: 40 } as never)));
}

function cityOf(bytes: Buffer): string {
  return (fromBinary(forecastType, bytes) as unknown as { city: string }).city;
}

function rule(name: string, actions: StreamRule['actions']): StreamRule {
  return { name, enabled: true, match: { path: WATCH }, actions };
}

function applied(events: readonly ProxyEvent[]): RuleAppliedEvent[] {
  return events.filter((e): e is RuleAppliedEvent => e.type === 'rule-applied' && e.action !== 'match');
}

let authority: UpstreamAuthority;
let server: grpc.Server;
let upstreamPort = 0;
let proxy: TestProxy;
let client: grpc.Client;
let restoreEnv: () => void;

beforeAll(async () => {
  authority = await makeUpstreamAuthority();
  server = new grpc.Server();
  server.addService(
    {
      WatchForecasts: {
        path: WATCH,
        requestStream: false,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      WatchForecasts: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        requestsSeen.push(fromBinary(requestType, call.request) as unknown as { city: string });
        for (const city of CITIES) call.write(forecast(city));
        call.end();
      },
    },
  );
  const { key, cert } = authority.issue('localhost');
  const credentials = grpc.ServerCredentials.createSsl(null, [
    { private_key: Buffer.from(key), cert_chain: Buffer.from(cert) },
  ]);
  upstreamPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
  proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  restoreEnv = setGrpcProxyEnv(proxy.port);
  client = makeClient(upstreamPort, grpc.credentials.createSsl(Buffer.from(proxy.caPem)));
});

afterAll(async () => {
  client?.close();
  restoreEnv?.();
  await proxy?.close();
  server?.forceShutdown();
  await authority?.remove();
});

/** The cities the client read, the call's status, and what the rules said they did. */
async function watch(
  rules: StreamRule[],
  request = Buffer.alloc(0),
): Promise<{ cities: string[]; code: number; applied: RuleAppliedEvent[] }> {
  proxy.proxy.setRules(rules);
  const from = proxy.events.length;
  const call = serverStreamCall(client, WATCH, request, new grpc.Metadata(), deadline());
  const cities: string[] = [];
  call.on('data', (message: Buffer) => cities.push(cityOf(message)));
  const code = await new Promise<number>((resolve) => {
    call.on('status', (status: grpc.StatusObject) => resolve(status.code));
    call.on('error', () => undefined);
  });
  await proxy.waitFor((e) => e.type === 'exchange-closed' && proxy.events.indexOf(e) >= from);
  return { cities, code, applied: applied(proxy.events.slice(from)) };
}

describe('stream rules on gRPC messages, through their schema', () => {
  it('rewrites a field of the message a `where` finds by its JSON, and puts a message in', async () => {
    proxy.proxy.setRpcSchema(rpcSchemaOf(schema.registry));
    const got = await watch([
      rule('forecasts', [
        { type: 'rewrite', where: '"city":"Bergen"', set: { path: 'city', value: 'Paris' } },
        { type: 'inject', event: 3, position: 'after', data: '{"city":"Nowhere","humidity":99}' },
      ]),
    ]);
    expect(got.code).toBe(grpc.status.OK);
    expect(got.cities).toEqual(['Oslo', 'Paris', 'Tromsø', 'Nowhere']);
    expect(got.applied.map((e) => [e.action, e.event, e.detail])).toEqual([
      ['rewrite', 2, 'rewrote event 2'],
      ['inject', 4, 'put in after event 3'],
    ]);
  });

  it('says why and leaves the message as it was when an edit does not fit the type', async () => {
    proxy.proxy.setRpcSchema(rpcSchemaOf(schema.registry));
    const got = await watch([
      rule('bad edits', [
        { type: 'inject', event: 1, data: '{"no_such_field":1}' },
        { type: 'rewrite', event: 2, set: { path: 'humidity', value: 'very' } },
      ]),
    ]);
    expect(got.code).toBe(grpc.status.OK);
    expect(got.cities).toEqual(CITIES);
    const details = got.applied.map((e) => e.detail);
    expect(details[0]).toMatch(/^put nothing in after event 1: not a sluice\.demo\.v1\.Forecast: .*no_such_field/);
    expect(details[1]).toMatch(/^left event 2 as it was: not a sluice\.demo\.v1\.Forecast: /);
  });

  it('without a schema, says that rewrite and inject need one and forwards every message as it came', async () => {
    proxy.proxy.setRpcSchema(undefined);
    const got = await watch([rule('no schema', [{ type: 'rewrite', set: { path: 'city', value: 'Paris' } }])]);
    expect(got.cities).toEqual(CITIES);
    expect(got.applied.map((e) => e.detail)).toEqual([
      'left the body as it was: rewrite on RPC messages needs their schema (--proto, or Schemas in the UI)',
    ]);
  });

  it('rewrites the message the client sends with direction "request", through the request type', async () => {
    proxy.proxy.setRpcSchema(rpcSchemaOf(schema.registry));
    const asked = Buffer.from(toBinary(requestType, create(requestType, { city: 'Oslo', days: 3 } as never)));
    const got = await watch(
      [rule('ask elsewhere', [{ type: 'rewrite', set: { path: 'city', value: 'Lima' }, direction: 'request' }])],
      asked,
    );
    expect(got.code).toBe(grpc.status.OK);
    expect(requestsSeen.at(-1)).toMatchObject({ city: 'Lima', days: 3 });
    expect(got.applied.map((e) => [e.direction, e.detail])).toEqual([['request', 'rewrote event 1']]);
  });

  it('holds a message at a breakpoint as JSON; the JSON the user edits goes out encoded', async () => {
    proxy.proxy.setRpcSchema(rpcSchemaOf(schema.registry));
    const from = proxy.events.length;
    const pending = watch([rule('hold Bergen', [{ type: 'breakpoint', where: 'Bergen' }])]);
    const held = (await proxy.waitFor(
      (e) => e.type === 'breakpoint-held' && proxy.events.indexOf(e) >= from,
    )) as BreakpointHeldEvent;
    expect(held.event).toBe(2);
    expect(JSON.parse(held.text!)).toEqual({ city: 'Bergen', humidity: 40 });
    expect(
      proxy.proxy.resolveBreakpoint(held.breakpoint, {
        outcome: 'edited',
        bytes: Buffer.from('{"city":"Edited in the UI"}'),
      }),
    ).toBe(true);
    const got = await pending;
    expect(got.cities).toEqual(['Oslo', 'Edited in the UI', 'Tromsø']);
  });
});
