import { closeSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import './wasm-baseline-tier.js';
import sqlite from 'node-sqlite3-wasm';
import type { BindValues, Database, QueryResult, Statement } from 'node-sqlite3-wasm';
import {
  BODY_CUT_REASONS,
  type CaptureLimitReason,
  type Direction,
  type RawHeaders,
  type RequestHead,
} from '../../app/proxy-events.js';
import type { BodyRange, ExchangeRow, PageQuery, StoredBody, StoredPageRow } from './store-rows.js';
import { errorMessage } from '../../app/error-message.js';

/**
 * Bodies are stored in parts of this size. A blob is read and written whole inside SQLite's WASM
 * heap, which grows to fit and never shrinks; parts keep that bounded (a 64 MiB body would
 * otherwise leave the heap 64 MiB larger for good) and let a range read touch only its parts.
 */
export const BODY_PART_BYTES = 256 * 1024;

/** Page cache, in KiB (SQLite's negative `cache_size`). */
const CACHE_KIB = 8000;

/**
 * Page size of a new file. Rows of a few KiB and 256 KiB body parts: with 4 KiB pages a batch of
 * 100 small exchanges dirtied ~50 pages, each a file call (two in WAL, plus its checkpoint copy).
 * Writing a batch cost 28% less CPU with 16 KiB pages in WAL, about the same in memory-journal
 * mode; a page of rows for a replay reads faster, a random body read ~20% slower (44 µs).
 */
const PAGE_BYTES = 16384;

/** Rows fetched per query while a page collects up to `maxBytes`. */
const PAGE_CHUNK_ROWS = 64;

const DIRECTION_CODE: Record<Direction, number> = { request: 0, response: 1 };

function isLimitReason(value: unknown): value is CaptureLimitReason {
  return (BODY_CUT_REASONS as ReadonlySet<unknown>).has(value);
}

// Small columns first: SQLite reads a row's columns in order, and a long `events` text spills into
// overflow pages that a list query over the summary columns should never have to walk.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS exchanges (
  id INTEGER PRIMARY KEY,
  gen INTEGER NOT NULL,
  opened_at REAL NOT NULL,
  method TEXT NOT NULL,
  url TEXT NOT NULL,
  status INTEGER,
  messages_not_kept INTEGER NOT NULL,
  request_headers TEXT NOT NULL,
  response_headers TEXT,
  replay TEXT,
  events TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bodies (
  exchange_id INTEGER NOT NULL,
  direction INTEGER NOT NULL,
  part INTEGER NOT NULL,
  captured INTEGER NOT NULL,
  limited TEXT,
  bytes BLOB NOT NULL,
  PRIMARY KEY (exchange_id, direction, part)
);
`;

interface Statements {
  readonly insertExchange: Statement;
  readonly deleteExchange: Statement;
  readonly insertPart: Statement;
  readonly deleteBodies: Statement;
  readonly pageRows: Statement;
  readonly pageRowsShort: Statement;
  readonly requestHeaders: Statement;
  readonly request: Statement;
  readonly responseHeaders: Statement;
  readonly messagesNotKept: Statement;
  readonly bodyInfo: Statement;
  readonly bodyParts: Statement;
}

/**
 * The capture's SQLite database, synchronous. The store's worker thread runs it, and so does the
 * store's inline mode, so its tests cover what the worker runs.
 *
 * node-sqlite3-wasm's file system layer has no shared memory, so WAL needs exclusive locking mode
 * (the WAL index then lives in this process's heap): one connection, this one, for the file's
 * whole life. Its lock is a `<path>.lock` folder, which a crash leaves behind; `open` removes it
 * when the process that made it is gone (its pid is kept in the folder).
 */
export class CaptureDb {
  private constructor(
    readonly path: string,
    private readonly temporary: boolean,
    private readonly db: Database,
    private statements: Statements,
  ) {}

  /**
   * Opens (creating) the file; throws an Error naming the path and the reason when it cannot.
   * `temporary`: the files are deleted on close. `kept`: what the file holds is read, and it is
   * written crash-safe (see `keep`); otherwise it starts empty.
   */
  static open(path: string, options: { readonly temporary: boolean; readonly kept: boolean }): CaptureDb {
    const fail = (reason: string): Error => new Error(`Cannot open the capture store at ${path}: ${reason}`);
    if (options.temporary && options.kept) throw fail('a temporary capture cannot be kept');
    releaseStaleLock(path, fail);
    try {
      // A capture that is not kept is nobody's once its run ended, even one a crash left
      // unreadable: start empty. Only after the lock check: another Sluice may be using the file.
      if (!options.kept) removeFiles(path);
      // SQLite's own message does not say why; Node's does (EACCES, ENOENT, EISDIR, ...).
      closeSync(openSync(path, 'a', 0o600));
    } catch (error) {
      throw fail(errorMessage(error));
    }
    let db: Database;
    try {
      db = new sqlite.Database(path);
    } catch (error) {
      throw fail(errorMessage(error));
    }
    try {
      db.exec(`PRAGMA page_size = ${PAGE_BYTES}`);
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      setJournal(db, options.kept);
      // A capture is not a ledger: losing the last moments of one to a power cut is fine, and
      // not waiting for the disk on every commit is what keeps writes cheap.
      db.exec('PRAGMA synchronous = OFF');
      db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      db.exec('PRAGMA journal_size_limit = 67108864');
      db.exec(SCHEMA);
      addMissingColumns(db);
      writeFileSync(lockOwnerFile(path), String(process.pid));
      return new CaptureDb(path, options.temporary, db, prepare(db));
    } catch (error) {
      closeQuietly(db, path);
      throw fail(errorMessage(error));
    }
  }

  /**
   * Whether the capture is to outlast this run. Kept, it is written through a write-ahead log,
   * so a crash leaves it readable; otherwise through a rollback journal in memory, which undoes
   * a failed transaction (a full disk) while the process lives but not a crash in the middle of
   * one: a file nobody will read again, and per batch of small exchanges 30-40% less CPU than
   * WAL (no second copy of each page and no checkpoint that copies it back).
   */
  keep(kept: boolean): void {
    if (this.temporary && kept) throw new Error(`The capture store at ${this.path} is temporary and cannot be kept`);
    this.guard(() => setJournal(this.db, kept));
  }

  /** Every stored id, ascending. */
  ids(): Float64Array {
    const rows = this.db.all('SELECT id FROM exchanges ORDER BY id');
    const ids = new Float64Array(rows.length);
    rows.forEach((row, index) => (ids[index] = Number(row['id'])));
    return ids;
  }

  /** The highest generation stored, 0 when empty. */
  maxGeneration(): number {
    return Number(this.db.get('SELECT coalesce(max(gen), 0) AS gen FROM exchanges')?.['gen'] ?? 0);
  }

  /**
   * Writes the rows in one transaction, row i with generation `firstGeneration + i`; a row
   * replaces one with the same id. `replacing` holds ids that may already be stored, whose old
   * bodies must go first (the client knows, so new rows skip that delete).
   */
  putRows(firstGeneration: number, rows: readonly ExchangeRow[], replacing: ReadonlySet<number>): void {
    const s = this.statements;
    this.transaction(() => {
      rows.forEach((row, index) => {
        s.insertExchange.run([
          row.id,
          firstGeneration + index,
          row.openedAt,
          row.method,
          utf8(row.url),
          row.status ?? null,
          row.messagesNotKept,
          utf8(JSON.stringify(row.requestHeaders)),
          row.responseHeaders === undefined ? null : utf8(JSON.stringify(row.responseHeaders)),
          row.replayJson === undefined ? null : utf8(row.replayJson),
          utf8(row.eventsJson),
        ]);
        if (replacing.has(row.id)) s.deleteBodies.run([row.id]);
        if (row.bodies.request !== undefined) this.insertBody(row.id, 'request', row.bodies.request);
        if (row.bodies.response !== undefined) this.insertBody(row.id, 'response', row.bodies.response);
      });
    });
  }

  /** Rows with id > afterId and generation ≤ upTo, by id, up to maxRows or once maxBytes are collected. */
  page(query: PageQuery): StoredPageRow[] {
    return this.guard(() => this.collectPage(query));
  }

  private collectPage(query: PageQuery): StoredPageRow[] {
    const rows: StoredPageRow[] = [];
    let collected = 0;
    let afterId = query.afterId;
    while (rows.length < query.maxRows && (rows.length === 0 || collected < query.maxBytes)) {
      const limit = Math.min(query.maxRows - rows.length, PAGE_CHUNK_ROWS);
      const statement = query.short === true ? this.statements.pageRowsShort : this.statements.pageRows;
      const chunk = statement.all([afterId, query.upTo, limit]);
      for (const row of chunk) {
        const eventsJson = String(row['events']);
        rows.push({ id: Number(row['id']), eventsJson });
        collected += eventsJson.length;
        if (collected >= query.maxBytes) return rows;
      }
      if (chunk.length < limit) break;
      afterId = rows[rows.length - 1]!.id;
    }
    return rows;
  }

  headers(id: number, direction: Direction): RawHeaders | undefined {
    const statement = direction === 'request' ? this.statements.requestHeaders : this.statements.responseHeaders;
    const text = this.guard(() => onlyRow(statement, [id])?.['headers']);
    return typeof text === 'string' ? (JSON.parse(text) as RawHeaders) : undefined;
  }

  /** A stored exchange's request head; undefined when it is not stored. */
  request(id: number): RequestHead | undefined {
    const row = this.guard(() => onlyRow(this.statements.request, [id]));
    if (!row) return undefined;
    const { method, url, headers } = row as { method: string; url: string; headers: string };
    // The version is not a column: what a stored request is asked for (where it went, its fields) needs none.
    return { method, url, httpVersion: '', headers: JSON.parse(headers) as RawHeaders };
  }

  /** 0 when the exchange is not stored. */
  messagesNotKept(id: number): number {
    return Number(this.guard(() => onlyRow(this.statements.messagesNotKept, [id])?.['n'] ?? 0));
  }

  /** Bytes [start, end) of a body (to its end when `end` is undefined); undefined when not stored. */
  readBody(id: number, direction: Direction, start: number, end: number | undefined): BodyRange | undefined {
    return this.guard(() => this.readRange(id, direction, start, end));
  }

  private readRange(id: number, direction: Direction, start: number, end: number | undefined): BodyRange | undefined {
    const code = DIRECTION_CODE[direction];
    const info = onlyRow(this.statements.bodyInfo, [id, code]);
    if (info === undefined) return undefined;
    const captured = Number(info['captured']);
    const limited = isLimitReason(info['limited']) ? info['limited'] : undefined;
    const from = Math.max(0, Math.floor(start));
    const to = end === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(end);
    if (to <= from) return { bytes: new Uint8Array(0), captured, limited };
    const pieces = this.statements.bodyParts
      .all([from, to, id, code, Math.floor(from / BODY_PART_BYTES), Math.floor((to - 1) / BODY_PART_BYTES)])
      .map((row) => row['piece'])
      .filter((piece): piece is Uint8Array => piece instanceof Uint8Array);
    return { bytes: joinPieces(pieces), captured, limited };
  }

  /** Removes these exchanges and their bodies; returns the ids that were stored. */
  remove(ids: readonly number[]): number[] {
    const removed: number[] = [];
    this.transaction(() => {
      for (const id of ids) {
        if (this.statements.deleteExchange.run([id]).changes > 0) removed.push(id);
        this.statements.deleteBodies.run([id]);
      }
    });
    return removed;
  }

  clear(): void {
    this.transaction(() => {
      this.db.exec('DELETE FROM exchanges; DELETE FROM bodies;');
    });
  }

  /** Closes the database; a temporary one's files are then deleted. */
  close(): void {
    finalizeAll(this.statements);
    try {
      rmSync(lockOwnerFile(this.path), { force: true });
    } finally {
      this.db.close();
      if (this.temporary) removeFiles(this.path);
    }
  }

  private insertBody(id: number, direction: Direction, body: StoredBody): void {
    const code = DIRECTION_CODE[direction];
    const limited = body.limited ?? null;
    const bytes = body.bytes;
    let part = 0;
    do {
      const piece = bytes.subarray(part * BODY_PART_BYTES, (part + 1) * BODY_PART_BYTES);
      this.statements.insertPart.run([id, code, part, body.captured, limited, piece]);
      part += 1;
    } while (part * BODY_PART_BYTES < bytes.length);
  }

  private transaction(work: () => void): void {
    this.guard(() => {
      this.db.exec('BEGIN');
      try {
        work();
        this.db.exec('COMMIT');
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /**
   * Runs work with the prepared statements. A statement whose step failed keeps that error and
   * node-sqlite3-wasm refuses to bind it again, so after a failure every statement is made anew.
   */
  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      finalizeAll(this.statements);
      this.statements = prepare(this.db);
      throw error;
    }
  }
}

/**
 * Columns a file made by an earlier Sluice lacks (a kept capture). Added last, behind `events`,
 * which only costs reads of them the overflow pages a long `events` spills into.
 */
function addMissingColumns(db: Database): void {
  const columns = new Set(db.all('PRAGMA table_info(exchanges)').map((row) => String(row['name'])));
  if (!columns.has('replay')) db.exec('ALTER TABLE exchanges ADD COLUMN replay TEXT');
}

function prepare(db: Database): Statements {
  const part = BODY_PART_BYTES;
  return {
    insertExchange: db.prepare(
      `INSERT OR REPLACE INTO exchanges
         (id, gen, opened_at, method, url, status, messages_not_kept, request_headers, response_headers, replay, events)
       VALUES (?, ?, ?, ?, CAST(? AS TEXT), ?, ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))`,
    ),
    deleteExchange: db.prepare('DELETE FROM exchanges WHERE id = ?'),
    insertPart: db.prepare(
      'INSERT OR REPLACE INTO bodies (exchange_id, direction, part, captured, limited, bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteBodies: db.prepare('DELETE FROM bodies WHERE exchange_id = ?'),
    pageRows: db.prepare('SELECT id, events FROM exchanges WHERE id > ? AND gen <= ? ORDER BY id LIMIT ?'),
    pageRowsShort: db.prepare(
      'SELECT id, coalesce(replay, events) AS events FROM exchanges WHERE id > ? AND gen <= ? ORDER BY id LIMIT ?',
    ),
    requestHeaders: db.prepare('SELECT request_headers AS headers FROM exchanges WHERE id = ?'),
    request: db.prepare('SELECT method, url, request_headers AS headers FROM exchanges WHERE id = ?'),
    responseHeaders: db.prepare('SELECT response_headers AS headers FROM exchanges WHERE id = ?'),
    messagesNotKept: db.prepare('SELECT messages_not_kept AS n FROM exchanges WHERE id = ?'),
    bodyInfo: db.prepare('SELECT captured, limited FROM bodies WHERE exchange_id = ? AND direction = ? AND part = 0'),
    // ?1, ?2: the range [start, end) in the body; each part cuts its own share with substr (1-based).
    bodyParts: db.prepare(
      `SELECT substr(bytes, max(?1 - part * ${part}, 0) + 1,
                     min(?2 - part * ${part}, ${part}) - max(?1 - part * ${part}, 0)) AS piece
         FROM bodies
        WHERE exchange_id = ?3 AND direction = ?4 AND part BETWEEN ?5 AND ?6
        ORDER BY part`,
    ),
  };
}

/** Finalizes every statement; finalizing one whose last step failed reports that failure again. */
function finalizeAll(statements: Statements): void {
  for (const statement of Object.values(statements)) {
    try {
      statement.finalize();
    } catch {
      // Finalized all the same.
    }
  }
}

/**
 * Text as UTF-8 bytes, bound as a blob and cast to TEXT by SQLite: node-sqlite3-wasm copies a
 * string into its heap one character at a time in JavaScript, a blob with one native copy, and
 * Node's encoder is native too. For rows of a few hundred bytes this halves the cost of a write.
 */
function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** One buffer of its own (so it can be transferred whole), from pieces that each own theirs. */
function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return joined;
}

/**
 * The row a statement matches (these match at most one), stepping it to its end: node-sqlite3-wasm's
 * `get` leaves a statement stepped, which keeps a read open until the statement's next use, and in
 * WAL mode no checkpoint gets past an open read: the log grew by every batch written while the
 * database file stayed empty (200 MB after 200 MB of rows, one `headers` read between batches).
 */
function onlyRow(statement: Statement, values: BindValues): QueryResult | undefined {
  return statement.all(values)[0];
}

/**
 * node-sqlite3-wasm's file layer has no shared memory, so WAL works only in exclusive locking
 * mode (set first): asked for without it, the mode silently stays as it was.
 */
function setJournal(db: Database, kept: boolean): void {
  const wanted = kept ? 'wal' : 'memory';
  const mode = db.get(`PRAGMA journal_mode = ${wanted}`)?.['journal_mode'];
  if (mode !== wanted) throw new Error(`journal_mode is ${String(mode)}, not ${wanted}`);
}

function lockDir(path: string): string {
  return `${path}.lock`;
}

function lockOwnerFile(path: string): string {
  return `${lockDir(path)}/pid`;
}

/**
 * node-sqlite3-wasm locks a database by making `<path>.lock` and removes it on close; a process
 * that died with the file open leaves it, and every later open would find the file busy. A lock
 * whose owner (the pid we write into it) is no longer running is removed; one whose owner is,
 * refuses the open.
 */
function releaseStaleLock(path: string, fail: (reason: string) => Error): void {
  let owner: number;
  try {
    owner = Number(readFileSync(lockOwnerFile(path), 'utf8'));
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) {
      // No owner file: either no lock, or one made by someone else just now. Leave it to SQLite.
      return;
    }
    throw fail(errorMessage(error));
  }
  if (Number.isSafeInteger(owner) && owner > 0 && isRunning(owner)) {
    throw fail(
      owner === process.pid
        ? 'it is already open in this process'
        : `it is in use by process ${owner} (if that is not Sluice, remove ${lockDir(path)})`,
    );
  }
  rmSync(lockDir(path), { recursive: true, force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return isCode(error, 'EPERM');
  }
  return !isZombie(pid);
}

/**
 * A process that died and whose parent has not reaped it (an init that does not reap, a
 * supervisor that is busy) still answers signal 0, but holds nothing. Linux says so in
 * `/proc/<pid>/stat`; elsewhere the signal's answer stands.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself hold spaces and parentheses: the state follows the last ')'.
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
}

function removeFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      unlinkSync(file);
    } catch (error) {
      if (!isCode(error, 'ENOENT')) throw error;
    }
  }
}

function closeQuietly(db: Database, path: string): void {
  try {
    rmSync(lockOwnerFile(path), { force: true });
    if (db.isOpen) db.close();
  } catch {
    // Already failing with a better message.
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
