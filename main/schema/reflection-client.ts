import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import http2 from 'node:http2';
import { rootCertificates } from 'node:tls';
import { errorMessage } from '../../app/error-message.js';
import { loadDescriptorSet, WELL_KNOWN_FILES } from '../../app/protobuf-schema.js';
import { decodeGrpcMessage, grpcStatusName } from '../../app/rpc-calls.js';
import { RpcFramer } from '../../proxy-core/index.js';
import { MAX_DESCRIPTOR_SET_BYTES } from './descriptor-file.js';
import { SchemaError } from './schema-error.js';

/**
 * A schema asked of a gRPC server by server reflection (grpc/doc/server-reflection.md), as a
 * FileDescriptorSet, the one form Sluice keeps a schema in (docs/adr/0004-protobuf-schemas.md).
 * One bidirectional call on node:http2 (messages written framed by hand, read with the core's
 * RpcFramer) asks for the file that defines the service, then each file it imports that the
 * server has not sent yet, by name.
 */

export type ReflectionVersion = 'v1' | 'v1alpha';

export interface ReflectionOptions {
  /** The server: `http://host:port` (HTTP/2 without TLS) or `https://host:port`. */
  readonly target: string | URL;
  /** The service to describe, by full name (`sluice.demo.v1.Forecasts`, from a call's path). */
  readonly service: string;
  /** Trust for a TLS server, as the proxy's for its upstreams (UpstreamTlsOptions). */
  readonly trust?: {
    /** CA certificates (PEM) trusted on top of the system's. */
    readonly extraCaPems?: readonly string[];
    /** Skip certificate verification. */
    readonly insecure?: boolean;
  };
  /** Metadata sent with the call, such as the `authorization` a server asks of every caller. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** How long the whole exchange may take. */
  readonly timeoutMs?: number;
}

export interface ReflectionResult {
  /** The serialized FileDescriptorSet: the service's file and all it imports, dependencies first. */
  readonly descriptorSet: Uint8Array;
  /** The reflection service that answered: v1, or v1alpha where v1 is not offered. */
  readonly version: ReflectionVersion;
}

export const DEFAULT_REFLECTION_TIMEOUT_MS = 10_000;

const UNIMPLEMENTED = 12;

/**
 * The schema of `service` from the server's reflection, v1 first, v1alpha where v1 is
 * UNIMPLEMENTED. Throws SchemaError: the server is not reached, offers neither version, does not
 * know the service, or does not answer within the timeout.
 */
export async function fetchSchemaByReflection(options: ReflectionOptions): Promise<ReflectionResult> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new SchemaError(`reflection needs an http: or https: server, not ${target.href}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_REFLECTION_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const session = connect(target, options.trust);
  let timer: NodeJS.Timeout | undefined;
  // Whichever comes first ends the exchange: the connection's failure, or the deadline.
  const failed = new Promise<never>((_resolve, reject) => {
    session.once('error', (error) => {
      const what = session.connecting ? 'cannot reach' : 'lost the connection to';
      reject(new SchemaError(`${what} ${target.origin}: ${errorMessage(error)}`));
    });
    timer = setTimeout(
      () => reject(new SchemaError(`${target.origin} did not answer reflection within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  failed.catch(() => {});
  try {
    // Connected first, so a server not reached is said as such rather than as a failed call.
    await Promise.race([new Promise((resolve) => session.once('connect', resolve)), failed]);
    for (const version of ['v1', 'v1alpha'] as const) {
      const call = new ReflectionCall(session, version, options.metadata ?? {}, deadline);
      const files = await Promise.race([call.describe(options.service), failed]);
      if (files === 'unimplemented') continue;
      const descriptorSet = toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files }));
      const loaded = loadDescriptorSet(descriptorSet);
      if ('error' in loaded) {
        throw new SchemaError(`${target.origin}'s reflection gave a schema that does not load: ${loaded.error}`);
      }
      return { descriptorSet, version };
    }
    throw new SchemaError(
      `${target.origin} does not offer server reflection (grpc.reflection.v1 and v1alpha answered UNIMPLEMENTED)`,
    );
  } finally {
    clearTimeout(timer);
    // Goodbye to the server; a call it has not finished yet is cut a second later.
    session.close();
    setTimeout(() => session.destroy(), 1000).unref();
  }
}

