import type { HostEvent, SchemaList } from '../../app/contract.js';
import { headerValue } from '../../app/proxy-events.js';
import { rpcCallOf } from '../../app/rpc-calls.js';
import { now } from '../../proxy-core/index.js';
import { fetchSchemaByReflection, type ReflectionOptions } from '../schema/reflection-client.js';
import { SchemaBook } from '../schema/schema-book.js';
import type { CaptureArchive } from './capture-archive.js';
import { checkExchangeId, checkSchemaFiles, checkSchemaSourceId, CommandError } from './request-checks.js';

/** What the schema commands need of the host. */
export interface SchemaHost {
  readonly archive: Pick<CaptureArchive, 'requestOf'>;
  /** The trust the proxy gives upstreams, which Sluice's own calls to them get too. */
  readonly trust: () => NonNullable<ReflectionOptions['trust']>;
  readonly emit: (event: HostEvent) => void;
  /** The loaded schemas changed: the proxy's stream rules read RPC messages with them. */
  readonly changed: (book: SchemaBook) => void;
}

/** The `schemas.*` commands: the host's SchemaBook, fed by files the page sends and by server reflection. */
export class SchemaCommands {
  readonly book: SchemaBook;

  constructor(private readonly host: SchemaHost) {
    this.book = new SchemaBook((revision) => {
      host.changed(this.book);
      host.emit({ type: 'schemas-changed', t: now(), revision });
    });
  }

  add(files: unknown): Promise<SchemaList> {
    checkSchemaFiles(files);
    return this.book.addFiles(files);
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
    const { descriptorSet, version } = await fetchSchemaByReflection({
      target: target.origin,
      service: call.service,
      trust: this.host.trust(),
      ...(authorization === undefined ? {} : { metadata: { authorization } }),
    });
    return this.book.add('reflection', `${target.host} (reflection ${version})`, descriptorSet);
  }

  remove(sourceId: unknown): SchemaList {
    checkSchemaSourceId(sourceId);
    return this.book.remove(sourceId);
  }
}
