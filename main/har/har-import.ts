import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BODY_CUT_REASONS, type Direction, type ProxyEvent } from '../../app/proxy-events.js';
import { now } from '../../proxy-core/index.js';
import { entryToExchange, EntrySkipped, type ImportedExchange } from './entry-to-events.js';
import { isObject } from './har-fields.js';
import type { BodyLimit, ImportedBodies } from './imported-bodies.js';
import { JsonStreamParser, JsonSyntaxError } from './json-stream.js';

/** Where imported exchanges go: fresh ids, the host's event stream, a body store. */
export interface HarImportTarget {
  nextId(): number;
  emit(event: ProxyEvent): void;
  readonly bodies: ImportedBodies;
}

export interface HarImportProgress {
  readonly bytesRead: number;
  /** The file's size when known (a file path, an upload with a length). */
  readonly totalBytes: number | undefined;
  readonly entries: number;
}

export interface HarImportOptions {
  readonly totalBytes?: number | undefined;
  /** Said in messages: the file's name. */
  readonly name?: string | undefined;
  /** Called at most every PROGRESS_MS while reading, and once at the end. */
  readonly onProgress?: ((progress: HarImportProgress) => void) | undefined;
}

/** An entry that was imported in part or not at all, by its 0-based index in `log.entries`. */
export interface EntryIssue {
  readonly index: number;
  readonly message: string;
}

export interface HarImportResult {
  /** Entries imported as exchanges. */
  readonly entries: number;
  readonly ids: readonly number[];
  /** Entries that could not become an exchange (not an object, no request). */
  readonly skipped: readonly EntryIssue[];
  /** Entries imported without some part (a body that was not valid base64, ...). */
  readonly warnings: readonly EntryIssue[];
}

/** The file as a whole could not be read as HAR. Entries read before the problem stay imported. */
export class HarImportError extends Error {
  constructor(
    message: string,
    readonly entries: number,
  ) {
    super(message);
    this.name = 'HarImportError';
  }
}

const PROGRESS_MS = 100;
/** Work done between turns of the event loop, so a huge import never stalls the host. */
const SLICE_MS = 15;

/**
 * Reads a HAR document from `source` and hands each entry to `target` as the events the core
 * would have emitted for it, with its bodies stored for `body.read`. Entries are parsed as they
 * stream in (`json-stream.ts`): memory holds one entry at a time, and the event loop gets a turn
 * at least every SLICE_MS. Relative times are kept: the first entry is placed at the host's "now"
 * and every other one as far from it as in the file.
 */
export async function importHar(
  source: Readable,
  target: HarImportTarget,
  options: HarImportOptions = {},
): Promise<HarImportResult> {
  const importer = new Importer(target, options);
  return importer.run(source);
}

class Importer {
  private readonly pending: { item: unknown; index: number; writer: string | undefined }[] = [];
  private readonly parser = new JsonStreamParser(['log', 'entries'], (item, index) =>
    this.pending.push({ item, index, writer: this.writer() }),
  );
  private readonly ids: number[] = [];
  private readonly skipped: EntryIssue[] = [];
  private readonly warnings: EntryIssue[] = [];
  private readonly start = now();
  private firstWallTime: number | undefined;
  private lastWallTime = Date.now();
  private bytesRead = 0;
  private lastProgress = Number.NEGATIVE_INFINITY;
  private sliceStart = now();

  constructor(
    private readonly target: HarImportTarget,
    private readonly options: HarImportOptions,
  ) {}

  async run(source: Readable): Promise<HarImportResult> {
    const decoder = new TextDecoder('utf-8');
    let started = false;
    try {
      for await (const chunk of source as AsyncIterable<Buffer | string>) {
        const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
        this.bytesRead += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        if (!started && text.trim() !== '') {
          started = true;
          // A HAR is an object; anything else would be assembled whole before we could say so.
          const first = text.trimStart()[0];
          if (first !== '{' && first !== '\uFEFF') this.refuse(`it starts with ${JSON.stringify(first)}, not '{'`);
        }
        this.parse(() => this.parser.write(text));
        await this.drain();
        this.progress(false);
      }
      const tail = decoder.decode();
      this.parse(() => {
        if (tail) this.parser.write(tail);
      });
      const document = this.parse(() => this.parser.end());
      await this.drain();
      if (!isObject(document) || !isObject(document.log) || !Array.isArray(document.log.entries)) {
        this.refuse(
          isObject(document) && isObject(document.log) ? 'log.entries is not a list' : 'it has no log object',
        );
      }
    } catch (err) {
      if (err instanceof HarImportError) throw err;
      throw new HarImportError(`${this.label()}cannot be read: ${(err as Error).message}`, this.ids.length);
    } finally {
      this.progress(true);
    }
    return { entries: this.ids.length, ids: this.ids, skipped: this.skipped, warnings: this.warnings };
  }