function connect(target: URL, trust: ReflectionOptions['trust']): http2.ClientHttp2Session {
  if (target.protocol === 'http:') return http2.connect(target.origin);
  const extraCaPems = trust?.extraCaPems ?? [];
  return http2.connect(target.origin, {
    rejectUnauthorized: trust?.insecure !== true,
    ...(extraCaPems.length > 0 ? { ca: [...rootCertificates, ...extraCaPems] } : {}),
  });
}

/** What one reflection request asks for; answers come in the order asked. */
type Asked = { kind: 'symbol'; symbol: string } | { kind: 'file'; name: string; importedBy: string };

/** One ServerReflectionInfo call: asks, follows imports, and gives the files it was sent. */
class ReflectionCall {
  private readonly files = new Map<string, FileDescriptorProto>();
  private readonly asked: Asked[] = [];
  private readonly requested = new Set<string>();
  /** The core's gRPC framer: answers split across reads, or several in one. */
  private readonly framer = new RpcFramer('grpc', { maxMessageBytes: MAX_DESCRIPTOR_SET_BYTES });
  private stream: http2.ClientHttp2Stream | undefined;
  private settle:
    { resolve: (files: FileDescriptorProto[] | 'unimplemented') => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    private readonly version: ReflectionVersion,
    private readonly metadata: Readonly<Record<string, string>>,
    private readonly deadline: number,
  ) {}

