import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  headerValue,
  type ChunkEvent,
  type ExchangeOpenedEvent,
  type ResponseHeadEvent,
} from '../../app/proxy-events.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  bidiCall,
  clientStreamCall,
  closedOf,
  describeExchange,
  type EchoHandlers,
  grpcExchanges,
  makeClient,
  METHODS,
  pingPong,
  PROXY_ENV_VARS,
  serverStreamCall,
  setGrpcProxyEnv,
  Signal,
  signals,
  startGrpcServer,
  unaryCall,
} from '../helpers/grpc.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

/**
 * gRPC through Sluice with grpc-js as the client, pointed at the proxy the way users do it
 * (`grpc_proxy`). grpc-js has no special case for localhost: it bypasses the proxy only for hosts
 * in `no_grpc_proxy` / `no_proxy` (suffix or CIDR match), so with those unset `localhost:PORT`
 * goes through CONNECT like any target (the last test shows the bypass when `no_grpc_proxy` is set).
 *
 * Over TLS the client trusts only Sluice's CA, so a call that skipped the proxy could not even
 * handshake with the upstream (whose certificate comes from another CA); every test also checks
 * the proxy's events for the HTTP/2 exchange.
 */

const MESSAGE_WAIT_MS = 5000;

let authority: UpstreamAuthority;
beforeAll(async () => {
  authority = await makeUpstreamAuthority();
});
afterAll(async () => {
  await authority?.remove();
});

const { defer } = useCleanup();

interface Rig {
  readonly proxy: TestProxy;
  readonly upstreamPort: number;
  readonly client: grpc.Client;
}

/** A proxy, a grpc-js upstream with `handlers` and a client whose `grpc_proxy` is the proxy. */
async function rig(handlers: EchoHandlers, transport: 'tls' | 'h2c' = 'tls'): Promise<Rig> {
  const proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  defer(() => proxy.close());
  const upstream = await startGrpcServer(handlers, transport === 'tls' ? authority : undefined);
  defer(() => upstream.close());
  const restore = setGrpcProxyEnv(proxy.port);
  defer(async () => restore());
  for (const name of PROXY_ENV_VARS) if (name !== 'grpc_proxy') expect(process.env[name]).toBeUndefined();
  expect(process.env.grpc_proxy).toBe(`http://127.0.0.1:${proxy.port}`);
  const credentials =
    transport === 'tls' ? grpc.credentials.createSsl(Buffer.from(proxy.caPem)) : grpc.credentials.createInsecure();
  const client = makeClient(upstream.port, credentials);
  defer(async () => client.close());
  return { proxy, upstreamPort: upstream.port, client };
}

/**
 * The one exchange Sluice recorded for `path`, once it has closed: HTTP/2 on both legs, with a
 * stream id, aimed at the upstream, intercepted when the client spoke TLS; `responded` when the
 * upstream answered with a head (`'maybe'`: either).
 */
async function throughSluice(
  r: Rig,
  path: string,
  transport: 'tls' | 'h2c' = 'tls',
  responded: boolean | 'maybe' = true,
): Promise<{ opened: ExchangeOpenedEvent; closed: ReturnType<typeof closedOf> & object }> {
  const opened = await r.proxy.waitFor(
    (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && new URL(e.request.url).pathname === path,
  );
  expect(grpcExchanges(r.proxy.events, path)).toHaveLength(1);
  expect(opened.request.httpVersion).toBe('2');
  expect(opened.request.method).toBe('POST');
  expect(opened.streamId).toBeGreaterThan(0);
  expect(opened.streamId! % 2).toBe(1); // client-initiated
  expect(opened.connectionId).toBeGreaterThan(0);
  expect(opened.intercepted).toBe(transport === 'tls');
  expect(opened.request.url).toBe(`${transport === 'tls' ? 'https' : 'http'}://localhost:${r.upstreamPort}${path}`);
  expect(headerValue(opened.request.headers, 'content-type')).toBe('application/grpc');
  await r.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened.id);
  const closed = closedOf(r.proxy.events, opened.id)!;
  const head = r.proxy.events.find((e): e is ResponseHeadEvent => e.type === 'response-head' && e.id === opened.id);
  if (responded === true || (responded === 'maybe' && head)) {
    expect(head?.response.httpVersion).toBe('2');
    expect(head?.response.status).toBe(200);
  } else if (responded === false) expect(head).toBeUndefined();
  return { opened, closed };
}

