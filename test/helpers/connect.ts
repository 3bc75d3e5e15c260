import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { create, createFileRegistry, type DescMessage, type Message } from '@bufbuild/protobuf';
import type { GenMessage, GenService } from '@bufbuild/protobuf/codegenv2';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  MethodOptions_IdempotencyLevel,
} from '@bufbuild/protobuf/wkt';
import type { ConnectRouter, ServiceImpl, Transport } from '@connectrpc/connect';
import {
  compressionGzip,
  connectNodeAdapter,
  createConnectTransport,
  createGrpcWebTransport,
  Http2SessionManager,
  type GrpcWebTransportOptions,
} from '@connectrpc/connect-node';

/**
 * A small Connect service for tests, described in code (no protoc, no generated files), served by
 * `@connectrpc/connect-node` on HTTP/1.1 and h2c, and clients that reach it through Sluice.
 *
 *     package sluice.test.connect;
 *     message Say { string text = 1; int32 n = 2; }
 *     service Talk {
 *       rpc Echo(Say) returns (Say);
 *       rpc Look(Say) returns (Say) { option idempotency_level = NO_SIDE_EFFECTS; }
 *       rpc Count(Say) returns (stream Say);
 *       rpc Gather(stream Say) returns (Say);
 *     }
 */

const PACKAGE = 'sluice.test.connect';

const sayFields = [
  { name: 'text', number: 1, type: FieldDescriptorProto_Type.STRING, jsonName: 'text' },
  { name: 'n', number: 2, type: FieldDescriptorProto_Type.INT32, jsonName: 'n' },
].map((field) => ({ ...field, label: FieldDescriptorProto_Label.OPTIONAL }));

const SAY = `.${PACKAGE}.Say`;

const file = create(FileDescriptorProtoSchema, {
  name: 'sluice/test/connect/talk.proto',
  package: PACKAGE,
  syntax: 'proto3',
  messageType: [{ name: 'Say', field: sayFields }],
  service: [
    {
      name: 'Talk',
      method: [
        { name: 'Echo', inputType: SAY, outputType: SAY },
        {
          name: 'Look',
          inputType: SAY,
          outputType: SAY,
          options: { idempotencyLevel: MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS },
        },
        { name: 'Count', inputType: SAY, outputType: SAY, serverStreaming: true },
        { name: 'Gather', inputType: SAY, outputType: SAY, clientStreaming: true },
      ],
    },
  ],
});

const registry = createFileRegistry(file, () => undefined);

export type Say = Message<'sluice.test.connect.Say'> & { text: string; n: number };

/** What codegen would have declared: the descriptors, typed by the shapes above. */
export const SaySchema = registry.getMessage(`${PACKAGE}.Say`) as DescMessage as GenMessage<Say>;

export const TalkService = registry.getService(`${PACKAGE}.Talk`) as unknown as GenService<{
  echo: { methodKind: 'unary'; input: typeof SaySchema; output: typeof SaySchema };
  look: { methodKind: 'unary'; input: typeof SaySchema; output: typeof SaySchema };
  count: { methodKind: 'server_streaming'; input: typeof SaySchema; output: typeof SaySchema };
  gather: { methodKind: 'client_streaming'; input: typeof SaySchema; output: typeof SaySchema };
}>;

export const TALK_PATHS = {
  echo: `/${PACKAGE}.Talk/Echo`,
  look: `/${PACKAGE}.Talk/Look`,
  count: `/${PACKAGE}.Talk/Count`,
  gather: `/${PACKAGE}.Talk/Gather`,
} as const;

export const say = (text: string, n = 0): Say => create(SaySchema, { text, n });

export type TalkHandlers = Partial<ServiceImpl<typeof TalkService>>;

/** One call as an end saw it: the body bytes it wrote and read (HTTP's own framing aside), in order. */
export interface BodyLog {
  readonly path: string;
  readonly received: Buffer[];
  readonly sent: Buffer[];
}

export interface TalkServer {
  /** connect-node on HTTP/1.1. */
  readonly h1Port: number;
  /** connect-node on h2c. */
  readonly h2Port: number;
  /** Each call the server answered, in order of arrival. */
  readonly calls: BodyLog[];
  close(): Promise<void>;
}

