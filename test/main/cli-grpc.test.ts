import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RpcMessageEvent } from '../../app/proxy-events.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startCli } from '../helpers/cli.js';
import { makeClient, METHODS, setGrpcProxyEnv, startGrpcServer, unaryCall } from '../helpers/grpc.js';
import { makeUpstreamAuthority } from '../helpers/servers.js';

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
