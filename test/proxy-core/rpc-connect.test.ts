import http2 from 'node:http2';
import net from 'node:net';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent, ProxyEvent, RpcMessageEvent, RpcStatusEvent } from '../../app/proxy-events.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  decodeBase64Groups,
  frame,
  framesOf,
  say,
  SaySchema,
  startTalkServer,
  startTextBridge,
  TALK_PATHS,
  TalkService,
  transportThroughSluice,
  type Say,
  type TalkHandlers,
  type TalkHttp,
  type TalkProtocol,
  type TalkServer,
  type TalkTransportOptions,
  type ThroughSluice,
} from '../helpers/connect.js';
import { h2Request, startH2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

/**
 * Issue 13's capture for the other two RPC protocols, with a real implementation at both ends:
 * `@connectrpc/connect-node` serves the Talk service and calls it in Connect and gRPC-Web, over
 * HTTP/1.1 (absolute-form requests to Sluice) and h2c (dialled straight at Sluice's listener).
 * gRPC-Web text, which connect-node does not speak, goes through a small bridge in front of it.
 * Every test checks the events against what was sent and that each end got the other's bytes.
 */

const WAIT_MS = 5000;

// One proxy for the file (making its CA is most of a proxy's start-up); each test has its own
// upstream, so its exchanges are the ones whose URL names that upstream.
let proxy: TestProxy;
beforeAll(async () => {
  proxy = await startProxy();
});
afterAll(async () => {
  await proxy?.close();
});

const { defer } = useCleanup();

interface Rig {
  readonly server: TalkServer;
  /** `host:port` of the upstream the client calls through Sluice. */
  readonly authority: string;
  readonly client: Client<typeof TalkService>;
  readonly through: ThroughSluice;
}

/** A Talk server and a connect-node client through Sluice; `handlers` may use the rig (once made) to pace. */
async function rig(handlers: (late: { rig?: Rig }) => TalkHandlers, options: TalkTransportOptions): Promise<Rig> {
  const late: { rig?: Rig } = {};
  const server = await startTalkServer(handlers(late));
  defer(() => server.close());
  const through = transportThroughSluice(proxy.port, server, options);
  defer(() => through.close());
  const port = options.httpVersion === '1.1' ? server.h1Port : server.h2Port;
  late.rig = { server, authority: `127.0.0.1:${port}`, client: createClient(TalkService, through.transport), through };
  return late.rig;
}

/** The exchange that called `path` on `authority` (through Sluice), once it has closed. */
async function exchangeOf(authority: string, path: string): Promise<ExchangeOpenedEvent> {
  const opened = await openedOf(authority, path);
  await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened.id, WAIT_MS);
  return opened;
}

function openedOf(authority: string, path: string): Promise<ExchangeOpenedEvent> {
  return proxy.waitFor((e): e is ExchangeOpenedEvent => {
    if (e.type !== 'exchange-opened') return false;
    const url = new URL(e.request.url);
    return url.host === authority && url.pathname === path;
  }, WAIT_MS);
}

/** Resolves when Sluice has announced message `index` of `direction` of the call to `path`. */
async function messageAnnounced(
  r: { authority: string },
  path: string,
  direction: 'request' | 'response',
  index: number,
): Promise<void> {
  const { id } = await openedOf(r.authority, path);
  await proxy.waitFor(
    (e) => e.type === 'rpc-message' && e.id === id && e.direction === direction && e.index === index,
    WAIT_MS,
  );
}

function messagesOf(events: readonly ProxyEvent[], id: number, direction: 'request' | 'response'): RpcMessageEvent[] {
  return events.filter(
    (e): e is RpcMessageEvent => e.type === 'rpc-message' && e.id === id && e.direction === direction,
  );
}

function statusOf(events: readonly ProxyEvent[], id: number): RpcStatusEvent[] {
  return events.filter((e): e is RpcStatusEvent => e.type === 'rpc-status' && e.id === id);
}

const bytesOf = (m: RpcMessageEvent): Buffer => Buffer.from(m.data, m.binary ? 'base64' : 'utf8');
const binary = (message: Say): Buffer => Buffer.from(toBinary(SaySchema, message));
const concat = (chunks: Buffer[]): Buffer => Buffer.concat(chunks);

const pathOnly = (path: string): string => path.split('?', 1)[0]!;

