import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type {
  CaptureLimitedEvent,
  ExchangeOpenedEvent,
  ProxyEvent,
  RpcMessageEvent,
  RpcStatusEvent,
} from '../../app/proxy-events.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  bidiCall,
  clientStreamCall,
  type EchoHandlers,
  makeClient,
  METHODS,
  serverStreamCall,
  setGrpcProxyEnv,
  Signal,
  startGrpcServer,
  unaryCall,
} from '../helpers/grpc.js';
import { RpcTracker } from '../../proxy-core/capture/rpc-tracker.js';
import { connectH2, h2Request, startH2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

/**
 * Issue 13's capture: every message of a real gRPC call (grpc-js on both ends, through Sluice),
 * as an event the moment it was forwarded, and the call's status from wherever gRPC put it.
 */

const WAIT_MS = 5000;

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
  readonly client: grpc.Client;
}

async function rig(handlers: EchoHandlers, options: { gzip?: boolean } = {}): Promise<Rig> {
  const proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  defer(() => proxy.close());
  const upstream = await startGrpcServer(handlers, authority);
  defer(() => upstream.close());
  const restore = setGrpcProxyEnv(proxy.port);
  defer(async () => restore());
  const compression: grpc.ChannelOptions = options.gzip ? { 'grpc.default_compression_algorithm': 2 } : {};
  const client = makeClient(upstream.port, grpc.credentials.createSsl(Buffer.from(proxy.caPem)), compression);
  defer(async () => client.close());
  return { proxy, client };
}