/** The Talk service (methods left out answer `unimplemented`) on 127.0.0.1:0, HTTP/1.1 and h2c alike. */
export async function startTalkServer(handlers: TalkHandlers): Promise<TalkServer> {
  const handler = connectNodeAdapter({
    routes: (router: ConnectRouter) => router.service(TalkService, handlers),
  });
  const calls: BodyLog[] = [];
  const logged = (req: http.IncomingMessage | http2.Http2ServerRequest, res: Writable): void => {
    const call: BodyLog = { path: req.url ?? '', received: [], sent: [] };
    calls.push(call);
    tapData(req, call.received);
    tapWrites(res, call.sent);
  };
  const h1 = http.createServer((req, res) => {
    logged(req, res);
    handler(req, res);
  });
  const h2 = http2.createServer((req, res) => {
    logged(req, res as unknown as Writable);
    handler(req, res);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await Promise.all([listen(h1), listen(h2)]);
  return {
    h1Port: (h1.address() as AddressInfo).port,
    h2Port: (h2.address() as AddressInfo).port,
    calls,
    close: async () => {
      h1.closeAllConnections();
      for (const session of sessions) session.destroy();
      await Promise.all([new Promise((resolve) => h1.close(resolve)), new Promise((resolve) => h2.close(resolve))]);
    },
  };
}

/**
 * Records every chunk a readable hands out without listening to it: a `data` listener would switch
 * it to flowing mode under the reader's feet, but `read()` emits `data` whoever listens.
 */
export function tapData(stream: Readable, into: Buffer[]): void {
  const emit = stream.emit.bind(stream);
  stream.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'data') into.push(Buffer.from(args[0] as Uint8Array));
    return emit(event, ...args);
  }) as Readable['emit'];
}

/** Records every body chunk written (`write` and `end`) to a response or a client's request. */
function tapWrites(res: Writable, into: Buffer[]): void {
  const record = (chunk: unknown): void => {
    if (typeof chunk === 'string') into.push(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) into.push(Buffer.from(chunk));
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Writable;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    record(chunk);
    return write(chunk, ...rest);
  }) as Writable['write'];
  res.end = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') record(chunk);
    return end(chunk, ...rest);
  }) as Writable['end'];
}

function listen(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

/**
 * An HTTP/1.1 agent that sends every request to Sluice in absolute form (`POST http://host/path`),
 * as a client configured with an HTTP proxy does; connect-node hands it to `http.request`. It logs
 * each call's body bytes as the client wrote and read them.
 */
export class AbsoluteFormAgent extends http.Agent {
  readonly calls: BodyLog[] = [];

  constructor(private readonly proxyPort: number) {
    super({ keepAlive: true });
  }

  override createConnection(): net.Socket {
    return net.connect(this.proxyPort, '127.0.0.1');
  }

  /** Node's hook before the request line is written (not in its typings). */
  addRequest(request: http.ClientRequest, options: http.RequestOptions): void {
    const call: BodyLog = { path: request.path, received: [], sent: [] };
    this.calls.push(call);
    request.path = `http://${String(request.getHeader('host'))}${request.path}`;
    tapWrites(request as unknown as Writable, call.sent);
    request.once('response', (response: http.IncomingMessage) => tapData(response, call.received));
    (http.Agent.prototype as unknown as { addRequest: AbsoluteFormAgent['addRequest'] }).addRequest.call(
      this,
      request,
      options,
    );
  }
}

/** connect-node's HTTP/2 session manager, logging each call's body bytes as the client wrote and read them. */
class LoggingSessionManager extends Http2SessionManager {
  readonly calls: BodyLog[] = [];

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, 'signal'>,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const call: BodyLog = { path, received: [], sent: [] };
    this.calls.push(call);
    tapData(stream, call.received);
    tapWrites(stream, call.sent);
    return stream;
  }
}

export type TalkProtocol = 'connect' | 'grpc-web';
export type TalkHttp = '1.1' | '2';

export interface TalkTransportOptions {
  readonly protocol: TalkProtocol;
  readonly httpVersion: TalkHttp;
  /** Protobuf (the default) or JSON. */
  readonly useBinaryFormat?: boolean;
  /** Connect only: side-effect-free unary calls as GET. */
  readonly useHttpGet?: boolean;
  /** Send gzip and accept only gzip (connect-node compresses messages of 1 KiB and more). */
  readonly gzip?: boolean;
}

