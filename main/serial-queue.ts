/**
 * Runs async work one piece at a time, in the order asked: each starts when the one before has
 * settled, whether it resolved or threw, and its own outcome goes to its caller alone.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Settles once everything asked so far has. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
