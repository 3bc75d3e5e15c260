import * as grpc from '@grpc/grpc-js';
import type { ExchangeClosedEvent, ExchangeOpenedEvent, ProxyEvent } from '../../app/proxy-events.js';
import type { UpstreamAuthority } from './servers.js';

/**
 * gRPC over Sluice with real clients, without generated code: every method carries raw bytes
 * (identity serializers), so the Node and Python clients need no proto and no stubs.
 */
export const ECHO_SERVICE = 'sluice.test.Echo';

export const METHODS = {
  unary: `/${ECHO_SERVICE}/Unary`,
  serverStream: `/${ECHO_SERVICE}/ServerStream`,
  clientStream: `/${ECHO_SERVICE}/ClientStream`,
  bidi: `/${ECHO_SERVICE}/Bidi`,
} as const;

const identity = (bytes: Buffer): Buffer => bytes;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const ECHO_DEFINITION: grpc.ServiceDefinition = {
  Unary: method(METHODS.unary, false, false),
  ServerStream: method(METHODS.serverStream, false, true),
  ClientStream: method(METHODS.clientStream, true, false),
  Bidi: method(METHODS.bidi, true, true),
};

/** The handlers a test gives; a method left out answers UNIMPLEMENTED. */
export interface EchoHandlers {
  unary?: grpc.handleUnaryCall<Buffer, Buffer>;
  serverStream?: grpc.handleServerStreamingCall<Buffer, Buffer>;
  clientStream?: grpc.handleClientStreamingCall<Buffer, Buffer>;
  bidi?: grpc.handleBidiStreamingCall<Buffer, Buffer>;
}

export interface GrpcUpstream {
  readonly port: number;
  readonly server: grpc.Server;
  close(): Promise<void>;
}