export interface ThroughSluice {
  readonly transport: Transport;
  /** Each call the client made, in order. */
  readonly calls: BodyLog[];
  /** Closes the client's connections to Sluice. */
  close(): Promise<void>;
}

/**
 * A connect-node transport to `server` through the proxy on `proxyPort`: HTTP/1.1 in absolute form,
 * or h2c dialled straight at Sluice's listener (Sluice routes it by `:authority`).
 */
export function transportThroughSluice(
  proxyPort: number,
  server: TalkServer,
  { protocol, httpVersion, useBinaryFormat = true, useHttpGet = false, gzip = false }: TalkTransportOptions,
): ThroughSluice {
  const common = {
    useBinaryFormat,
    // Without a deadline a test that goes wrong would wait for ever.
    defaultTimeoutMs: 10_000,
    ...(gzip ? { sendCompression: compressionGzip, acceptCompression: [compressionGzip] } : {}),
  };
  const make = (options: GrpcWebTransportOptions): Transport =>
    protocol === 'connect'
      ? createConnectTransport({ ...options, ...common, useHttpGet })
      : createGrpcWebTransport({ ...options, ...common });
  if (httpVersion === '1.1') {
    const agent = new AbsoluteFormAgent(proxyPort);
    const transport = make({ baseUrl: `http://127.0.0.1:${server.h1Port}`, httpVersion, nodeOptions: { agent } });
    return { transport, calls: agent.calls, close: async () => agent.destroy() };
  }
  const baseUrl = `http://127.0.0.1:${server.h2Port}`;
  const sessionManager = new LoggingSessionManager(baseUrl, undefined, {
    createConnection: () => net.connect(proxyPort, '127.0.0.1'),
  });
  const transport = make({ baseUrl, httpVersion, sessionManager });
  return { transport, calls: sessionManager.calls, close: async () => sessionManager.abort() };
}

export interface TextBridge {
  readonly port: number;
  /** Each base64 piece the bridge wrote to its client, in order. */
  readonly sent: string[];
  close(): Promise<void>;
}

/**
 * gRPC-Web text in front of connect-node, which answers `application/grpc-web-text` with 415. On
 * h2c at 127.0.0.1:0, it decodes the request's base64 group by group (so padding mid-body is
 * fine), calls the Talk server in binary gRPC-Web over h2c, and answers each piece it gets back as
 * base64 of its own, padding and all, as the gRPC-Web spec allows: the same bytes, in text.
 */
export async function startTextBridge(server: TalkServer): Promise<TextBridge> {
  const upstream = http2.connect(`http://127.0.0.1:${server.h2Port}`);
  upstream.on('error', () => undefined);
  const sent: string[] = [];
  const bridge = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  bridge.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  bridge.on('stream', (stream, headers) => {
    const body: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => body.push(chunk));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const call = upstream.request({
        ':method': 'POST',
        ':path': headers[':path'],
        'content-type': 'application/grpc-web+proto',
        'x-grpc-web': '1',
      });
      call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      call.on('response', (head) => {
        stream.respond({ ':status': head[':status'], 'content-type': 'application/grpc-web-text+proto' });
      });
      call.on('data', (chunk: Buffer) => {
        const piece = chunk.toString('base64');
        sent.push(piece);
        stream.write(piece);
      });
      call.on('end', () => stream.end());
      call.end(decodeBase64Groups(Buffer.concat(body).toString('latin1')));
    });
  });
  await listen(bridge);
  return {
    port: (bridge.address() as AddressInfo).port,
    sent,
    close: async () => {
      upstream.destroy();
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => bridge.close(resolve));
    },
  };
}

/** Base64 that may carry padding mid-text (gRPC-Web text), decoded one 4-character group at a time. */
export function decodeBase64Groups(text: string): Buffer {
  const groups = text.match(/[^\s]{4}/g) ?? [];
  return Buffer.concat(groups.map((group) => Buffer.from(group, 'base64')));
}

/** A body's 5-byte-prefixed frames (gRPC, gRPC-Web, Connect streaming): flags and payload each. */
export function framesOf(body: Buffer): { flags: number; payload: Buffer }[] {
  const frames: { flags: number; payload: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    frames.push({ flags: body[at]!, payload: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}

/** One frame: flags, 4-byte length, payload. */
export function frame(payload: Uint8Array, flags = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}
