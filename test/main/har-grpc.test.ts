import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import type { Har } from '../../main/har/har-types.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  bidiCall,
  makeClient,
  METHODS,
  serverStreamCall,
  setGrpcProxyEnv,
  startGrpcServer,
  unaryCall,
} from '../helpers/grpc.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';
import { feedUntilQuiet, withHeldDetails } from '../helpers/host-events.js';

/**
 * Real gRPC calls (grpc-js both ends) through a running host, exported as HAR, imported into
 * another host and replayed to a new window: the messages and statuses are what crossed.
 */

const { defer, freshDir } = useCleanup();
const validate = harValidator();

let authority: UpstreamAuthority;
beforeAll(async () => {
  authority = await makeUpstreamAuthority();
});
afterAll(async () => {
  await authority?.remove();
});

/** A protobuf message with one string field, number 1. */
function text(value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

async function makeHost(upstreamCaPems: string[] = []): Promise<{ host: SluiceHost; events: HostEvent[] }> {
  const host = await SluiceHost.create({ dataDir: await freshDir(), upstreamCaPems });
  defer(() => host.close());
  const events: HostEvent[] = [];
  host.subscribe((event) => events.push(event));
  return { host, events };
}

/** The RPC events of the exchange for `path`, its id taken out and times made relative to its start. */
function rpcViewOf(events: readonly HostEvent[], path: string): { t: number }[] {
  const opened = events.find(
    (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && new URL(e.request.url).pathname === path,
  );
  if (!opened) throw new Error(`no exchange for ${path}`);
  return events
    .filter((e) => (e.type === 'rpc-message' || e.type === 'rpc-status') && e.id === opened.id)
    .map((e) => ({ ...e, id: 0, t: (e as { t: number }).t - opened.t }));
}

/**
 * Equal events, times to the precision HAR keeps: seconds since the epoch in a double are good to
 * about a quarter of a microsecond.
 */
function expectSameEvents(actual: readonly { t: number }[], expected: readonly { t: number }[]): void {
  expect(actual.map((e) => ({ ...e, t: 0 }))).toEqual(expected.map((e) => ({ ...e, t: 0 })));
  actual.forEach((e, i) => expect(Math.abs(e.t - expected[i]!.t)).toBeLessThan(0.001));
}

describe('gRPC calls through the host, to HAR and back', () => {
  it('exports every message and status, and an import (and a new window) gives the same events', async () => {
    const { host, events } = await makeHost([authority.ca.certPem]);
    await host.call('proxy.setPort', { port: 0 });
    const { port } = await host.call('proxy.start', {});
    const caPem = (await host.call('ca.get', {})).certPem;

    const upstream = await startGrpcServer(
      {
        unary: (call, callback) => {
          if (call.request.subarray(2).toString() === 'missing') {
            const trailer = new grpc.Metadata();
            trailer.set('x-trailer', 'kept');
            callback({ code: grpc.status.NOT_FOUND, details: 'no such thing: ü', metadata: trailer });
          } else callback(null, text(`echo ${call.request.subarray(2)}`));
        },
        serverStream: (call) => {
          for (let i = 0; i < 3; i++) call.write(text(`part ${i}`));
          call.end();
        },
        bidi: (call) => {
          call.on('data', (m: Buffer) => call.write(text(`pong ${m.subarray(2).toString().split(' ')[1]}`)));
          call.on('end', () => call.end());
        },
      },
      authority,
    );
    defer(() => upstream.close());
    const restore = setGrpcProxyEnv(port);
    defer(async () => restore());
    const client = makeClient(upstream.port, grpc.credentials.createSsl(Buffer.from(caPem)), {
      'grpc.default_compression_algorithm': 2,
    });
    defer(async () => client.close());

    expect((await unaryCall(client, METHODS.unary, text('hello'))).response).toEqual(text('echo hello'));
    await expect(unaryCall(client, METHODS.unary, text('missing'))).rejects.toMatchObject({ code: 5 });
    const stream = serverStreamCall(client, METHODS.serverStream, text('count'));
    stream.on('data', () => undefined);
    await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
    const bidi = bidiCall(client, METHODS.bidi);
    for (let i = 0; i < 2; i++) {
      const pong = new Promise<Buffer>((resolve) => bidi.once('data', resolve));
      bidi.write(text(`ping ${i}`));
      expect(await pong).toEqual(text(`pong ${i}`));
    }
    bidi.end();
    await new Promise((resolve) => bidi.on('status', resolve));
    await expect.poll(() => events.filter((e) => e.type === 'exchange-closed').length).toBe(4);
    await expect.poll(() => events.filter((e) => e.type === 'rpc-status').length).toBe(4);

    const file = join(await freshDir(), 'grpc.har');
    expect((await host.writeHarFile(file)).entries).toBe(4);
    const har = JSON.parse(await readFile(file, 'utf8')) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    const entries = har.log.entries;
    const unaryEntries = entries.filter((e) => e.request.url.endsWith(METHODS.unary));
    const [ok, missing] = unaryEntries;
    const payloads = (entry: (typeof entries)[number]) =>
      entry._rpcMessages!.map((m) => [m.type, Buffer.from(m.data, 'base64').subarray(2).toString()]);
    expect(payloads(ok!)).toEqual([
      ['send', 'hello'],
      ['receive', 'echo hello'],
    ]);
    expect(ok!._rpcStatus).toMatchObject({ protocol: 'grpc', source: 'trailers', code: 0, name: 'OK' });
    expect(missing!._rpcStatus).toMatchObject({ code: 5, name: 'NOT_FOUND', message: 'no such thing: ü' });
    expect(missing!._rpcStatus!.trailers).toContainEqual({ name: 'x-trailer', value: 'kept' });
    const bidiEntry = entries.find((e) => e.request.url.endsWith(METHODS.bidi))!;
    expect(payloads(bidiEntry)).toEqual([
      ['send', 'ping 0'],
      ['receive', 'pong 0'],
      ['send', 'ping 1'],
      ['receive', 'pong 1'],
    ]);

    const { host: target, events: imported } = await makeHost();
    await target.call('har.import', { path: file });
    // A new window is sent the stored calls in short and asks for each one's events to show it.
    const window = await withHeldDetails(target, await feedUntilQuiet(target));
    for (const path of [METHODS.serverStream, METHODS.bidi]) {
      const live = rpcViewOf(events, path);
      expect(live.length).toBeGreaterThan(2);
      expectSameEvents(rpcViewOf(imported, path), live);
      expectSameEvents(rpcViewOf(window, path), live);
    }
    // Two calls on one path: compare them in order.
    const unaryViews = (list: readonly HostEvent[]) =>
      list
        .filter((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith(METHODS.unary))
        .map((opened) =>
          rpcViewOf(
            list.filter((e) => !('id' in e) || e.id === opened.id),
            METHODS.unary,
          ),
        );
    const [liveOk, liveMissing] = unaryViews(events);
    const [importedOk, importedMissing] = unaryViews(imported);
    expectSameEvents(importedOk!, liveOk!);
    expectSameEvents(importedMissing!, liveMissing!);
  });
});
