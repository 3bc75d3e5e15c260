import { randomBytes } from 'node:crypto';

/**
 * The field a resend carries from Sluice's own client to its proxy, naming the exchange it sends
 * again. Taken off at the door, never forwarded or recorded; only a value with this proxy's
 * secret counts, so no other client can make an exchange claim to be a resend.
 */
export const RESEND_FIELD = 'x-sluice-resend';

/** A resend in flight: the exchange it sends again, and who waits to learn the new one's id. */
export interface ResendMark {
  readonly from: number;
  opened(id: number): void;
}

/** The resends this proxy's own client has under way, found by the field each carries. */
export class ResendMarks {
  private readonly secret = randomBytes(16).toString('hex');
  private readonly pending = new Map<string, ResendMark>();
  private count = 0;

  /** A field value for a resend of `from`; `opened` hears the new exchange's id. */
  issue(from: number, opened: (id: number) => void): { value: string; cancel: () => void } {
    const nonce = String(++this.count);
    this.pending.set(nonce, {
      from,
      opened: (id) => {
        this.pending.delete(nonce);
        opened(id);
      },
    });
    return { value: `${this.secret}.${nonce}`, cancel: () => this.pending.delete(nonce) };
  }

  /**
   * The resend a request's fields announce, with the field taken out of `rawHeaders` (Node's flat
   * array, changed in place); undefined, the fields untouched, when there is none of ours.
   */
  take(rawHeaders: string[]): ResendMark | undefined {
    if (this.pending.size === 0) return undefined;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.toLowerCase() !== RESEND_FIELD) continue;
      const [secret, nonce] = rawHeaders[i + 1]!.split('.');
      const mark = secret === this.secret && nonce !== undefined ? this.pending.get(nonce) : undefined;
      // Not ours (a client's own field of that name): an ordinary field; ours may still follow.
      if (!mark) continue;
      rawHeaders.splice(i, 2);
      return mark;
    }
    return undefined;
  }
}
