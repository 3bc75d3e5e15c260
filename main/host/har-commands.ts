import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { HarImportReply, HostEvent, HostNoticeEvent } from '../../app/contract.js';
import { errorMessage } from '../../app/error-message.js';
import { now } from '../../proxy-core/index.js';
import { writeHarFile } from '../har/har-file.js';
import { importHar, type EntryIssue } from '../har/har-import.js';
import type { ImportedBodies } from '../har/imported-bodies.js';
import { writeHar, type HarExportOptions, type HarExportResult, type HarSource } from '../har/har-writer.js';
import { CommandError } from './request-checks.js';

/** Issues named one by one in an import's notice; past this only their number is given. */
const NOTICE_ISSUES = 20;

/** What the HAR commands need of the host. */
export interface HarHost {
  /** The kept exchanges and their bodies, decoded, for an export. */
  readonly source: HarSource;
  /** Where imported bodies are kept. */
  readonly bodies: ImportedBodies;
  /** The first id of an imported exchange (past those a kept capture already holds). */
  readonly firstImportedId: number;
  readonly emit: (event: HostEvent) => void;
  readonly notice: (level: HostNoticeEvent['level'], message: string) => void;
}

/** An import's outcome, with the ids its exchanges were given (for `--mock`, which serves them). */
export interface ImportedHar extends HarImportReply {
  readonly ids: readonly number[];
}

/** HAR export (to a stream or a file) and import (from a stream or a file) of the host's capture. */
export class HarCommands {
  private imports = 0;
  private nextImportedId: number;

  constructor(private readonly host: HarHost) {
    this.nextImportedId = host.firstImportedId;
  }

  /**
   * Writes the kept exchanges (or `options.ids`) as HAR 1.2 to `out`, one entry at a time,
   * waiting for `drain`; exchanges still open are written as far as they got. Does not end `out`.
   */
  writeHar(out: Writable, options: HarExportOptions = {}): Promise<HarExportResult> {
    return writeHar(out, this.host.source, options);
  }

  /** As `writeHar`, to a file that appears only once complete. */
  writeHarFile(path: string, options: HarExportOptions = {}): Promise<HarExportResult> {
    return writeHarFile(path, this.host.source, options);
  }

  /**
   * Imports a HAR document as ordinary exchanges with fresh ids (from IMPORTED_ID_BASE): every
   * view shows them as it shows captured ones, and their bodies read through `body.read`.
   * Progress goes to subscribers as `har-import-progress`; entries that could not be imported
   * (and parts left out) are named in one `host-notice`. Rejects with words saying what is wrong
   * with the file and where; entries read before the problem stay imported.
   */
  async importHar(
    source: Readable,
    options: { readonly totalBytes?: number | undefined; readonly name?: string | undefined } = {},
  ): Promise<ImportedHar> {
    const importId = ++this.imports;
    const ids: number[] = [];
    const emit = (event: HostEvent): void => {
      if (event.type === 'exchange-opened') ids.push(event.id);
      this.host.emit(event);
    };
    const progress = (bytesRead: number, entries: number, done: boolean, error?: string): void =>
      this.host.emit({
        type: 'har-import-progress',
        t: now(),
        importId,
        bytesRead,
        ...(options.totalBytes !== undefined ? { totalBytes: options.totalBytes } : {}),
        entries,
        done,
        ...(error !== undefined ? { error } : {}),
      });
    let last = { bytesRead: 0, entries: 0 };
    try {
      const result = await importHar(
        source,
        { nextId: () => this.nextImportedId++, emit, bodies: this.host.bodies },
        {
          ...options,
          onProgress: (p) => {
            last = p;
            progress(p.bytesRead, p.entries, false);
          },
        },
      );
      const issues = [...result.skipped, ...result.warnings].sort((a, b) => a.index - b.index);
      if (issues.length > 0) {
        this.host.notice('warning', importNotice(options.name, issues));
      }
      progress(last.bytesRead, result.entries, true);
      return { importId, entries: result.entries, skipped: result.skipped.length, ids };
    } catch (err) {
      const message = errorMessage(err);
      this.host.notice('error', message);
      progress(last.bytesRead, last.entries, true, message);
      throw err;
    }
  }

  /** `importHar` from a file the host can read. */
  async importHarFile(path: string): Promise<ImportedHar> {
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a file');
      size = info.size;
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CommandError(`cannot open ${path}: ${why}`, 'bad-request');
    }
    return this.importHar(createReadStream(path), { totalBytes: size, name: basename(path) });
  }

  /** The desktop app's export, to a path checked already. */
  async exportHarFile(path: string, options: HarExportOptions): Promise<{ path: string; entries: number }> {
    const result = await this.writeHarFile(path, options);
    return { path, entries: result.entries };
  }
}

function importNotice(name: string | undefined, issues: readonly EntryIssue[]): string {
  const named = issues.slice(0, NOTICE_ISSUES).map((issue) => issue.message);
  const more = issues.length > NOTICE_ISSUES ? `; and ${issues.length - NOTICE_ISSUES} more` : '';
  return `HAR import${name ? ` of ${name}` : ''}: ${named.join('; ')}${more}`;
}
