import type { HostEvent, SchemaList } from '../../app/contract.js';
import { headerValue } from '../../app/proxy-events.js';
import { rpcCallOf } from '../../app/rpc-calls.js';
import { now } from '../../proxy-core/index.js';
import type { RpcSchema } from '../../app/protobuf-schema.js';
import type { ReflectionOptions } from '../schema/reflection-client.js';
import type { SchemaBook } from '../schema/schema-book.js';
import type { CaptureArchive } from './capture-archive.js';
import { checkExchangeId, checkSchemaFiles, checkSchemaSourceId, CommandError } from './request-checks.js';

/** What the schema commands need of the host. */
export interface SchemaHost {
  readonly archive: Pick<CaptureArchive, 'requestOf'>;
  /** The trust the proxy gives upstreams, which Sluice's own calls to them get too. */
  readonly trust: () => NonNullable<ReflectionOptions['trust']>;
  readonly emit: (event: HostEvent) => void;
  /** The loaded schemas changed: the proxy's stream rules read RPC messages with them. */
  readonly changed: (schema: RpcSchema | undefined) => void;
}

/** What the host lists before any schema is given. */
const NO_SCHEMAS: SchemaList = { revision: 0, sources: [], descriptorSet: '' };

/**
 * The `schemas.*` commands: the host's SchemaBook, fed by files the command line names or the page
 * sends and by server reflection. The book and the protobuf code under it are loaded when the
 * first schema comes: most sessions never give one, and it is 4.4 MB of a fresh process's live heap.
 */
export class SchemaCommands {
  private book: SchemaBook | undefined;
  private loading: Promise<SchemaBook> | undefined;

  constructor(private readonly host: SchemaHost) {}

  list(): SchemaList {
    return this.book?.list() ?? NO_SCHEMAS;
  }

  /** Files on this machine (the CLI's --proto); rejects with a SchemaError saying why not. */
  async addPaths(paths: readonly string[], includeDirs: readonly string[] = []): Promise<SchemaList> {
    return (await this.loaded()).addPaths(paths, includeDirs);
  }

  async add(files: unknown): Promise<SchemaList> {
    checkSchemaFiles(files);
    return (await this.loaded()).addFiles(files);
  }

  /**
   * Asks the server a captured call went to for the schema of the call's service, with the
   * call's own `authorization` (a server that guards its methods often guards reflection too).
   */
  async reflect(id: unknown): Promise<SchemaList> {
    checkExchangeId(id);
    const request = await this.host.archive.requestOf(id);
    if (!request) throw new CommandError(`exchange ${id} is not in the capture`, 'bad-request');
    const call = rpcCallOf(request);
    if (!call) throw new CommandError(`exchange ${id} is not a gRPC, gRPC-Web or Connect call`, 'bad-request');
    const target = new URL(request.url);
    const authorization = headerValue(request.headers, 'authorization');
    const { fetchSchemaByReflection } = await import('../schema/reflection-client.js');
    const { descriptorSet, version } = await fetchSchemaByReflection({
      target: target.origin,
      service: call.service,
      trust: this.host.trust(),
      ...(authorization === undefined ? {} : { metadata: { authorization } }),
    });
    return (await this.loaded()).add('reflection', `${target.host} (reflection ${version})`, descriptorSet);
  }

  async remove(sourceId: unknown): Promise<SchemaList> {
    checkSchemaSourceId(sourceId);
    return (await this.loaded()).remove(sourceId);
  }

  private loaded(): Promise<SchemaBook> {
    this.loading ??= import('../schema/schema-book.js').then(({ SchemaBook }) => {
      const book = new SchemaBook((revision) => {
        this.host.changed(book.rpcSchema);
        this.host.emit({ type: 'schemas-changed', t: now(), revision });
      });
      this.book = book;
      return book;
    });
    return this.loading;
  }
}
