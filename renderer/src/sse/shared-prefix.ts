import type { StreamEventRow } from './stream-events.js';

/** Fewer events than this share a start by chance. */
const MIN_EVENTS = 3;
/** A shared start shorter than this is not worth hiding. */
const MIN_CHARS = 16;

/**
 * Where to cut the start every event's data shares (`{"id":"chatcmpl-…","object":…,"delta":{`),
 * so the data column shows what differs. Incremental: each `sync` reads only the rows it has not
 * seen, and the shared start only ever shrinks. The cut falls after a `,` or `{`, so what shows
 * begins at a field rather than mid-word.
 */
export class SharedPrefix {
  private seen = 0;
  private prefix: string | undefined;

  sync(rows: readonly StreamEventRow[]): number {
    if (rows.length < this.seen) {
      this.seen = 0;
      this.prefix = undefined;
    }
    for (; this.seen < rows.length; this.seen++) {
      const data = rows[this.seen]!.data;
      this.prefix = this.prefix === undefined ? data : commonStart(this.prefix, data);
    }
    if (rows.length < MIN_EVENTS || this.prefix === undefined) return 0;
    const cut = Math.max(this.prefix.lastIndexOf(','), this.prefix.lastIndexOf('{')) + 1;
    return cut >= MIN_CHARS ? cut : 0;
  }
}

function commonStart(a: string, b: string): string {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i === a.length ? a : a.slice(0, i);
}