/** The client read exactly what the server wrote, and the server exactly what the client wrote. */
function expectBytesUnchanged({ server, through }: { server: TalkServer; through: ThroughSluice }): void {
  expect(through.calls.map((c) => pathOnly(c.path))).toEqual(server.calls.map((c) => pathOnly(c.path)));
  through.calls.forEach((client, i) => {
    const upstream = server.calls[i]!;
    expect(concat(upstream.sent).length).toBeGreaterThan(0);
    expect(concat(client.received)).toEqual(concat(upstream.sent));
    expect(concat(upstream.received)).toEqual(concat(client.sent));
  });
}

/** What Sluice reported of one exchange (chunks left out), for failure messages. */
function eventsOf(id: number): unknown[] {
  return proxy.events.filter((e) => 'id' in e && e.id === id && e.type !== 'chunk');
}

const TRANSPORTS: readonly [TalkProtocol, TalkHttp][] = [
  ['connect', '1.1'],
  ['connect', '2'],
  ['grpc-web', '1.1'],
  ['grpc-web', '2'],
];

describe.each(TRANSPORTS)('%s over HTTP/%s through Sluice (connect-node both ends)', (protocol, httpVersion) => {
  const framed = protocol === 'grpc-web' ? 'grpc-web' : 'connect';
  const unaryProtocol = protocol === 'grpc-web' ? 'grpc-web' : 'connect-unary';
  /** Where a successful call's status comes from, and the kind of the frame that ends a stream. */
  const okSource = protocol === 'grpc-web' ? 'trailer-frame' : 'http-status';
  const endKind = protocol === 'grpc-web' ? 'trailers' : 'end-stream';

  it('unary, binary codec: one message each way, byte for byte, and OK', async () => {
    const r = await rig(() => ({ echo: (req) => say(`echo ${req.text}`, req.n + 1) }), { protocol, httpVersion });
    const reply = await r.client.echo(say('hello', 1));
    expect(reply).toMatchObject({ text: 'echo hello', n: 2 });

    const { id } = await exchangeOf(r.authority, TALK_PATHS.echo);
    const [sent, ...moreSent] = messagesOf(proxy.events, id, 'request');
    expect(moreSent).toEqual([]);
    expect(sent).toMatchObject({ index: 0, kind: 'message', binary: true, compressed: false });
    expect(bytesOf(sent!)).toEqual(binary(say('hello', 1)));
    expect(fromBinary(SaySchema, bytesOf(sent!))).toMatchObject({ text: 'hello', n: 1 });
    const received = messagesOf(proxy.events, id, 'response');
    expect(bytesOf(received[0]!)).toEqual(binary(say('echo hello', 2)));
    expect(received[0]).toMatchObject({ index: 0, kind: 'message', wireBytes: binary(say('echo hello', 2)).length });
    if (protocol === 'grpc-web') {
      expect(received).toHaveLength(2);
      expect(received[1]).toMatchObject({ index: 1, kind: 'trailers', binary: false });
      expect(received[1]!.data).toMatch(/^grpc-status: ?0\r\n/);
    } else {
      expect(received).toHaveLength(1);
    }
    expect(statusOf(proxy.events, id)).toEqual([
      expect.objectContaining({ protocol: unaryProtocol, source: okSource, code: 0, name: 'OK' }),
    ]);
    expectBytesUnchanged(r);
  });

  it('unary, JSON codec: messages arrive as text, as sent', async () => {
    const r = await rig(() => ({ echo: (req) => say(`echo ${req.text}`, req.n + 1) }), {
      protocol,
      httpVersion,
      useBinaryFormat: false,
    });
    expect(await r.client.echo(say('héllo', 1))).toMatchObject({ text: 'echo héllo', n: 2 });

    const { id } = await exchangeOf(r.authority, TALK_PATHS.echo);
    const [sent] = messagesOf(proxy.events, id, 'request');
    const [received] = messagesOf(proxy.events, id, 'response');
    expect(sent).toMatchObject({ binary: false, compressed: false });
    expect(JSON.parse(sent!.data)).toEqual({ text: 'héllo', n: 1 });
    expect(sent!.wireBytes).toBe(Buffer.byteLength(sent!.data));
    expect(received).toMatchObject({ binary: false });
    expect(JSON.parse(received!.data)).toEqual({ text: 'echo héllo', n: 2 });
    // The text is the body (or frame payload) the client read, character for character.
    const client = r.through.calls[0]!;
    expect(concat(client.received).toString('utf8')).toContain(received!.data);
    expect(statusOf(proxy.events, id).map((s) => s.name)).toEqual(['OK']);
    expectBytesUnchanged(r);
  });

  for (const useBinaryFormat of [true, false]) {
    it(`server streaming (${useBinaryFormat ? 'binary' : 'JSON'}), paced: each message is announced before the server yields the next`, async () => {
      const count = 4;
      const r = await rig(
        (late) => ({
          count: async function* (req) {
            for (let i = 0; i < req.n; i++) {
              yield say(`part ${i}`, i);
              // Resumed when connect-node asks for the next message, so after it wrote this one.
              await messageAnnounced(late.rig!, TALK_PATHS.count, 'response', i);
            }
          },
        }),
        { protocol, httpVersion, useBinaryFormat },
      );
      const got: Say[] = [];
      for await (const message of r.client.count(say('count', count))) got.push(message);
      expect(got.map((m) => m.text)).toEqual(['part 0', 'part 1', 'part 2', 'part 3']);

      const { id } = await exchangeOf(r.authority, TALK_PATHS.count);
      const received = messagesOf(proxy.events, id, 'response');
      expect(received.map((m) => [m.index, m.kind])).toEqual([
        [0, 'message'],
        [1, 'message'],
        [2, 'message'],
        [3, 'message'],
        [4, endKind],
      ]);
      const messages = received.slice(0, count);
      if (useBinaryFormat) expect(messages.map(bytesOf)).toEqual(got.map(binary));
      else
        expect(messages.map((m) => JSON.parse(m.data) as unknown)).toEqual([
          { text: 'part 0' },
          ...[1, 2, 3].map((i) => ({ text: `part ${i}`, n: i })),
        ]);
      expect(messages.every((m) => m.binary === useBinaryFormat)).toBe(true);
      // Paced: each message crossed in a chunk after the one before.
      for (let i = 1; i < count; i++)
        expect(messages[i]!.chunkRange[0]).toBeGreaterThan(messages[i - 1]!.chunkRange[1]);
      const end = received[count]!;
      expect(end.binary).toBe(false);
      if (protocol === 'connect') expect(JSON.parse(end.data)).toEqual({});
      else expect(end.data).toMatch(/^grpc-status: ?0\r\n/);
      expect(statusOf(proxy.events, id)).toEqual([
        expect.objectContaining({
          protocol: framed,
          source: protocol === 'grpc-web' ? 'trailer-frame' : 'end-stream',
          code: 0,
          name: 'OK',
          t: end.t,
        }),
      ]);
      expectBytesUnchanged(r);
    });
  }

  it('client streaming: each request message as it crossed, then the one reply', async () => {
    const r = await rig(
      () => ({
        gather: async (requests) => {
          const texts: string[] = [];
          for await (const req of requests) texts.push(req.text);
          return say(texts.join('+'), texts.length);
        },
      }),
      { protocol, httpVersion },
    );
    async function* parts(): AsyncIterable<Say> {
      for (let i = 0; i < 3; i++) yield say(`part ${i}`, i);
    }
    const result = await r.client.gather(parts());
    expect(result).toMatchObject({ text: 'part 0+part 1+part 2', n: 3 });
    const { id } = await exchangeOf(r.authority, TALK_PATHS.gather);
    expect(messagesOf(proxy.events, id, 'request').map(bytesOf)).toEqual(
      [0, 1, 2].map((i) => binary(say(`part ${i}`, i))),
    );
    expect(bytesOf(messagesOf(proxy.events, id, 'response')[0]!)).toEqual(binary(result));
    expect(statusOf(proxy.events, id).map((s) => [s.source, s.name])).toEqual([
      [protocol === 'grpc-web' ? 'trailer-frame' : 'end-stream', 'OK'],
    ]);
    expectBytesUnchanged(r);
  });

  it('gzip both ways: messages flagged compressed, shown decompressed with both sizes', async () => {
    // connect-node compresses messages of 1 KiB and more.
    const big = say('z'.repeat(4000), 7);
    const r = await rig(() => ({ echo: (req) => say(req.text.toUpperCase(), req.n) }), {
      protocol,
      httpVersion,
      gzip: true,
    });
    expect((await r.client.echo(big)).text).toBe('Z'.repeat(4000));

    const { id } = await exchangeOf(r.authority, TALK_PATHS.echo);
    const [sent] = messagesOf(proxy.events, id, 'request');
    const [received] = messagesOf(proxy.events, id, 'response');
    for (const [message, expected] of [
      [sent!, binary(big)],
      [received!, binary(say('Z'.repeat(4000), 7))],
    ] as const) {
      expect(message, JSON.stringify(eventsOf(id))).toMatchObject({ compressed: true, size: expected.length });
      expect(message.undecoded).toBeUndefined();
      expect(message.wireBytes).toBeLessThan(100);
      expect(bytesOf(message)).toEqual(expected);
    }
    expect(statusOf(proxy.events, id).map((s) => s.name)).toEqual(['OK']);
    expectBytesUnchanged(r);
  });

  it('an error after a streamed message: its code, message and metadata from the end of the stream', async () => {
    const r = await rig(
      () => ({
        count: async function* (_req, context) {
          yield say('one');
          context.responseTrailer.set('x-trailer', 'late');
          throw new ConnectError('no café at 100%', Code.FailedPrecondition, { 'x-reason': 'frozen' });
        },
      }),
      { protocol, httpVersion },
    );
    const got: string[] = [];
    const err = await (async () => {
      for await (const message of r.client.count(say('go'))) got.push(message.text);
    })().catch((e: unknown) => ConnectError.from(e));
    expect(got).toEqual(['one']);
    expect(err).toMatchObject({ code: Code.FailedPrecondition, rawMessage: 'no café at 100%' });
    expect((err as ConnectError).metadata.get('x-reason')).toBe('frozen');

    const { id } = await exchangeOf(r.authority, TALK_PATHS.count);
    const received = messagesOf(proxy.events, id, 'response');
    expect(received.map((m) => m.kind)).toEqual(['message', endKind]);
    expect(bytesOf(received[0]!)).toEqual(binary(say('one')));
    const [status, ...more] = statusOf(proxy.events, id);
    expect(more).toEqual([]);
    expect(status).toMatchObject({
      protocol: framed,
      source: protocol === 'grpc-web' ? 'trailer-frame' : 'end-stream',
      code: 9,
      name: 'FAILED_PRECONDITION',
      message: 'no café at 100%',
      t: received[1]!.t,
    });
    expect(status!.trailers).toContainEqual(['x-reason', 'frozen']);
    expect(status!.trailers).toContainEqual(['x-trailer', 'late']);
    expectBytesUnchanged(r);
  });

  it("a long error, compressed as connect-node's defaults compress it (1 KiB and more): read decompressed", async () => {
    const long = 'a reason that goes on and on, '.repeat(40);
    const r = await rig(
      () => ({
        echo: () => {
          throw new ConnectError(long, Code.InvalidArgument, { 'x-reason': 'long' });
        },
        count: async function* () {
          yield say('one');
          throw new ConnectError(long, Code.InvalidArgument, { 'x-reason': 'long' });
        },
      }),
      { protocol, httpVersion },
    );
    const unary = await r.client.echo(say('x')).catch((e: unknown) => ConnectError.from(e));
    const streamed = await (async () => {
      for await (const message of r.client.count(say('x'))) expect(message.text).toBe('one');
    })().catch((e: unknown) => ConnectError.from(e));
    expect(unary).toMatchObject({ code: Code.InvalidArgument, rawMessage: long });
    expect(streamed).toMatchObject({ code: Code.InvalidArgument, rawMessage: long });

    for (const path of [TALK_PATHS.echo, TALK_PATHS.count]) {
      const { id } = await exchangeOf(r.authority, path);
      const unaryConnect = protocol === 'connect' && path === TALK_PATHS.echo;
      if (unaryConnect) {
        // Connect unary: the error is the body, gzipped as a whole.
        const head = proxy.events.find((e) => e.type === 'response-head' && e.id === id);
        expect(head).toMatchObject({ response: { headers: expect.arrayContaining([['content-encoding', 'gzip']]) } });
      } else {
        const end = messagesOf(proxy.events, id, 'response').at(-1)!;
        expect(end).toMatchObject({ kind: endKind, compressed: true, binary: false });
        expect(end.size).toBeGreaterThan(1024);
        expect(end.wireBytes).toBeLessThan(end.size);
        expect(end.data).toContain('x-reason');
      }
      expect(statusOf(proxy.events, id), `${path} ${JSON.stringify(eventsOf(id))}`).toEqual([
        expect.objectContaining({
          source: unaryConnect ? 'unary-error' : protocol === 'grpc-web' ? 'trailer-frame' : 'end-stream',
          code: 3,
          name: 'INVALID_ARGUMENT',
          message: long,
        }),
      ]);
    }
    expectBytesUnchanged(r);
  });

  it('a unary error: the code, the message and the details, no response message', async () => {
    const r = await rig(
      () => ({
        echo: () => {
          throw new ConnectError('nobody here', Code.NotFound, { 'x-reason': 'gone' }, [
            { desc: SaySchema, value: { text: 'a detail', n: 3 } },
          ]);
        },
      }),
      { protocol, httpVersion },
    );
    const err = await r.client.echo(say('anyone?')).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.NotFound, rawMessage: 'nobody here' });

    const opened = await exchangeOf(r.authority, TALK_PATHS.echo);
    const { id } = opened;
    const [status, ...more] = statusOf(proxy.events, id);
    expect(more).toEqual([]);
    expect(status, JSON.stringify(eventsOf(id))).toMatchObject({
      protocol: unaryProtocol,
      code: 5,
      name: 'NOT_FOUND',
      message: 'nobody here',
    });
    expect(bytesOf(messagesOf(proxy.events, id, 'request')[0]!)).toEqual(binary(say('anyone?')));
    if (protocol === 'connect') {
      // Connect unary: an HTTP 404 whose JSON body is the error.
      expect(status!.source).toBe('unary-error');
      const details = JSON.parse(status!.details!) as { type: string; value: string }[];
      expect(details).toEqual([expect.objectContaining({ type: SaySchema.typeName })]);
      expect(fromBinary(SaySchema, Buffer.from(details[0]!.value, 'base64'))).toMatchObject({ text: 'a detail', n: 3 });
      expect(messagesOf(proxy.events, id, 'response')).toEqual([]);
      expect(proxy.events).toContainEqual(
        expect.objectContaining({ type: 'response-head', id, response: expect.objectContaining({ status: 404 }) }),
      );
    } else {
      // gRPC-Web: connect-node sends the status in a lone trailer frame (a 200 with no message).
      expect(status!.source).toBe('trailer-frame');
      // grpc-status-details-bin: a google.rpc.Status holding the code, the message and the detail.
      const details = Buffer.from(status!.details!, 'base64').toString('latin1');
      expect(details).toContain('nobody here');
      expect(details).toContain('a detail');
      expect(status!.trailers).toContainEqual(['x-reason', 'gone']);
      expect(messagesOf(proxy.events, id, 'response').filter((m) => m.kind === 'message')).toEqual([]);
    }
    expectBytesUnchanged(r);
  });
});

