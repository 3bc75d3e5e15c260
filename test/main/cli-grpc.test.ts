import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RpcMessageEvent } from '../../app/proxy-events.js';
import { useCleanup } from '../helpers/cleanup.js';
import { runCli, startCli } from '../helpers/cli.js';
import { makeClient, METHODS, setGrpcProxyEnv, startGrpcServer, unaryCall } from '../helpers/grpc.js';
import { makeUpstreamAuthority } from '../helpers/servers.js';
import { HostClient } from '../../renderer/src/transport/host-client.js';
import { WsBridge } from '../../renderer/src/transport/ws-bridge.js';

const { defer, freshDir } = useCleanup();

describe('sluice --events ndjson and gRPC', () => {
  it('prints each message of a call and its status as JSON lines', async () => {
    const authority = await makeUpstreamAuthority();
    defer(() => authority.remove());
    const caFile = join(await freshDir(), 'upstream-ca.pem');
    await writeFile(caFile, authority.ca.certPem);
    const cli = await startCli([
      '--port',
      '0',
      '--no-ui',
      '--data-dir',
      await freshDir(),
      '--upstream-ca',
      caFile,
      '--events',
      'ndjson',
    ]);
    defer(() => cli.stop('SIGKILL'));
    const upstream = await startGrpcServer(
      { unary: (call, callback) => callback(null, Buffer.from(`echo ${call.request.toString()}`)) },
      authority,
    );
    defer(() => upstream.close());
    const restore = setGrpcProxyEnv(cli.port);
    defer(async () => restore());
    const client = makeClient(upstream.port, grpc.credentials.createSsl(await readFile(cli.caPath)));
    defer(async () => client.close());

    expect((await unaryCall(client, METHODS.unary, Buffer.from('hi'))).response.toString()).toBe('echo hi');
    await expect.poll(() => cli.events.some((e) => e.type === 'exchange-closed'), { timeout: 5000 }).toBe(true);
    const messages = cli.events.filter((e): e is RpcMessageEvent => e.type === 'rpc-message');
    expect(messages.map((m) => [m.direction, Buffer.from(m.data, 'base64').toString()])).toEqual([
      ['request', 'hi'],
      ['response', 'echo hi'],
    ]);
    expect(cli.events.filter((e) => e.type === 'rpc-status')).toEqual([
      expect.objectContaining({ protocol: 'grpc', code: 0, name: 'OK' }),
    ]);
  });
});

describe('sluice --proto', () => {
  const fixtures = fileURLToPath(new URL('../fixtures/proto/', import.meta.url));

  it('loads .proto files (imports from --proto-path) and a descriptor set; the UI is given them', async () => {
    const cli = await startCli([
      '--port',
      '0',
      '--data-dir',
      await freshDir(),
      '--proto',
      join(fixtures, 'sluice/demo/v1/forecast.proto'),
      '--proto-path',
      fixtures,
      '--proto',
      join(fixtures, 'forecast.desc'),
    ]);
    defer(() => cli.stop('SIGKILL'));
    const ui = new URL(await cli.line('ui: ').then((line) => line.slice('ui: '.length)));
    const bridge = new WsBridge({
      url: `ws://${ui.host}/ws?token=${ui.searchParams.get('token')}`,
      WebSocket,
    });
    defer(async () => bridge.close());
    const list = await new HostClient(bridge).call('schemas.get', {});
    // The descriptor set defines what the .proto files did: it replaces them.
    expect(list.sources).toEqual([
      expect.objectContaining({
        kind: 'descriptor-set',
        label: 'forecast.desc',
        services: ['sluice.demo.v1.Forecasts'],
      }),
    ]);
  });

  it('a .proto that does not parse, or imports what is not found, stops the start with the file named', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'broken.proto'), 'syntax = "proto3";\nmessage {\n');
    const broken = await runCli(['--port', '0', '--data-dir', await freshDir(), '--proto', join(dir, 'broken.proto')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^sluice: cannot use --proto: .*broken\.proto/m);
    // forecast.proto imports sluice/units/..., found only with --proto-path.
    const lost = await runCli([
      '--port',
      '0',
      '--data-dir',
      await freshDir(),
      '--proto',
      join(fixtures, 'sluice/demo/v1/forecast.proto'),
    ]);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/cannot use --proto: .*units\.proto/);
    expect((await runCli(['--proto-path', dir])).stderr).toMatch(/--proto-path goes with --proto FILE/);
  });

  it('loads the protobuf code only once a schema is given: a session without one is spared its memory', async () => {
    const probe = fileURLToPath(new URL('../fixtures/module-probe/register.mjs', import.meta.url));
    const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${probe}` };
    const loaded = async (args: string[]): Promise<string[]> => {
      const cli = await startCli(['--port', '0', '--no-ui', '--data-dir', await freshDir(), ...args], undefined, env);
      defer(() => cli.stop('SIGKILL'));
      const modules = cli
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('module-probe: '));
      await cli.stop();
      return modules;
    };
    const plain = await loaded([]);
    expect(plain.some((line) => line.includes('node-forge/'))).toBe(true);
    expect(plain.filter((line) => /@bufbuild|protobufjs/.test(line))).toEqual([]);
    const withSchema = await loaded(['--proto', join(fixtures, 'forecast.desc')]);
    expect(withSchema.some((line) => line.includes('@bufbuild/protobuf/'))).toBe(true);
  });
});
