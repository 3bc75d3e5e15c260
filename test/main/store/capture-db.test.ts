import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { describe, expect, it } from 'vitest';
import { BODY_PART_BYTES, CaptureDb } from '../../../main/store/capture-db.js';
import type { ExchangeRow } from '../../../main/store/store-rows.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { exchangeRow, patternBytes } from './rows.js';

const { freshDir, defer } = useCleanup();

async function openDb(
  options: { temporary: boolean; kept: boolean } = { temporary: true, kept: false },
): Promise<{ db: CaptureDb; path: string }> {
  const path = join(await freshDir(), 'capture.sqlite');
  const db = CaptureDb.open(path, options);
  defer(async () => {
    try {
      db.close();
    } catch {
      // Closed by the test.
    }
  });
  return { db, path };
}

/** Puts rows as the store does: each batch's generations follow the last. */
function putAll(db: CaptureDb, rows: readonly ExchangeRow[], firstGeneration = 1): void {
  db.putRows(firstGeneration, rows, new Set(rows.map((row) => row.id)));
}

describe('CaptureDb', () => {
  it('pages rows by id, whatever order they were put in, up to a generation', async () => {
    const { db } = await openDb();
    // Generations 1, 2, 3 for ids 3, 1, 2.
    putAll(db, [exchangeRow(3), exchangeRow(1), exchangeRow(2)]);

    const all = db.page({ afterId: 0, upTo: 3, maxRows: 10, maxBytes: 1 << 20 });
    expect(all.map((row) => row.id)).toEqual([1, 2, 3]);
    expect(all[0]!.eventsJson).toBe(exchangeRow(1).eventsJson);

    const upTo2 = db.page({ afterId: 0, upTo: 2, maxRows: 10, maxBytes: 1 << 20 });
    expect(upTo2.map((row) => row.id)).toEqual([1, 3]);
    expect(db.page({ afterId: 1, upTo: 3, maxRows: 1, maxBytes: 1 << 20 }).map((row) => row.id)).toEqual([2]);
    expect(db.page({ afterId: 3, upTo: 3, maxRows: 10, maxBytes: 1 << 20 })).toEqual([]);
    expect(db.maxGeneration()).toBe(3);
    expect([...db.ids()]).toEqual([1, 2, 3]);
  });

  it('a row put again moves to its new generation and keeps its place by id', async () => {
    const { db } = await openDb();
    putAll(db, [exchangeRow(1), exchangeRow(2)]);
    putAll(db, [exchangeRow(1, { eventsJson: '["again"]' })], 3);
    expect(db.page({ afterId: 0, upTo: 2, maxRows: 10, maxBytes: 1 << 20 }).map((row) => row.id)).toEqual([2]);
    expect(db.page({ afterId: 0, upTo: 3, maxRows: 10, maxBytes: 1 << 20 })).toEqual([
      { id: 1, eventsJson: '["again"]' },
      { id: 2, eventsJson: exchangeRow(2).eventsJson },
    ]);
  });

  it('stops a page once maxBytes of events are collected, with at least one row', async () => {
    const { db } = await openDb();
    const events = (id: number): string => JSON.stringify(['x'.repeat(94), id % 10]); // 100 characters
    putAll(
      db,
      Array.from({ length: 200 }, (_, index) => exchangeRow(index + 1, { eventsJson: events(index + 1) })),
    );
    expect(events(1)).toHaveLength(100);

    expect(db.page({ afterId: 0, upTo: 200, maxRows: 100, maxBytes: 250 }).map((row) => row.id)).toEqual([1, 2, 3]);
    expect(db.page({ afterId: 0, upTo: 200, maxRows: 100, maxBytes: 300 }).map((row) => row.id)).toEqual([1, 2, 3]);
    expect(db.page({ afterId: 10, upTo: 200, maxRows: 100, maxBytes: 1 }).map((row) => row.id)).toEqual([11]);
    // More rows than one query fetches: the page carries on from where the last query stopped.
    const long = db.page({ afterId: 0, upTo: 200, maxRows: 150, maxBytes: 1 << 20 });
    expect(long.map((row) => row.id)).toEqual(Array.from({ length: 150 }, (_, index) => index + 1));
    const bounded = db.page({ afterId: 0, upTo: 200, maxRows: 1000, maxBytes: 10_000 });
    expect(bounded).toHaveLength(100);
  });

  it("pages a row's short form for a replay where it has one, its every event otherwise", async () => {
    const { db } = await openDb();
    const short = JSON.stringify([{ type: 'exchange-opened', id: 1, t: 1 }]);
    putAll(db, [exchangeRow(1, { replayJson: short }), exchangeRow(2)]);
    const page = (options: { short?: boolean }) =>
      db.page({ afterId: 0, upTo: 2, maxRows: 10, maxBytes: 1 << 20, ...options }).map((row) => row.eventsJson);
    expect(page({ short: true })).toEqual([short, exchangeRow(2).eventsJson]);
    expect(page({})).toEqual([exchangeRow(1).eventsJson, exchangeRow(2).eventsJson]);
  });

  it('opens a capture kept by an earlier Sluice, whose table has no short forms, and adds the column', async () => {
    const path = join(await freshDir(), 'capture.sqlite');
    const old = new sqlite.Database(path);
    old.exec('PRAGMA journal_mode = WAL');
    old.exec(`CREATE TABLE exchanges (id INTEGER PRIMARY KEY, gen INTEGER NOT NULL, opened_at REAL NOT NULL,
      method TEXT NOT NULL, url TEXT NOT NULL, status INTEGER, messages_not_kept INTEGER NOT NULL,
      request_headers TEXT NOT NULL, response_headers TEXT, events TEXT NOT NULL)`);
    old.run("INSERT INTO exchanges VALUES (1, 1, 0, 'GET', 'http://old.test/', 200, 0, '[]', NULL, ?)", [
      exchangeRow(1).eventsJson,
    ]);
    old.close();

    const db = CaptureDb.open(path, { temporary: false, kept: true });
    defer(async () => db.close());
    const short = JSON.stringify([{ type: 'exchange-opened', id: 2, t: 2 }]);
    putAll(db, [exchangeRow(2, { replayJson: short })], 2);
    const rows = db.page({ afterId: 0, upTo: 2, maxRows: 10, maxBytes: 1 << 20, short: true });
    expect(rows.map((row) => row.eventsJson)).toEqual([exchangeRow(1).eventsJson, short]);
  });

  it('keeps headers exactly (case, order, repeats) and the count of messages not kept', async () => {
    const { db } = await openDb();
    const requestHeaders = [
      ['Host', 'a.test'],
      ['x-Dup', '1'],
      ['X-Dup', '2 ünïcode'],
    ] as const;
    putAll(db, [
      exchangeRow(1, { requestHeaders, responseHeaders: undefined, messagesNotKept: 7, status: undefined }),
      exchangeRow(2),
    ]);
    expect(db.headers(1, 'request')).toEqual(requestHeaders);
    expect(db.headers(1, 'response')).toBeUndefined();
    expect(db.headers(2, 'response')).toEqual([['Content-Type', 'text/event-stream']]);
    expect(db.headers(9, 'request')).toBeUndefined();
    expect(db.messagesNotKept(1)).toBe(7);
    expect(db.messagesNotKept(2)).toBe(0);
    expect(db.messagesNotKept(9)).toBe(0);
  });

  it('reads any range of a body, across the parts it is stored in', async () => {
    const { db } = await openDb();
    const length = 2 * BODY_PART_BYTES + 1234;
    const response = patternBytes(length);
    const request = new TextEncoder().encode('{"prompt":"hi"}');
    putAll(db, [
      exchangeRow(1, {
        bodies: {
          request: { bytes: request, captured: request.length },
          response: { bytes: response, captured: length },
        },
      }),
    ]);

    const whole = db.readBody(1, 'response', 0, undefined)!;
    expect(whole.captured).toBe(length);
    expect(whole.limited).toBeUndefined();
    expect(Buffer.from(whole.bytes).equals(Buffer.from(response))).toBe(true);
    expect(Buffer.from(db.readBody(1, 'request', 0, undefined)!.bytes).toString()).toBe('{"prompt":"hi"}');

    const ranges: [number, number | undefined][] = [
      [0, 10],
      [BODY_PART_BYTES - 5, BODY_PART_BYTES + 5],
      [BODY_PART_BYTES, 2 * BODY_PART_BYTES],
      [10, 2 * BODY_PART_BYTES + 100],
      [2 * BODY_PART_BYTES + 1000, undefined],
      [length - 3, length + 500],
    ];
    for (const [start, end] of ranges) {
      const range = db.readBody(1, 'response', start, end)!;
      expect(Buffer.from(range.bytes).equals(Buffer.from(response.subarray(start, end))), `${start}..${end}`).toBe(
        true,
      );
    }
    expect(db.readBody(1, 'response', 50, 50)!.bytes).toHaveLength(0);
    expect(db.readBody(1, 'response', length + 10, undefined)!.bytes).toHaveLength(0);
  });

  it('says how much was captured and why capture stopped, and tells a missing body from an empty one', async () => {
    const { db } = await openDb();
    putAll(db, [
      exchangeRow(1, {
        bodies: {
          request: { bytes: new Uint8Array(0), captured: 0 },
          response: { bytes: patternBytes(100), captured: 100, limited: 'body-cap' },
        },
      }),
      exchangeRow(2, { bodies: { response: { bytes: patternBytes(10), captured: 10, limited: 'total-cap' } } }),
    ]);
    expect(db.readBody(1, 'response', 0, undefined)).toMatchObject({ captured: 100, limited: 'body-cap' });
    expect(db.readBody(1, 'request', 0, undefined)).toEqual({
      bytes: new Uint8Array(0),
      captured: 0,
      limited: undefined,
    });
    expect(db.readBody(2, 'response', 2, 4)).toEqual({
      bytes: patternBytes(10).subarray(2, 4),
      captured: 10,
      limited: 'total-cap',
    });
    expect(db.readBody(2, 'request', 0, undefined)).toBeUndefined();
    expect(db.readBody(3, 'response', 0, undefined)).toBeUndefined();
  });

  it('replacing an exchange replaces its bodies, leaving no parts of the old ones', async () => {
    const { db } = await openDb();
    const big = patternBytes(3 * BODY_PART_BYTES);
    putAll(db, [exchangeRow(1, { bodies: { response: { bytes: big, captured: big.length } } })]);
    putAll(db, [exchangeRow(1, { bodies: { request: { bytes: patternBytes(5), captured: 5 } } })], 2);
    expect(db.readBody(1, 'response', 0, undefined)).toBeUndefined();
    expect(db.readBody(1, 'request', 0, undefined)!.bytes).toEqual(patternBytes(5));
  });

  it('removes exchanges with their bodies, saying which were stored, and clears', async () => {
    const { db } = await openDb();
    putAll(
      db,
      [1, 2, 3].map((id) => exchangeRow(id, { bodies: { response: { bytes: patternBytes(id), captured: id } } })),
    );
    expect(db.remove([2, 5, 3])).toEqual([2, 3]);
    expect([...db.ids()]).toEqual([1]);
    expect(db.readBody(2, 'response', 0, undefined)).toBeUndefined();
    expect(db.readBody(1, 'response', 0, undefined)!.bytes).toEqual(patternBytes(1));
    db.clear();
    expect([...db.ids()]).toEqual([]);
    expect(db.readBody(1, 'response', 0, undefined)).toBeUndefined();
    expect(db.page({ afterId: 0, upTo: 10, maxRows: 10, maxBytes: 100 })).toEqual([]);
  });

  it('a failed batch writes none of its rows', async () => {
    const { db } = await openDb();
    const bad = exchangeRow(2, { method: null as unknown as string });
    expect(() => putAll(db, [exchangeRow(1), bad])).toThrow(/NOT NULL/);
    expect([...db.ids()]).toEqual([]);
    putAll(db, [exchangeRow(3)]);
    expect([...db.ids()]).toEqual([3]);
  });

  it('refuses a path it cannot create, naming the path and the reason', async () => {
    const dir = await freshDir();
    writeFileSync(join(dir, 'file'), 'not a folder');
    const path = join(dir, 'file', 'capture.sqlite');
    expect(() => CaptureDb.open(path, { temporary: true, kept: false })).toThrow(
      `Cannot open the capture store at ${path}: ENOTDIR: not a directory`,
    );
    const missing = join(dir, 'missing', 'capture.sqlite');
    expect(() => CaptureDb.open(missing, { temporary: false, kept: false })).toThrow(
      new RegExp(`^Cannot open the capture store at ${missing}: ENOENT`),
    );
  });

  it.skipIf(process.getuid?.() === 0)('refuses a folder it may not write to', async () => {
    const dir = await freshDir();
    mkdirSync(join(dir, 'locked'), { mode: 0o500 });
    const path = join(dir, 'locked', 'capture.sqlite');
    expect(() => CaptureDb.open(path, { temporary: true, kept: false })).toThrow(
      new RegExp(`^Cannot open the capture store at ${path}: EACCES`),
    );
  });

  it('refuses a kept file that is not a database', async () => {
    const dir = await freshDir();
    const path = join(dir, 'capture.sqlite');
    writeFileSync(path, 'x'.repeat(4096));
    expect(() => CaptureDb.open(path, { temporary: false, kept: true })).toThrow(
      new RegExp(`^Cannot open the capture store at ${path}: .*not a database`),
    );
  });

  it('a kept capture survives a close and a reopen; a temporary one leaves no files', async () => {
    const { db, path } = await openDb({ temporary: false, kept: true });
    putAll(db, [exchangeRow(1, { bodies: { response: { bytes: patternBytes(9), captured: 9 } } }), exchangeRow(4)]);
    db.close();
    const again = CaptureDb.open(path, { temporary: false, kept: true });
    expect([...again.ids()]).toEqual([1, 4]);
    expect(again.maxGeneration()).toBe(2);
    expect(again.readBody(1, 'response', 0, undefined)!.bytes).toEqual(patternBytes(9));
    again.close();

    // Plain SQLite reads it too (in exclusive mode, as a WAL file without shared memory needs),
    // and the events are TEXT (bound as UTF-8 bytes, cast by SQLite).
    const plain = new sqlite.Database(path);
    plain.exec('PRAGMA locking_mode = EXCLUSIVE');
    expect(plain.all('SELECT typeof(events) AS t, typeof(url) AS u FROM exchanges')).toEqual([
      { t: 'text', u: 'text' },
      { t: 'text', u: 'text' },
    ]);
    plain.close();

    // Opened temporary, the leftover starts empty, and closing removes every file.
    const temporary = CaptureDb.open(path, { temporary: true, kept: false });
    expect([...temporary.ids()]).toEqual([]);
    putAll(temporary, [exchangeRow(1)]);
    temporary.close();
    expect(readdirSync(join(path, '..'))).toEqual([]);
  });

  it('writes a kept capture through a write-ahead log, one that is not kept with its journal in memory', async () => {
    const dir = await freshDir();
    const path = join(dir, 'capture.sqlite');
    const siblings = (): string[] => readdirSync(dir).filter((name) => name !== 'capture.sqlite.lock');
    // What a crash leaves: the files as they are on disk while the database is open.
    const crashCopy = (): string => {
      const copy = join(dir, 'copy');
      mkdirSync(copy, { recursive: true });
      for (const name of siblings()) if (name !== 'copy') cpSync(join(dir, name), join(copy, name));
      return join(copy, 'capture.sqlite');
    };

    const db = CaptureDb.open(path, { temporary: false, kept: false });
    putAll(db, [exchangeRow(1)]);
    expect(siblings()).toEqual(['capture.sqlite']);

    db.keep(true);
    putAll(db, [exchangeRow(2)], 2);
    expect(siblings().sort()).toEqual(['capture.sqlite', 'capture.sqlite-wal']);
    const copied = CaptureDb.open(crashCopy(), { temporary: false, kept: true });
    expect([...copied.ids()]).toEqual([1, 2]);
    copied.close();
    rmSync(join(dir, 'copy'), { recursive: true });

    db.keep(false);
    putAll(db, [exchangeRow(3)], 3);
    expect(siblings()).toEqual(['capture.sqlite']);
    expect([...db.ids()]).toEqual([1, 2, 3]);
    db.close();

    // Not kept, the next run starts empty, even over a file a crash left unreadable.
    writeFileSync(path, 'x'.repeat(4096));
    const next = CaptureDb.open(path, { temporary: false, kept: false });
    expect([...next.ids()]).toEqual([]);
    putAll(next, [exchangeRow(4)]);
    expect([...next.ids()]).toEqual([4]);
    next.close();

    expect(() => CaptureDb.open(path, { temporary: true, kept: true })).toThrow(
      `Cannot open the capture store at ${path}: a temporary capture cannot be kept`,
    );
    const temporary = CaptureDb.open(path, { temporary: true, kept: false });
    expect(() => temporary.keep(true)).toThrow(`The capture store at ${path} is temporary and cannot be kept`);
    temporary.close();
  });

  it('writes a kept capture back from its log while it is read between writes, so the log stays bounded', async () => {
    const { db, path } = await openDb({ temporary: false, kept: true });
    const body = patternBytes(40_000);
    for (let batch = 0; batch < 30; batch++) {
      const rows = Array.from({ length: 20 }, (_, i) =>
        exchangeRow(batch * 20 + i + 1, { bodies: { response: { bytes: body, captured: body.length } } }),
      );
      db.putRows(batch * 20 + 1, rows, new Set());
      // Each kind of single-row read, as the UI asks while traffic is stored.
      db.headers(1, 'request');
      db.request(1);
      db.messagesNotKept(1);
      db.readBody(1, 'response', 0, 10);
    }
    // 24 MB written: past SQLite's automatic checkpoint (1,000 pages), the log is copied into the file.
    expect(statSync(`${path}-wal`).size).toBeLessThan(20 << 20);
    expect(statSync(path).size).toBeGreaterThan(10 << 20);
    expect(db.readBody(600, 'response', 0, undefined)!.bytes).toEqual(body);
  });

  it('takes over the lock of a process that died with the file open, not of one that runs', async () => {
    const { db, path } = await openDb({ temporary: false, kept: true });
    expect(() => CaptureDb.open(path, { temporary: false, kept: true })).toThrow(/it is already open in this process/);
    db.close();

    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    mkdirSync(`${path}.lock`);
    writeFileSync(`${path}.lock/pid`, String(gone));
    const reopened = CaptureDb.open(path, { temporary: false, kept: true });
    reopened.close();

    // One that died and was never reaped (a zombie) holds nothing either (Linux tells).
    if (process.platform === 'linux') {
      const zombie = await unreapedChild();
      mkdirSync(`${path}.lock`);
      writeFileSync(`${path}.lock/pid`, String(zombie));
      CaptureDb.open(path, { temporary: false, kept: true }).close();
    }

    mkdirSync(`${path}.lock`);
    writeFileSync(`${path}.lock/pid`, String(process.ppid));
    expect(() => CaptureDb.open(path, { temporary: false, kept: false })).toThrow(
      `Cannot open the capture store at ${path}: it is in use by process ${process.ppid}`,
    );
  });
});

/**
 * The pid of a process that has exited and is not reaped: the shell's background child, whose
 * parent becomes `sleep` (which never waits for children) once the shell execs it. The child
 * lives 0.5 s, so it ends after the exec: one that ended before could be reaped by the shell
 * (a CI run lost it that way). Bounded: it is ready within 5 s or the test fails; `sleep` ends on
 * its own.
 */
async function unreapedChild(): Promise<number> {
  const parent = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 6'], { stdio: ['ignore', 'pipe', 'ignore'] });
  defer(async () => {
    parent.kill('SIGKILL');
  });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    parent.once('error', reject);
  });
  for (let i = 0; i < 250; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`process ${pid} did not become a zombie within 5 s`);
}