describe('Connect unary GET through Sluice', () => {
  it.each(['1.1', '2'] as const)(
    'HTTP/%s: a side-effect-free call is recognised by connect=v1, its reply captured',
    async (httpVersion) => {
      const r = await rig(() => ({ look: (req) => say(`seen ${req.text}`) }), {
        protocol: 'connect',
        httpVersion,
        useHttpGet: true,
      });
      expect((await r.client.look(say('it'))).text).toBe('seen it');

      const opened = await exchangeOf(r.authority, TALK_PATHS.look);
      expect(opened.request.method).toBe('GET');
      expect(new URL(opened.request.url).searchParams.get('connect')).toBe('v1');
      // The request's message rides in the query, not in a body: there is no request message event.
      expect(messagesOf(proxy.events, opened.id, 'request')).toEqual([]);
      expect(messagesOf(proxy.events, opened.id, 'response').map(bytesOf)).toEqual([binary(say('seen it'))]);
      expect(statusOf(proxy.events, opened.id)).toEqual([
        expect.objectContaining({ protocol: 'connect-unary', source: 'http-status', name: 'OK' }),
      ]);
      expectBytesUnchanged(r);
    },
  );
});

describe('gRPC-Web text through Sluice (a base64 bridge in front of connect-node)', () => {
  interface TextRig {
    readonly authority: string;
    readonly server: TalkServer;
    readonly session: http2.ClientHttp2Session;
    /** The base64 pieces the bridge wrote. */
    readonly sent: string[];
  }

  async function textRig(handlers: (late: { rig?: TextRig }) => TalkHandlers): Promise<TextRig> {
    const late: { rig?: TextRig } = {};
    const server = await startTalkServer(handlers(late));
    defer(() => server.close());
    const bridge = await startTextBridge(server);
    defer(() => bridge.close());
    // h2c straight at Sluice's listener, `:authority` naming the bridge.
    const session = http2.connect(`http://127.0.0.1:${bridge.port}`, {
      createConnection: () => net.connect(proxy.port, '127.0.0.1'),
    });
    session.on('error', () => undefined);
    defer(async () => session.destroy());
    late.rig = { authority: `127.0.0.1:${bridge.port}`, server, session, sent: bridge.sent };
    return late.rig;
  }

  const textHeaders = (path: string): http2.OutgoingHttpHeaders => ({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc-web-text+proto',
    accept: 'application/grpc-web-text',
    'x-grpc-web': '1',
  });

  it('server streaming, paced: base64 padded mid-stream both ways, every message, the trailer frame, the status', async () => {
    const r = await textRig((late) => ({
      count: async function* (req) {
        for (let i = 0; i < req.n; i++) {
          yield say(`part ${i}`, i);
          await messageAnnounced(late.rig!, TALK_PATHS.count, 'response', i);
        }
      },
    }));
    // The request in two pieces of base64, the first ending in padding.
    const request = frame(binary(say('count', 3)));
    const body = request.subarray(0, 4).toString('base64') + request.subarray(4).toString('base64');
    expect(body.slice(0, -2)).toContain('=');
    const answer = await h2Request(r.session, textHeaders(TALK_PATHS.count), body);
    expect(answer.status).toBe(200);
    // Each end got the other's bytes: the server the request, the client the bridge's base64,
    // with padding mid-stream (each message is a piece of its own).
    expect(concat(r.server.calls[0]!.received)).toEqual(request);
    expect(answer.body.toString('latin1')).toBe(r.sent.join(''));
    expect(r.sent.slice(0, -1).filter((piece) => piece.endsWith('=')).length).toBeGreaterThan(0);

    const frames = framesOf(decodeBase64Groups(answer.body.toString('latin1')));
    expect(frames.map((f) => f.flags)).toEqual([0, 0, 0, 0x80]);
    const { id } = await exchangeOf(r.authority, TALK_PATHS.count);
    const [sentMessage, ...moreSent] = messagesOf(proxy.events, id, 'request');
    expect(moreSent).toEqual([]);
    expect(bytesOf(sentMessage!)).toEqual(binary(say('count', 3)));
    const received = messagesOf(proxy.events, id, 'response');
    expect(received.map((m) => m.kind)).toEqual(['message', 'message', 'message', 'trailers']);
    expect(received.slice(0, 3).map(bytesOf)).toEqual([0, 1, 2].map((i) => binary(say(`part ${i}`, i))));
    expect(received.map(bytesOf)).toEqual(frames.map((f) => f.payload));
    for (let i = 1; i < 3; i++) expect(received[i]!.chunkRange[0]).toBeGreaterThan(received[i - 1]!.chunkRange[1]);
    expect(received[3]!.data).toMatch(/^grpc-status: ?0\r\n/);
    expect(statusOf(proxy.events, id)).toEqual([
      expect.objectContaining({ protocol: 'grpc-web-text', source: 'trailer-frame', code: 0, name: 'OK' }),
    ]);
  });

  it('an error in text: the status from the trailer frame, its message percent-decoded', async () => {
    const r = await textRig(() => ({
      echo: () => {
        throw new ConnectError('tea: 100% gone', Code.ResourceExhausted);
      },
    }));
    const answer = await h2Request(
      r.session,
      textHeaders(TALK_PATHS.echo),
      frame(binary(say('tea?'))).toString('base64'),
    );
    expect(answer.status).toBe(200);
    const [trailers, ...more] = framesOf(decodeBase64Groups(answer.body.toString('latin1')));
    expect(more).toEqual([]);
    expect(trailers!.flags).toBe(0x80);
    expect(trailers!.payload.toString()).toContain('grpc-message: tea%3A%20100%25%20gone');

    const { id } = await exchangeOf(r.authority, TALK_PATHS.echo);
    expect(messagesOf(proxy.events, id, 'response').map(bytesOf)).toEqual([trailers!.payload]);
    expect(statusOf(proxy.events, id)).toEqual([
      expect.objectContaining({
        protocol: 'grpc-web-text',
        source: 'trailer-frame',
        code: 8,
        name: 'RESOURCE_EXHAUSTED',
        message: 'tea: 100% gone',
      }),
    ]);
  });
});

