import type { SseEvent } from '../../app/proxy-events.js';

const FIELDS = 4;

/**
 * One stream's Server-Sent Events as the log keeps them while the exchange is open: index, read
 * time and chunk range in one growing Float64Array, the texts in arrays (the event name and id
 * only once a stream has one). An event object with its chunk range costs about 250 bytes beside
 * its data; a stream left open keeps up to the log's message cap, so this is a third of it. Events
 * are rebuilt when the log is replayed.
 */
export class SseColumns {
  private numbers = new Float64Array(FIELDS * 4);
  private readonly data: string[] = [];
  private names: (string | undefined)[] | undefined;
  private ids: (string | undefined)[] | undefined;

  constructor(readonly id: number) {}

  /** Keeps `event`; returns its position, which `at` takes. */
  push(event: SseEvent): number {
    const i = this.data.length;
    if ((i + 1) * FIELDS > this.numbers.length) {
      const grown = new Float64Array(this.numbers.length * 2);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    const at = i * FIELDS;
    this.numbers[at] = event.index;
    this.numbers[at + 1] = event.t;
    this.numbers[at + 2] = event.chunkRange[0];
    this.numbers[at + 3] = event.chunkRange[1];
    this.data.push(event.data);
    if (event.event !== undefined || this.names) (this.names ??= [])[i] = event.event;
    if (event.eventId !== undefined || this.ids) (this.ids ??= [])[i] = event.eventId;
    return i;
  }

  at(i: number): SseEvent {
    const at = i * FIELDS;
    const n = this.numbers;
    return {
      type: 'sse-event',
      id: this.id,
      index: n[at]!,
      eventId: this.ids?.[i],
      event: this.names?.[i],
      data: this.data[i]!,
      t: n[at + 1]!,
      chunkRange: [n[at + 2]!, n[at + 3]!],
    };
  }
}