/** A protobuf message with one string field, number 1: what a real `message Text { string text = 1; }` sends. */
function text(value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

async function exchangeOf(proxy: TestProxy, path: string): Promise<number> {
  const opened = await proxy.waitFor(
    (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith(path),
  );
  await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened.id);
  return opened.id;
}

function messagesOf(events: readonly ProxyEvent[], id: number, direction: 'request' | 'response'): RpcMessageEvent[] {
  return events.filter(
    (e): e is RpcMessageEvent => e.type === 'rpc-message' && e.id === id && e.direction === direction,
  );
}

function statusOf(events: readonly ProxyEvent[], id: number): RpcStatusEvent[] {
  return events.filter((e): e is RpcStatusEvent => e.type === 'rpc-status' && e.id === id);
}

/** Resolves when the proxy has announced message `index` of `direction` on any call. */
function messageAnnounced(proxy: TestProxy, direction: 'request' | 'response', index: number): Promise<ProxyEvent> {
  return proxy.waitFor((e) => e.type === 'rpc-message' && e.direction === direction && e.index === index, WAIT_MS);
}

const decoded = (m: RpcMessageEvent): Buffer => Buffer.from(m.data, 'base64');

describe('gRPC messages through Sluice (grpc-js both ends, TLS intercepted)', () => {
  it('unary: one message each way, byte for byte, and OK from the trailers', async () => {
    const r = await rig({ unary: (call, callback) => callback(null, text(`echo ${call.request.subarray(2)}`)) });
    const { response } = await unaryCall(r.client, METHODS.unary, text('hello'));
    expect(response).toEqual(text('echo hello'));

    const id = await exchangeOf(r.proxy, METHODS.unary);
    const [sent, ...moreSent] = messagesOf(r.proxy.events, id, 'request');
    const [received, ...moreReceived] = messagesOf(r.proxy.events, id, 'response');
    expect(moreSent).toEqual([]);
    expect(moreReceived).toEqual([]);
    expect(decoded(sent!)).toEqual(text('hello'));
    expect(sent).toMatchObject({ index: 0, kind: 'message', compressed: false, binary: true, wireBytes: 7, size: 7 });
    expect(decoded(received!)).toEqual(text('echo hello'));
    expect(statusOf(r.proxy.events, id)).toEqual([
      expect.objectContaining({ protocol: 'grpc', source: 'trailers', code: 0, name: 'OK' }),
    ]);
  });

  it('server streaming, paced: each message is announced before the server sends the next', async () => {
    const count = 5;
    // The handler runs once the rig exists; it needs the rig's proxy to wait on.
    const late: { proxy?: TestProxy } = {};
    const r = await rig({
      serverStream: (call) => {
        void (async () => {
          for (let i = 0; i < count; i++) {
            call.write(text(`part ${i}`));
            await messageAnnounced(late.proxy!, 'response', i);
          }
          call.end();
        })().catch((err: Error) => call.emit('error', { code: grpc.status.INTERNAL, details: err.message }));
      },
    });
    late.proxy = r.proxy;
    const call = serverStreamCall(r.client, METHODS.serverStream, text('count'));
    const got: Buffer[] = [];
    call.on('data', (m: Buffer) => got.push(m));
    await new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(got).toHaveLength(count);

    const id = await exchangeOf(r.proxy, METHODS.serverStream);
    const received = messagesOf(r.proxy.events, id, 'response');
    expect(received.map(decoded)).toEqual(got);
    expect(received.map((m) => m.index)).toEqual([0, 1, 2, 3, 4]);
    // Each message came in its own write, so in its own chunk, after the one before.
    for (let i = 1; i < count; i++) expect(received[i]!.chunkRange[0]).toBeGreaterThan(received[i - 1]!.chunkRange[1]);
    expect(statusOf(r.proxy.events, id).map((s) => s.name)).toEqual(['OK']);
  });

  it('client streaming, paced: each request message is announced before the client sends the next', async () => {
    const r = await rig({
      clientStream: (call, callback) => {
        const parts: Buffer[] = [];
        call.on('data', (m: Buffer) => parts.push(m));
        call.on('end', () => callback(null, text(`${parts.length} parts`)));
      },
    });
    const done = new Signal<Buffer>();
    const call = clientStreamCall(r.client, METHODS.clientStream, (err, value) => {
      if (!err) done.fire(value!);
    });
    for (let i = 0; i < 4; i++) {
      call.write(text(`part ${i}`));
      await messageAnnounced(r.proxy, 'request', i);
    }
    call.end();
    expect(await done.wait(WAIT_MS, 'the reply')).toEqual(text('4 parts'));

    const id = await exchangeOf(r.proxy, METHODS.clientStream);
    expect(messagesOf(r.proxy.events, id, 'request').map(decoded)).toEqual([0, 1, 2, 3].map((i) => text(`part ${i}`)));
    expect(messagesOf(r.proxy.events, id, 'response').map(decoded)).toEqual([text('4 parts')]);
  });

  it('bidi: pings and pongs interleave in the order they crossed', async () => {
    const r = await rig({
      bidi: (call) => {
        call.on('data', (m: Buffer) => call.write(text(`pong ${m.subarray(2).toString().split(' ')[1]}`)));
        call.on('end', () => call.end());
      },
    });
    const call = bidiCall(r.client, METHODS.bidi);
    for (let i = 0; i < 3; i++) {
      const pong = new Promise<Buffer>((resolve) => call.once('data', resolve));
      call.write(text(`ping ${i}`));
      expect(await pong).toEqual(text(`pong ${i}`));
      await messageAnnounced(r.proxy, 'response', i);
    }
    call.end();
    await new Promise<void>((resolve) => call.on('status', () => resolve()));

    const id = await exchangeOf(r.proxy, METHODS.bidi);
    const crossed = r.proxy.events
      .filter((e): e is RpcMessageEvent => e.type === 'rpc-message' && e.id === id)
      .map((m) => decoded(m).subarray(2).toString());
    expect(crossed).toEqual(['ping 0', 'pong 0', 'ping 1', 'pong 1', 'ping 2', 'pong 2']);
  });

  it('gzip: messages flagged compressed are shown decompressed, with both sizes', async () => {
    const big = text('z'.repeat(100));
    const r = await rig({ unary: (_call, callback) => callback(null, big) }, { gzip: true });
    expect((await unaryCall(r.client, METHODS.unary, big)).response).toEqual(big);

    const id = await exchangeOf(r.proxy, METHODS.unary);
    const [sent] = messagesOf(r.proxy.events, id, 'request');
    expect(sent).toMatchObject({ compressed: true, size: big.length });
    expect(sent!.wireBytes).toBeLessThan(big.length);
    expect(sent!.undecoded).toBeUndefined();
    expect(decoded(sent!)).toEqual(big);
  });

  it('an error in a Trailers-Only response: its name, the message percent-decoded, the trailer metadata', async () => {
    const r = await rig({
      unary: (_call, callback) => {
        const trailer = new grpc.Metadata();
        trailer.set('x-reason', 'frozen');
        callback({ code: grpc.status.NOT_FOUND, details: 'no café at 100%', metadata: trailer });
      },
    });
    const err = await unaryCall(r.client, METHODS.unary, text('where')).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);

    const id = await exchangeOf(r.proxy, METHODS.unary);
    const [status, ...more] = statusOf(r.proxy.events, id);
    expect(more).toEqual([]);
    expect(status).toMatchObject({ source: 'trailers-only', code: 5, name: 'NOT_FOUND', message: 'no café at 100%' });
    expect(status!.trailers).toContainEqual(['x-reason', 'frozen']);
    expect(messagesOf(r.proxy.events, id, 'response')).toEqual([]);
  });

  it('an error after streamed messages comes from the real trailers', async () => {
    const r = await rig({
      serverStream: (call) => {
        call.write(text('one'));
        call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'no two' });
      },
    });
    const call = serverStreamCall(r.client, METHODS.serverStream, text('count'));
    call.on('data', () => undefined);
    await new Promise<void>((resolve) => call.on('error', () => resolve()));

    const id = await exchangeOf(r.proxy, METHODS.serverStream);
    expect(messagesOf(r.proxy.events, id, 'response').map(decoded)).toEqual([text('one')]);
    expect(statusOf(r.proxy.events, id)).toEqual([
      expect.objectContaining({ source: 'trailers', name: 'FAILED_PRECONDITION', message: 'no two' }),
    ]);
  });

  it('a client cancel: messages so far, no status from the server, the ending says CANCEL', async () => {
    const cancelled = new Signal();
    const r = await rig({
      serverStream: (call) => {
        call.write(text('first'));
        call.on('cancelled', () => cancelled.fire());
      },
    });
    const call = serverStreamCall(r.client, METHODS.serverStream, text('go'));
    call.on('error', () => undefined);
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    await cancelled.wait(WAIT_MS, 'the server to see the cancel');

    const id = await exchangeOf(r.proxy, METHODS.serverStream);
    expect(messagesOf(r.proxy.events, id, 'response').map(decoded)).toEqual([text('first')]);
    expect(statusOf(r.proxy.events, id)).toEqual([]);
    expect(r.proxy.events).toContainEqual(
      expect.objectContaining({ type: 'exchange-closed', id, outcome: 'client-closed', reason: 'CANCEL' }),
    );
  });
});