describe('Connect bodies no implementation here sends, by hand through Sluice', () => {
  /** An h2c session straight at Sluice's listener, `:authority` naming `port`. */
  function sessionTo(port: number): http2.ClientHttp2Session {
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => net.connect(proxy.port, '127.0.0.1'),
    });
    session.on('error', () => undefined);
    defer(async () => session.destroy());
    return session;
  }

  /** A hand-made h2c upstream that answers every stream with `head` and `body`. */
  async function answering(head: http2.OutgoingHttpHeaders, body: Buffer | string): Promise<number> {
    const upstream = await startH2Server((stream) => {
      stream.on('error', () => undefined);
      stream.resume();
      stream.on('end', () => {
        stream.respond(head);
        stream.end(body);
      });
    });
    defer(() => upstream.close());
    return upstream.port;
  }

  const connectUnary = (path: string): http2.OutgoingHttpHeaders => ({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/proto',
    'connect-protocol-version': '1',
  });

  it('a path that is not valid percent-encoding: the call passes whole and is still tracked', async () => {
    const server = await startTalkServer({});
    defer(() => server.close());
    const answer = await h2Request(sessionTo(server.h2Port), connectUnary('/sluice%zz.Talk/Echo'), binary(say('q')));
    // connect-node has no such method: a 404 with no body, forwarded as it came.
    expect(answer.status).toBe(404);
    const opened = await exchangeOf(`127.0.0.1:${server.h2Port}`, '/sluice%zz.Talk/Echo');
    expect(proxy.events).toContainEqual(
      expect.objectContaining({ type: 'exchange-closed', id: opened.id, outcome: 'completed' }),
    );
    expect(messagesOf(proxy.events, opened.id, 'request').map(bytesOf)).toEqual([binary(say('q'))]);
    expect(statusOf(proxy.events, opened.id)).toEqual([
      expect.objectContaining({ protocol: 'connect-unary', source: 'unary-error', code: 12, name: 'UNIMPLEMENTED' }),
    ]);
  });

  it('a Connect unary error that is not JSON (a gateway page): the status its HTTP status gives', async () => {
    const page = '<html><body>Bad Gateway</body></html>';
    const port = await answering({ ':status': 502, 'content-type': 'text/html' }, page);
    const answer = await h2Request(sessionTo(port), connectUnary(TALK_PATHS.echo), binary(say('q')));
    expect(answer.status).toBe(502);
    expect(answer.body.toString()).toBe(page);
    const { id } = await exchangeOf(`127.0.0.1:${port}`, TALK_PATHS.echo);
    expect(statusOf(proxy.events, id)).toEqual([
      expect.objectContaining({
        source: 'unary-error',
        code: 14,
        name: 'UNAVAILABLE',
        message: 'HTTP 502, and no Connect error in the body',
      }),
    ]);
  });

  it('a Connect stream that ends without its end-of-stream message is not OK', async () => {
    const body = frame(binary(say('one')));
    const port = await answering({ ':status': 200, 'content-type': 'application/connect+proto' }, body);
    const answer = await h2Request(
      sessionTo(port),
      { ':method': 'POST', ':path': TALK_PATHS.count, 'content-type': 'application/connect+proto' },
      frame(binary(say('count', 1))),
    );
    expect(answer.body).toEqual(body);
    const { id } = await exchangeOf(`127.0.0.1:${port}`, TALK_PATHS.count);
    expect(messagesOf(proxy.events, id, 'response').map(bytesOf)).toEqual([binary(say('one'))]);
    expect(statusOf(proxy.events, id)).toEqual([
      expect.objectContaining({ protocol: 'connect', source: 'http-status', code: 2, name: 'UNKNOWN' }),
    ]);
  });
});