function responseChunks(r: Rig, id: number): ChunkEvent[] {
  return r.proxy.events.filter((e): e is ChunkEvent => e.type === 'chunk' && e.id === id && e.direction === 'response');
}

/** gRPC's length-prefixed framing: 1 byte compressed flag, 4 bytes length, then the message. */
const framed = (...sizes: number[]): number => sizes.reduce((sum, n) => sum + 5 + n, 0);

describe('gRPC (grpc-js client, TLS intercepted) through Sluice', () => {
  it('a unary call: request, response, metadata and trailers arrive exactly', async () => {
    let seenClientHeader: grpc.MetadataValue[] = [];
    const r = await rig({
      unary: (call, callback) => {
        seenClientHeader = call.metadata.get('x-client');
        const initial = new grpc.Metadata();
        initial.set('x-initial', 'first');
        call.sendMetadata(initial);
        const trailer = new grpc.Metadata();
        trailer.set('x-trailer', 'last');
        callback(null, Buffer.concat([Buffer.from('echo: '), call.request]), trailer);
      },
    });
    const metadata = new grpc.Metadata();
    metadata.set('x-client', 'sluice-test');
    const {
      response,
      metadata: initial,
      status,
    } = await unaryCall(r.client, METHODS.unary, Buffer.from('hello'), metadata);
    expect(response.toString()).toBe('echo: hello');
    expect(initial.get('x-initial')).toEqual(['first']);
    expect(status.code).toBe(grpc.status.OK);
    expect(status.metadata.get('x-trailer')).toEqual(['last']);
    expect(seenClientHeader).toEqual(['sluice-test']);

    const { opened, closed } = await throughSluice(r, METHODS.unary);
    expect(headerValue(opened.request.headers, 'x-client')).toBe('sluice-test');
    expect(headerValue(opened.request.headers, 'te')).toBe('trailers');
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
    expect(closed.requestBytes).toBe(framed('hello'.length));
    expect(closed.responseBytes).toBe(framed('echo: hello'.length));
  });

  it('server streaming: each message reaches the client before the server sends the next', async () => {
    const count = 20;
    const received = signals(count);
    let sent = 0;
    const r = await rig({
      serverStream: (call) => {
        void (async () => {
          for (let i = 0; i < count; i++) {
            call.write(Buffer.from(`message ${i}`));
            sent += 1;
            // The next message only once this one is in the client's hands: a proxy that held
            // messages back (buffering a stream until it ends, or until more bytes come) stalls here.
            await received[i]!.wait(MESSAGE_WAIT_MS, `the client to receive message ${i}`);
          }
          call.end();
        })().catch((err: Error) => call.emit('error', { code: grpc.status.INTERNAL, details: err.message }));
      },
    });
    const got: string[] = [];
    const sentWhenReceived: number[] = [];
    const call = serverStreamCall(r.client, METHODS.serverStream, Buffer.from('go'));
    await new Promise<void>((resolve, reject) => {
      call.on('data', (message: Buffer) => {
        sentWhenReceived.push(sent);
        received[got.length]?.fire();
        got.push(message.toString());
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    expect(got).toEqual(Array.from({ length: count }, (_, i) => `message ${i}`));
    // Message i arrived while the server had sent exactly i + 1: nothing was sent ahead.
    expect(sentWhenReceived).toEqual(Array.from({ length: count }, (_, i) => i + 1));

    const { opened, closed } = await throughSluice(r, METHODS.serverStream);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
    // Each message was forwarded as it came, not gathered: at least one chunk per message.
    expect(responseChunks(r, opened.id).length).toBeGreaterThanOrEqual(count);
  });

  it('client streaming: each request message reaches the server before the client sends the next', async () => {
    const count = 10;
    const arrived = signals(count);
    const serverGot: string[] = [];
    const r = await rig({
      clientStream: (call, callback) => {
        call.on('data', (message: Buffer) => {
          arrived[serverGot.length]?.fire();
          serverGot.push(message.toString());
        });
        call.on('end', () => callback(null, Buffer.from(`got ${serverGot.length}: ${serverGot.join(',')}`)));
      },
    });
    let settle!: { resolve: (b: Buffer) => void; reject: (e: Error) => void };
    const done = new Promise<Buffer>((resolve, reject) => (settle = { resolve, reject }));
    const call = clientStreamCall(r.client, METHODS.clientStream, (err, value) =>
      err ? settle.reject(err) : settle.resolve(value!),
    );
    for (let i = 0; i < count; i++) {
      call.write(Buffer.from(`part ${i}`));
      await arrived[i]!.wait(MESSAGE_WAIT_MS, `the server to receive part ${i}`);
    }
    call.end();
    const reply = await done;
    const parts = Array.from({ length: count }, (_, i) => `part ${i}`);
    expect(serverGot).toEqual(parts);
    expect(reply.toString()).toBe(`got ${count}: ${parts.join(',')}`);

    const { opened, closed } = await throughSluice(r, METHODS.clientStream);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
    expect(closed.requestBytes).toBe(framed(...parts.map((p) => p.length)));
  });

  it('bidi ping-pong: each reply arrives before the next request is sent', async () => {
    const rounds = 12;
    const log: string[] = [];
    const r = await rig({ bidi: pingPong(log) });
    const call = bidiCall(r.client, METHODS.bidi);
    const replies: string[] = [];
    let next = new Signal<string>();
    call.on('data', (message: Buffer) => {
      replies.push(message.toString());
      next.fire(message.toString());
    });
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (let i = 0; i < rounds; i++) {
      const reply = next;
      call.write(Buffer.from(`ping ${i}`));
      expect(await reply.wait(MESSAGE_WAIT_MS, `pong ${i}`)).toBe(`pong ${i}`);
      log.push(`client got pong ${i}`);
      next = new Signal<string>();
    }
    call.end();
    await ended;
    expect(replies).toEqual(Array.from({ length: rounds }, (_, i) => `pong ${i}`));
    expect(log).toEqual(
      Array.from({ length: rounds }, (_, i) => [`server got ping ${i}`, `client got pong ${i}`]).flat(),
    );

    const { opened, closed } = await throughSluice(r, METHODS.bidi);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });

  it('a 3 MiB message each way, far past the flow-control window, arrives byte for byte', async () => {
    const size = 3 * 1024 * 1024;
    const payload = randomBytes(size);
    let serverMatched = false;
    const r = await rig({
      unary: (call, callback) => {
        serverMatched = call.request.equals(payload);
        // Answer with different bytes than were sent, so an echo by anyone else would not pass.
        const answer = Buffer.from(call.request);
        answer.reverse();
        callback(null, answer);
      },
    });
    const { response } = await unaryCall(r.client, METHODS.unary, payload, undefined, {
      deadline: Date.now() + 20_000,
    });
    expect(serverMatched).toBe(true);
    expect(response.length).toBe(size);
    expect(response.equals(Buffer.from(payload).reverse())).toBe(true);

    const { opened, closed } = await throughSluice(r, METHODS.unary);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
    expect(closed.requestBytes).toBe(framed(size));
    expect(closed.responseBytes).toBe(framed(size));
    expect(responseChunks(r, opened.id).length).toBeGreaterThan(1);
  });

  it('an error status (trailers-only) with details and trailer metadata reaches the client exactly', async () => {
    const r = await rig({
      unary: (_call, callback) => {
        const trailer = new grpc.Metadata();
        trailer.set('x-reason', 'bucket frozen since tuesday');
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'the bucket is frozen', metadata: trailer });
      },
    });
    const err = await unaryCall(r.client, METHODS.unary, Buffer.from('thaw?')).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toBe('the bucket is frozen');
    expect(err?.metadata.get('x-reason')).toEqual(['bucket frozen since tuesday']);

    const { opened, closed } = await throughSluice(r, METHODS.unary);
    // A gRPC error is a complete HTTP exchange: status 200, grpc-status in the (only) header block.
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });

  it('an error status after streamed messages (in real trailers) reaches the client exactly', async () => {
    const r = await rig({
      serverStream: (call) => {
        call.write(Buffer.from('one'));
        call.write(Buffer.from('two'));
        const trailer = new grpc.Metadata();
        trailer.set('x-reason', 'ran out of two');
        call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'no three', metadata: trailer });
      },
    });
    const call = serverStreamCall(r.client, METHODS.serverStream, Buffer.from('count'));
    const got: string[] = [];
    call.on('data', (m: Buffer) => got.push(m.toString()));
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      call.on('error', resolve);
      call.on('end', () => reject(new Error('the stream ended without the error status')));
    });
    expect(got).toEqual(['one', 'two']);
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toBe('no three');
    expect(err.metadata.get('x-reason')).toEqual(['ran out of two']);

    const { opened, closed } = await throughSluice(r, METHODS.serverStream);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });

  it('a client cancel mid-stream reaches the server as cancelled; Sluice says client-closed, CANCEL', async () => {
    const serverCancelled = new Signal();
    const cap = 200; // messages at most, whatever happens
    const acks = signals(cap);
    let sent = 0;
    const r = await rig({
      serverStream: (call) => {
        call.on('cancelled', () => serverCancelled.fire());
        void (async () => {
          for (let i = 0; i < cap && !call.cancelled; i++) {
            call.write(Buffer.from(`tick ${i}`));
            sent += 1;
            await Promise.race([acks[i]!.promise, serverCancelled.promise]);
          }
        })();
      },
    });
    const call = serverStreamCall(r.client, METHODS.serverStream, Buffer.from('ticks'));
    const got: string[] = [];
    const clientError = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    const threeIn = new Signal();
    call.on('data', (m: Buffer) => {
      got.push(m.toString());
      if (got.length === 3) threeIn.fire();
      else acks[got.length - 1]?.fire();
    });
    await threeIn.wait(MESSAGE_WAIT_MS, 'three messages');
    const opened = grpcExchanges(r.proxy.events, METHODS.serverStream)[0]!;
    expect(closedOf(r.proxy.events, opened.id)).toBeUndefined(); // still open when cancelled
    call.cancel();
    await serverCancelled.wait(MESSAGE_WAIT_MS, 'the server to see the call cancelled');
    expect((await clientError).code).toBe(grpc.status.CANCELLED);
    expect(got).toEqual(['tick 0', 'tick 1', 'tick 2']);
    expect(sent).toBe(3);

    const { closed } = await throughSluice(r, METHODS.serverStream);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('client-closed');
    expect(closed.reason).toBe('CANCEL');
  });

  it('a client cancel in bidi, both directions still open, reaches the server as cancelled', async () => {
    const serverCancelled = new Signal();
    const r = await rig({
      bidi: (call) => {
        call.on('cancelled', () => serverCancelled.fire());
        call.on('data', (message: Buffer) => call.write(message));
      },
    });
    const call = bidiCall(r.client, METHODS.bidi);
    const clientError = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    const echoed: string[] = [];
    const two = new Signal();
    call.on('data', (m: Buffer) => {
      echoed.push(m.toString());
      if (echoed.length === 2) two.fire();
    });
    call.write(Buffer.from('a'));
    call.write(Buffer.from('b'));
    await two.wait(MESSAGE_WAIT_MS, 'two echoes');
    call.cancel();
    await serverCancelled.wait(MESSAGE_WAIT_MS, 'the server to see the call cancelled');
    expect((await clientError).code).toBe(grpc.status.CANCELLED);
    expect(echoed).toEqual(['a', 'b']);
    const { opened, closed } = await throughSluice(r, METHODS.bidi);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('client-closed');
    expect(closed.reason).toBe('CANCEL');
  });

  it('a deadline travels as grpc-timeout, and its expiry ends the call on both sides', async () => {
    const serverCancelled = new Signal();
    const r = await rig({
      // Never answers: the deadline must end it.
      unary: (call) => call.on('cancelled', () => serverCancelled.fire()),
    });
    const err = await unaryCall(r.client, METHODS.unary, Buffer.from('slow'), undefined, {
      deadline: Date.now() + 500,
    }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await serverCancelled.wait(MESSAGE_WAIT_MS, 'the server to see the call end');
    const { opened, closed } = await throughSluice(r, METHODS.unary, 'tls', 'maybe');
    expect(headerValue(opened.request.headers, 'grpc-timeout')).toMatch(/^\d+[HMSmun]$/);
    // The client resets its stream (CANCEL) when the deadline passes; the server's own timer,
    // read from grpc-timeout, may answer DEADLINE_EXCEEDED at the same moment. Either is right.
    expect(['client-closed', 'completed'], describeExchange(r.proxy.events, opened.id)).toContain(closed.outcome);
  });

  it('concurrent calls share one client connection as separate streams', async () => {
    const r = await rig({ unary: (call, callback) => setTimeout(() => callback(null, call.request), 50) });
    const n = 6;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => unaryCall(r.client, METHODS.unary, Buffer.from(`call ${i}`))),
    );
    expect(replies.map((x) => x.response.toString())).toEqual(Array.from({ length: n }, (_, i) => `call ${i}`));
    await r.proxy.waitFor((e) => e.type === 'exchange-closed' && closedCount(r) === n);
    const opened = grpcExchanges(r.proxy.events, METHODS.unary);
    expect(opened).toHaveLength(n);
    expect(new Set(opened.map((e) => e.connectionId)).size).toBe(1);
    expect(new Set(opened.map((e) => e.streamId)).size).toBe(n);
    for (const e of opened) {
      expect(e.request.httpVersion).toBe('2');
      expect(closedOf(r.proxy.events, e.id)?.outcome).toBe('completed');
    }
  });
});