/** A grpc-js server on 127.0.0.1:0: TLS with a certificate for `localhost` from `authority`, or h2c. */
export async function startGrpcServer(handlers: EchoHandlers, authority?: UpstreamAuthority): Promise<GrpcUpstream> {
  const server = new grpc.Server();
  const status = { code: grpc.status.UNIMPLEMENTED, details: 'not in this test' };
  const answer: Required<EchoHandlers> = {
    unary: (_call, callback) => callback(status),
    serverStream: (call) => call.emit('error', status),
    clientStream: (_call, callback) => callback(status),
    bidi: (call) => call.emit('error', status),
    ...handlers,
  };
  server.addService(ECHO_DEFINITION, {
    Unary: answer.unary,
    ServerStream: answer.serverStream,
    ClientStream: answer.clientStream,
    Bidi: answer.bidi,
  });
  let credentials: grpc.ServerCredentials;
  if (authority) {
    const { key, cert } = authority.issue('localhost');
    credentials = grpc.ServerCredentials.createSsl(null, [
      { private_key: Buffer.from(key), cert_chain: Buffer.from(cert) },
    ]);
  } else {
    credentials = grpc.ServerCredentials.createInsecure();
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    server,
    close: async () => {
      // Graceful first (streams still open get 1 s), then whatever is left is cut.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** Proxy-related variables grpc-js and gRPC core read; all are cleared while a test runs. */
export const PROXY_ENV_VARS = [
  'grpc_proxy',
  'https_proxy',
  'http_proxy',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'no_grpc_proxy',
  'no_proxy',
  'NO_PROXY',
] as const;

/**
 * Points gRPC at Sluice the way a user does, `grpc_proxy=http://127.0.0.1:PORT`, with every other
 * proxy variable (and `no_proxy`, which would let a client skip the proxy) unset. Returns the
 * function that restores the environment as it was.
 */
export function setGrpcProxyEnv(proxyPort: number): () => void {
  const saved = new Map<string, string | undefined>(PROXY_ENV_VARS.map((name) => [name, process.env[name]]));
  for (const name of PROXY_ENV_VARS) delete process.env[name];
  process.env.grpc_proxy = `http://127.0.0.1:${proxyPort}`;
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** The environment for a child process: ours, with only `grpc_proxy` set among the proxy variables. */
export function childEnvWithGrpcProxy(proxyPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PROXY_ENV_VARS) delete env[name];
  env.grpc_proxy = `http://127.0.0.1:${proxyPort}`;
  return env;
}

/**
 * A grpc-js client for `localhost:PORT`. Its own subchannel pool, so no connection is shared with
 * another test's client; the proxy is taken from the environment when the client is made.
 */
export function makeClient(port: number, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}) {
  return new grpc.Client(`localhost:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1, ...options });
}

/** A call deadline `ms` from now, so no call in a test can wait for ever. */
export function deadline(ms = 10_000): grpc.CallOptions {
  return { deadline: Date.now() + ms };
}

export function unaryCall(
  client: grpc.Client,
  path: string,
  request: Buffer,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = deadline(),
): Promise<{ response: Buffer; metadata: grpc.Metadata; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    let initial = new grpc.Metadata();
    let response: Buffer | undefined;
    let status: grpc.StatusObject | undefined;
    const settle = (): void => {
      if (response !== undefined && status !== undefined) resolve({ response, metadata: initial, status });
    };
    const call = client.makeUnaryRequest(path, identity, identity, request, metadata, options, (err, value) => {
      if (err) reject(err);
      else {
        response = value!;
        settle();
      }
    });
    call.on('metadata', (md: grpc.Metadata) => (initial = md));
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
  });
}

export function serverStreamCall(
  client: grpc.Client,
  path: string,
  request: Buffer,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = deadline(),
): grpc.ClientReadableStream<Buffer> {
  return client.makeServerStreamRequest(path, identity, identity, request, metadata, options);
}

export function clientStreamCall(
  client: grpc.Client,
  path: string,
  callback: grpc.requestCallback<Buffer>,
  options: grpc.CallOptions = deadline(),
): grpc.ClientWritableStream<Buffer> {
  return client.makeClientStreamRequest(path, identity, identity, new grpc.Metadata(), options, callback);
}

export function bidiCall(
  client: grpc.Client,
  path: string,
  options: grpc.CallOptions = deadline(),
): grpc.ClientDuplexStream<Buffer, Buffer> {
  return client.makeBidiStreamRequest(path, identity, identity, new grpc.Metadata(), options);
}

/**
 * A one-shot signal with a deadline: `wait()` rejects after `ms` if `fire()` never came, so a
 * test that goes wrong fails with a reason instead of hanging.
 */
/** A bidi handler that answers each "ping N" with "pong N", logging what the server got. */
export function pingPong(log: string[]): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => {
    call.on('data', (message: Buffer) => {
      log.push(`server got ${message.toString()}`);
      call.write(Buffer.from(message.toString().replace('ping', 'pong')));
    });
    call.on('end', () => call.end());
  };
}

export class Signal<T = void> {
  private resolveFn!: (value: T) => void;
  private fired = false;
  readonly promise: Promise<T>;

  constructor() {
    this.promise = new Promise<T>((resolve) => (this.resolveFn = resolve));
  }

  fire(value: T): void {
    if (this.fired) return;
    this.fired = true;
    this.resolveFn(value);
  }

  wait(ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      timer.unref();
      void this.promise.then((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}

/** `n` signals, one per message, e.g. "the client has received message i". */
export function signals<T = void>(n: number): Signal<T>[] {
  return Array.from({ length: n }, () => new Signal<T>());
}

/** The HTTP/2 exchanges Sluice opened for a gRPC method (by `:path`), in order. */
export function grpcExchanges(events: readonly ProxyEvent[], path: string): ExchangeOpenedEvent[] {
  return events.filter(
    (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && new URL(e.request.url).pathname === path,
  );
}

export function closedOf(events: readonly ProxyEvent[], id: number): ExchangeClosedEvent | undefined {
  return events.find((e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === id);
}

/** What the proxy's events say about one exchange, for failure messages. */
export function describeExchange(events: readonly ProxyEvent[], id: number): string {
  return JSON.stringify(
    events
      .filter((e) => 'id' in e && e.id === id && e.type !== 'chunk')
      .map((e) => (e.type === 'exchange-opened' ? { ...e, request: { ...e.request, headers: undefined } } : e)),
  );
}