  /** Runs a parser step, turning a syntax error into words about the file. */
  private parse<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      const count = this.ids.length + this.pending.length;
      if (count === 0) this.refuse(err.message);
      throw new HarImportError(
        `${this.label()}is damaged: ${err.message}; the ${count} entries before it were imported`,
        count,
      );
    }
  }

  private refuse(why: string): never {
    throw new HarImportError(`${this.label()}is not a HAR file: ${why}`, this.ids.length);
  }

  private label(): string {
    return this.options.name ? `${this.options.name} ` : 'the file ';
  }

  /** Imports the entries parsed so far, yielding to the event loop between slices. */
  private async drain(): Promise<void> {
    for (let next = this.pending.shift(); next; next = this.pending.shift()) {
      await this.importEntry(next.item, next.index, next.writer);
      if (now() - this.sliceStart > SLICE_MS) {
        this.progress(false);
        await nextTurn();
        this.sliceStart = now();
      }
    }
  }

  /** `log.creator.name`, when the file gave it before the entry being handed over. */
  private writer(): string | undefined {
    const creator = this.parser.openObject(['log'])?.creator;
    return isObject(creator) && typeof creator.name === 'string' ? creator.name : undefined;
  }

  private async importEntry(item: unknown, index: number, writer: string | undefined): Promise<void> {
    const id = this.target.nextId();
    let exchange: ImportedExchange;
    try {
      exchange = entryToExchange(item, {
        id,
        monotonic: (wallTime) => this.start + (wallTime - (this.firstWallTime ??= wallTime)),
        fallbackWallTime: this.lastWallTime,
        writer,
        fileName: this.options.name,
      });
    } catch (err) {
      if (!(err instanceof EntrySkipped)) throw err;
      this.skipped.push({ index, message: `entry ${index} skipped: it ${err.message}` });
      return;
    }
    this.lastWallTime = exchange.wallTime;
    for (const message of exchange.warnings) this.warnings.push({ index, message: `entry ${index}: ${message}` });
    const limits = await this.storeBodies(id, exchange);
    const { closed } = exchange;
    for (const event of exchange.events) this.target.emit(event);
    for (const [direction, { reason, atOffset }] of limits) {
      this.target.emit({ type: 'capture-limited', id, direction, t: closed.t, reason, atOffset });
    }
    this.target.emit(closed);
    this.ids.push(id);
  }

  /** Stores the bodies; returns those the store cut short (the per-body cap, the disk budget). */
  private async storeBodies(id: number, exchange: ImportedExchange): Promise<[Direction, BodyLimit][]> {
    this.target.bodies.note(id);
    const limits: [Direction, BodyLimit][] = [];
    // A body marked cut in the file says so already; a note that its framing gave way does not.
    const already = new Set(
      exchange.events.flatMap((e) =>
        e.type === 'capture-limited' && BODY_CUT_REASONS.has(e.reason) ? [e.direction] : [],
      ),
    );
    for (const direction of ['request', 'response'] as const) {
      const bytes = exchange.bodies[direction];
      if (!bytes) continue;
      const limited = await this.target.bodies.store(id, direction, bytes);
      if (limited && !already.has(direction)) limits.push([direction, limited]);
    }
    return limits;
  }

  private progress(done: boolean): void {
    const time = now();
    if (!done && time - this.lastProgress < PROGRESS_MS) return;
    this.lastProgress = time;
    this.options.onProgress?.({
      bytesRead: this.bytesRead,
      totalBytes: this.options.totalBytes,
      entries: this.ids.length,
    });
  }
}