describe('a gRPC body that stops making sense', () => {
  /** gRPC frames by hand: flag, 4-byte length, payload. */
  const frame = (payload: Buffer, flag = 0, declared = payload.length): Buffer => {
    const prefix = Buffer.alloc(5);
    prefix[0] = flag;
    prefix.writeUInt32BE(declared, 1);
    return Buffer.concat([prefix, payload]);
  };

  /**
   * A proxy and an h2c upstream that answers every call with `body` as a gRPC response (with
   * `headers` added to its head) and grpc-status 0, and a client session to it through the proxy.
   */
  async function answering(
    body: Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ proxy: TestProxy; session: import('node:http2').ClientHttp2Session }> {
    const upstream = await startH2Server((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...headers }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(body);
    });
    defer(() => upstream.close());
    const proxy = await startProxy();
    defer(() => proxy.close());
    const { session } = await connectH2(proxy.port, `localhost:${upstream.port}`);
    defer(async () => session.destroy());
    return { proxy, session };
  }

  it('a bad gzip payload and a length past the data: notes on that direction, every byte forwarded', async () => {
    const body = Buffer.concat([
      frame(text('fine')),
      frame(Buffer.from('not gzip at all'), 1),
      frame(Buffer.from('short'), 0, 1000),
    ]);
    const { proxy, session } = await answering(body, { 'grpc-encoding': 'gzip' });

    const request = frame(zlib.gzipSync(text('q')), 1);
    const answer = await h2Request(
      session,
      {
        ':method': 'POST',
        ':path': '/pkg.Svc/Get',
        'content-type': 'application/grpc',
        'grpc-encoding': 'gzip',
        te: 'trailers',
      },
      request,
    );
    expect(answer.body).toEqual(body);
    expect(answer.trailers?.['grpc-status']).toBe('0');

    const id = await exchangeOf(proxy, '/pkg.Svc/Get');
    expect(decoded(messagesOf(proxy.events, id, 'request')[0]!)).toEqual(text('q'));
    const received = messagesOf(proxy.events, id, 'response');
    expect(received).toHaveLength(2);
    expect(decoded(received[0]!)).toEqual(text('fine'));
    expect(received[1]!.undecoded).toMatch(/^gzip decompression failed/);
    expect(decoded(received[1]!)).toEqual(Buffer.from('not gzip at all'));
    const notes = proxy.events.filter(
      (e): e is CaptureLimitedEvent => e.type === 'capture-limited' && e.id === id && e.reason === 'rpc-frames',
    );
    expect(notes).toEqual([
      expect.objectContaining({
        direction: 'response',
        detail: expect.stringMatching(/message 2 cut short: 5 of its 1000 bytes/),
      }),
    ]);
  });

  it('flags no framing defines: parsing that direction stops with a note, the stream passes whole', async () => {
    const body = Buffer.concat([frame(text('one')), Buffer.from('<html>oops</html>')]);
    const { proxy, session } = await answering(body);

    const answer = await h2Request(
      session,
      { ':method': 'POST', ':path': '/pkg.Svc/Get', 'content-type': 'application/grpc', te: 'trailers' },
      frame(text('q')),
    );
    expect(answer.body).toEqual(body);
    const id = await exchangeOf(proxy, '/pkg.Svc/Get');
    expect(messagesOf(proxy.events, id, 'response').map(decoded)).toEqual([text('one')]);
    const note = proxy.events.find(
      (e): e is CaptureLimitedEvent => e.type === 'capture-limited' && e.id === id && e.reason === 'rpc-frames',
    );
    expect(note).toMatchObject({
      direction: 'response',
      atOffset: 0,
      detail: expect.stringMatching(/message 1 has flags 0x3c/),
    });
    expect(statusOf(proxy.events, id).map((s) => s.name)).toEqual(['OK']);
  });

  it('a fault in the tracker costs the messages, never the stream: a note, and every byte forwarded', async () => {
    const fault = vi.spyOn(RpcTracker.prototype, 'onChunk').mockImplementation(() => {
      throw new Error('a bug in the tracker');
    });
    defer(async () => fault.mockRestore());
    const body = Buffer.concat([frame(text('one')), frame(text('two'))]);
    const { proxy, session } = await answering(body);

    const answer = await h2Request(
      session,
      { ':method': 'POST', ':path': '/pkg.Svc/Get', 'content-type': 'application/grpc', te: 'trailers' },
      frame(text('q')),
    );
    expect(answer.body).toEqual(body);
    expect(answer.trailers?.['grpc-status']).toBe('0');
    const id = await exchangeOf(proxy, '/pkg.Svc/Get');
    expect(fault).toHaveBeenCalled();
    expect(proxy.events).toContainEqual(
      expect.objectContaining({
        type: 'capture-limited',
        id,
        reason: 'rpc-frames',
        detail: "Sluice stopped reading this call's messages: a bug in the tracker",
      }),
    );
    expect(proxy.events).toContainEqual(expect.objectContaining({ type: 'exchange-closed', id, outcome: 'completed' }));
  });
});