  describe(service: string): Promise<FileDescriptorProto[] | 'unimplemented'> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      const stream = this.session.request({
        ...this.metadata,
        ':method': 'POST',
        ':path': `/grpc.reflection.${this.version}.ServerReflection/ServerReflectionInfo`,
        'content-type': 'application/grpc',
        te: 'trailers',
        // At most 8 digits, says the protocol.
        'grpc-timeout': `${Math.min(99_999_999, Math.max(1, this.deadline - Date.now()))}m`,
      });
      this.stream = stream;
      stream.on('response', (headers) => this.onHead(headers));
      stream.on('data', (chunk: Buffer) => this.onData(chunk));
      stream.on('trailers', (trailers) => this.onStatus(trailers));
      stream.on('error', (error) => this.fail(`the reflection call failed: ${errorMessage(error)}`));
      stream.on('close', () => this.fail('the server ended the reflection call before answering'));
      this.ask({ kind: 'symbol', symbol: service });
    });
  }

  private ask(request: Asked): void {
    const writer = new BinaryWriter();
    // ServerReflectionRequest: file_by_filename = 3, file_containing_symbol = 4.
    if (request.kind === 'symbol') writer.tag(4, WireType.LengthDelimited).string(request.symbol);
    else writer.tag(3, WireType.LengthDelimited).string(request.name);
    const message = writer.finish();
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    this.asked.push(request);
    if (request.kind === 'file') this.requested.add(request.name);
    this.stream!.write(frame);
  }

  private onHead(headers: http2.IncomingHttpHeaders): void {
    const status = Number(headers[':status']);
    if (status !== 200) {
      this.fail(`the server answered reflection with HTTP ${status}`, status === 404 ? UNIMPLEMENTED : undefined);
      return;
    }
    // A Trailers-Only answer: the status is in the head.
    if (headers['grpc-status'] !== undefined) this.onStatus(headers);
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.framer.feed(chunk, 0, 0)) {
      if (!this.settle) return;
      if (frame.compressed) {
        this.fail('the server sent a compressed reflection answer, which Sluice did not ask for');
        return;
      }
      if (frame.truncated) {
        this.fail(`the server sent a reflection answer of ${frame.wireBytes} bytes, past the size of any schema`);
        return;
      }
      this.onAnswer(frame.bytes);
    }
    if (this.framer.stopped !== undefined)
      this.fail(`the server's reflection answers are not gRPC messages: ${this.framer.stopped}`);
  }

  private onAnswer(message: Uint8Array): void {
    const request = this.asked.shift();
    if (!request) {
      this.fail('the server sent a reflection answer nobody asked for');
      return;
    }
    let answer: ReflectionAnswer;
    try {
      answer = readAnswer(message);
    } catch (error) {
      this.fail(`the server's reflection answer does not parse: ${errorMessage(error)}`);
      return;
    }
    if (answer.error) {
      const { code, message: words } = answer.error;
      const wellKnown = request.kind === 'file' ? WELL_KNOWN_FILES.get(request.name) : undefined;
      if (wellKnown) this.add(wellKnown);
      else if (request.kind === 'symbol') {
        this.fail(`the server's reflection does not know ${request.symbol}: ${grpcStatusName(code)}: ${words}`);
        return;
      } else {
        this.fail(
          `the server's reflection cannot give ${request.name} (imported by ${request.importedBy}): ${grpcStatusName(code)}: ${words}`,
        );
        return;
      }
    }
    for (const bytes of answer.files) {
      try {
        this.add(fromBinary(FileDescriptorProtoSchema, bytes));
      } catch (error) {
        this.fail(`the server sent a file descriptor that does not parse: ${errorMessage(error)}`);
        return;
      }
    }
    if (this.asked.length === 0) this.finish();
  }

  /** Keeps a file and asks for each of its imports not yet had or asked for. */
  private add(file: FileDescriptorProto): void {
    if (this.files.has(file.name)) return;
    this.files.set(file.name, file);
    for (const name of file.dependency) {
      if (this.files.has(name) || this.requested.has(name)) continue;
      this.ask({ kind: 'file', name, importedBy: file.name });
    }
  }

  private onStatus(fields: http2.IncomingHttpHeaders): void {
    const code = Number(fields['grpc-status']);
    if (code === 0 && this.asked.length === 0) return;
    const words = decodeGrpcMessage(String(fields['grpc-message'] ?? ''));
    const status = code === 0 ? 'OK before answering' : `${grpcStatusName(code)}${words ? `: ${words}` : ''}`;
    this.fail(`the server ended the reflection call: ${status}`, code);
  }

  private finish(): void {
    const settle = this.settle;
    this.settle = undefined;
    // Every answer is in: end our side, and the server ends its own.
    this.stream?.end();
    settle?.resolve([...this.files.values()]);
  }

  private fail(message: string, code?: number): void {
    const settle = this.settle;
    if (!settle) return;
    this.settle = undefined;
    this.stream?.close(http2.constants.NGHTTP2_CANCEL);
    if (code === UNIMPLEMENTED) settle.resolve('unimplemented');
    else settle.reject(new SchemaError(`${this.version}: ${message}`));
  }
}

interface ReflectionAnswer {
  readonly files: Uint8Array[];
  readonly error?: { readonly code: number; readonly message: string };
}

/**
 * A ServerReflectionResponse: its file_descriptor_response (4: repeated bytes
 * file_descriptor_proto = 1) or error_response (7: int32 error_code = 1, string error_message = 2).
 */
function readAnswer(message: Uint8Array): ReflectionAnswer {
  const files: Uint8Array[] = [];
  let error: { code: number; message: string } | undefined;
  const reader = new BinaryReader(message);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === 4 && wireType === WireType.LengthDelimited) {
      const inner = new BinaryReader(reader.bytes());
      while (inner.pos < inner.len) {
        const [field, type] = inner.tag();
        if (field === 1 && type === WireType.LengthDelimited) files.push(inner.bytes());
        else inner.skip(type, field);
      }
    } else if (number === 7 && wireType === WireType.LengthDelimited) {
      const inner = new BinaryReader(reader.bytes());
      error = { code: 2, message: '' };
      while (inner.pos < inner.len) {
        const [field, type] = inner.tag();
        if (field === 1 && type === WireType.Varint) error.code = inner.int32();
        else if (field === 2 && type === WireType.LengthDelimited) error.message = inner.string();
        else inner.skip(type, field);
      }
    } else {
      reader.skip(wireType, number);
    }
  }
  return error ? { files, error } : { files };
}
