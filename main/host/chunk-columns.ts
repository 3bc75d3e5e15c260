import type { ChunkEvent, Direction } from '../../app/proxy-events.js';
import { mergeChunks } from '../../app/proxy-events.js';

const FIELDS = 6;
/** Bodies with this many chunks or fewer keep the events themselves: a typed array costs more. */
const FEW = 8;

/**
 * One body's chunk events as the log keeps them. A body with a few chunks (most of them) keeps
 * the event objects; past that they move into one growing Float64Array (offset, size, index,
 * readAt, flushedAt, reads): 48 bytes a chunk instead of an object of well over a hundred, which matters
 * when a log holds hundreds of thousands. Events are rebuilt when the log is replayed.
 */
export class ChunkColumns {
  private few: ChunkEvent[] | undefined = [];
  private data: Float64Array | undefined;
  length = 0;

  constructor(
    readonly id: number,
    readonly direction: Direction,
  ) {}

  push(chunk: ChunkEvent): void {
    if (this.few && this.few.length < FEW) {
      this.few.push(chunk);
      this.length++;
      return;
    }
    if (this.few) this.toColumns();
    if ((this.length + 1) * FIELDS > this.data!.length) {
      const grown = new Float64Array(this.data!.length * 2);
      grown.set(this.data!);
      this.data = grown;
    }
    this.write(this.length, chunk);
    this.length++;
  }

  /** Folds `chunk` into the last one kept, which it must follow: byte range exact, read time of the first. */
  mergeIntoLast(chunk: ChunkEvent): boolean {
    if (this.length === 0) return false;
    const last = this.at(this.length - 1);
    if (last.offset + last.size !== chunk.offset) return false;
    const merged = mergeChunks(last, chunk);
    if (this.few) this.few[this.length - 1] = merged;
    else this.write(this.length - 1, merged);
    return true;
  }

  at(i: number): ChunkEvent {
    if (this.few) return this.few[i]!;
    const at = i * FIELDS;
    const d = this.data!;
    return {
      type: 'chunk',
      id: this.id,
      direction: this.direction,
      offset: d[at]!,
      size: d[at + 1]!,
      index: d[at + 2]!,
      readAt: d[at + 3]!,
      flushedAt: d[at + 4]!,
      ...(d[at + 5]! > 1 ? { reads: d[at + 5]! } : {}),
    };
  }

  private toColumns(): void {
    const few = this.few!;
    this.few = undefined;
    this.data = new Float64Array(FIELDS * FEW * 4);
    few.forEach((chunk, i) => this.write(i, chunk));
  }

  private write(i: number, chunk: ChunkEvent): void {
    const at = i * FIELDS;
    const d = this.data!;
    d[at] = chunk.offset;
    d[at + 1] = chunk.size;
    d[at + 2] = chunk.index;
    d[at + 3] = chunk.readAt;
    d[at + 4] = chunk.flushedAt;
    d[at + 5] = chunk.reads ?? 1;
  }
}
