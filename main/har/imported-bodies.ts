import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureLimitReason, Direction } from '../../app/proxy-events.js';
import {
  BodyCapture,
  CaptureBudget,
  DEFAULT_CAPTURE,
  type CaptureOptions,
  type CapturedRange,
} from '../../proxy-core/index.js';

/** Why and where the store stopped keeping a body (the per-body cap, the disk budget). */
export interface BodyLimit {
  readonly reason: CaptureLimitReason;
  readonly atOffset: number;
}

/** Pieces a body is appended in, so no single copy is larger than this on its way to disk. */
const PIECE = 1 << 20;

/**
 * Bodies read from HAR files, kept like captured ones (`BodyCapture`: memory first, then a
 * private spill file, past the caps nothing but a flag) so a 500 MB import does not sit in
 * memory, and read back through the same `body.read`. Keyed by the ids the host gave the
 * imported exchanges, which never collide with the proxy's.
 */
export class ImportedBodies {
  private readonly bodies = new Map<number, Partial<Record<Direction, BodyCapture>>>();
  private budget: Promise<CaptureBudget> | undefined;
  /** The private folder made for spill files, removed on close; none when one was given. */
  private ownSpillDir: string | undefined;

  constructor(private readonly options: Partial<CaptureOptions> = {}) {}

  /**
   * Keeps one body; returns why it was cut short, if it was. The whole body is appended at once,
   * so the spill backlog may hold all of it (it is in memory already, as the parsed entry).
   */
  async store(id: number, direction: Direction, bytes: Buffer): Promise<BodyLimit | undefined> {
    const budget = await (this.budget ??= this.makeBudget());
    const record = this.bodies.get(id) ?? {};
    this.bodies.set(id, record);
    let limited: BodyLimit | undefined;
    const capture = new BodyCapture(budget, `${id}-${direction}.bin`, (reason, atOffset) => {
      limited = { reason, atOffset };
    });
    record[direction] = capture;
    for (let at = 0; at < bytes.length && limited === undefined; at += PIECE)
      capture.append(bytes.subarray(at, at + PIECE));
    // Complete: a spilled body's file is closed, so a big import holds no descriptor per body.
    capture.finish();
    return limited;
  }

  /** Marks an imported exchange as ours even when it has no body, so reads answer "empty". */
  note(id: number): void {
    if (!this.bodies.has(id)) this.bodies.set(id, {});
  }

  read(id: number, direction: Direction, start?: number, end?: number): Promise<CapturedRange | undefined> {
    const record = this.bodies.get(id);
    if (!record) return Promise.resolve(undefined);
    // An imported exchange without this body reads as empty, as a captured one does.
    return (
      record[direction]?.read(start, end) ??
      Promise.resolve({ bytes: Buffer.alloc(0), captured: 0, limited: undefined })
    );
  }

  /** A body copied now when it is all in memory (`BodyCapture.copyHeld`); as `read` for one not imported. */
  readHeld(id: number, direction: Direction, max: number): CapturedRange | 'elsewhere' | undefined {
    const record = this.bodies.get(id);
    if (!record) return undefined;
    return record[direction]?.copyHeld(max) ?? { bytes: Buffer.alloc(0), captured: 0, limited: undefined };
  }

  forget(ids: Iterable<number>): void {
    for (const id of ids) {
      const record = this.bodies.get(id);
      if (!record) continue;
      record.request?.dispose();
      record.response?.dispose();
      this.bodies.delete(id);
    }
  }

  clear(): void {
    this.forget([...this.bodies.keys()]);
  }

  async close(): Promise<void> {
    this.clear();
    if (this.ownSpillDir) await rm(this.ownSpillDir, { recursive: true, force: true });
  }

  private async makeBudget(): Promise<CaptureBudget> {
    const spillDir = this.options.spillDir ?? (this.ownSpillDir = await mkdtemp(join(tmpdir(), 'sluice-import-')));
    const options = { ...DEFAULT_CAPTURE, ...this.options };
    // A body is appended whole, faster than any disk: let the backlog hold one body at the cap.
    return new CaptureBudget(
      { ...options, maxSpillBacklogBytes: Math.max(options.maxSpillBacklogBytes, options.maxBytesPerBody + PIECE) },
      spillDir,
    );
  }
}