function closedCount(r: Rig): number {
  return r.proxy.events.filter((e) => e.type === 'exchange-closed').length;
}

describe('gRPC over h2c (insecure credentials): CONNECT, then HTTP/2 with prior knowledge', () => {
  it('a unary call', async () => {
    const r = await rig(
      {
        unary: (call, callback) => {
          const trailer = new grpc.Metadata();
          trailer.set('x-trailer', 'plain');
          callback(null, Buffer.concat([Buffer.from('echo: '), call.request]), trailer);
        },
      },
      'h2c',
    );
    const { response, status } = await unaryCall(r.client, METHODS.unary, Buffer.from('in the clear'));
    expect(response.toString()).toBe('echo: in the clear');
    expect(status.metadata.get('x-trailer')).toEqual(['plain']);
    const { opened, closed } = await throughSluice(r, METHODS.unary, 'h2c');
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
    expect(closed.responseBytes).toBe(framed('echo: in the clear'.length));
  });

  it('server streaming, each message before the next is sent', async () => {
    const count = 10;
    const received = signals(count);
    const r = await rig(
      {
        serverStream: (call) => {
          void (async () => {
            for (let i = 0; i < count; i++) {
              call.write(Buffer.from(`plain ${i}`));
              await received[i]!.wait(MESSAGE_WAIT_MS, `the client to receive message ${i}`);
            }
            call.end();
          })().catch((err: Error) => call.emit('error', { code: grpc.status.INTERNAL, details: err.message }));
        },
      },
      'h2c',
    );
    const got: string[] = [];
    const call = serverStreamCall(r.client, METHODS.serverStream, Buffer.from('go'));
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: Buffer) => {
        received[got.length]?.fire();
        got.push(m.toString());
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    expect(got).toEqual(Array.from({ length: count }, (_, i) => `plain ${i}`));
    const { opened, closed } = await throughSluice(r, METHODS.serverStream, 'h2c');
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });

  it("h2c straight to Sluice's listener (no CONNECT): :authority names the upstream", async () => {
    const proxy = await startProxy();
    defer(() => proxy.close());
    const upstream = await startGrpcServer(
      { unary: (call, callback) => callback(null, Buffer.concat([Buffer.from('direct: '), call.request])) },
      undefined,
    );
    defer(() => upstream.close());
    const restore = setGrpcProxyEnv(proxy.port);
    defer(async () => restore());
    delete process.env.grpc_proxy; // no proxy variable at all: the client dials Sluice itself
    const client = new grpc.Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.default_authority': `localhost:${upstream.port}`,
    });
    defer(async () => client.close());
    const { response } = await unaryCall(client, METHODS.unary, Buffer.from('hi'));
    expect(response.toString()).toBe('direct: hi');
    const opened = await proxy.waitFor(
      (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith(METHODS.unary),
    );
    expect(opened.request.url).toBe(`http://localhost:${upstream.port}${METHODS.unary}`);
    expect(opened.request.httpVersion).toBe('2');
    expect(opened.streamId).toBeGreaterThan(0);
    await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened.id);
    expect(closedOf(proxy.events, opened.id)?.outcome).toBe('completed');
  });

  it('grpc-js skips grpc_proxy only for no_grpc_proxy hosts: with localhost listed, Sluice sees nothing', async () => {
    const r = await rig({ unary: (call, callback) => callback(null, call.request) }, 'h2c');
    process.env.no_grpc_proxy = 'localhost';
    const bypassing = makeClient(r.upstreamPort, grpc.credentials.createInsecure());
    defer(async () => bypassing.close());
    delete process.env.no_grpc_proxy;
    const { response } = await unaryCall(bypassing, METHODS.unary, Buffer.from('around'));
    expect(response.toString()).toBe('around');
    expect(r.proxy.events.filter((e) => e.type === 'exchange-opened')).toEqual([]);
    // The same target without no_grpc_proxy (the rig's client) does go through Sluice.
    await unaryCall(r.client, METHODS.unary, Buffer.from('through'));
    const { closed } = await throughSluice(r, METHODS.unary, 'h2c');
    expect(closed.outcome).toBe('completed');
  });
});
