import zlib from 'node:zlib';

/**
 * permessage-deflate (RFC 7692) undone for display. Each message is inflated on its own,
 * synchronously, with the 0x00 0x00 0xff 0xff tail the sender stripped put back. Context takeover
 * (a message's back-references reaching into earlier messages) is handled by giving the inflater
 * the last 32 KiB of earlier output as its preset dictionary: for raw deflate that is exactly the
 * sliding window the sender's compressor still had, and 32 KiB is the largest window RFC 7692 allows.
 */

export interface DeflateParams {
  /** The client resets its compressor per message: its messages need no earlier context. */
  readonly clientNoContextTakeover: boolean;
  readonly serverNoContextTakeover: boolean;
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const WINDOW_BYTES = 32 * 1024;
/** Output past this for one message is not inflated (a deflate bomb costs CPU, and memory here). */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/** The permessage-deflate parameters the server accepted, from its `Sec-WebSocket-Extensions`. */
export function acceptedDeflate(extensions: string | undefined): DeflateParams | undefined {
  if (!extensions) return undefined;
  // The server accepts at most one offer; extensions are comma-separated, parameters `;`-separated.
  for (const extension of extensions.split(',')) {
    const [name = '', ...params] = extension.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'permessage-deflate') continue;
    const has = (wanted: string): boolean => params.some((p) => p.split('=')[0]!.trim() === wanted);
    return {
      clientNoContextTakeover: has('client_no_context_takeover'),
      serverNoContextTakeover: has('server_no_context_takeover'),
    };
  }
  return undefined;
}

/** One direction's decompressor. */
export class MessageInflater {
  private window: Buffer | undefined;
  private lost: string | undefined;

  constructor(private readonly keepsContext: boolean) {}

  /** Why messages can no longer be inflated, once they cannot. */
  get failed(): string | undefined {
    return this.lost;
  }

  /** The message's payload inflated, or undefined when it (and, with context, what follows) cannot be. */
  inflate(payload: Buffer): Buffer | undefined {
    if (this.lost) return undefined;
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(Buffer.concat([payload, TAIL]), {
        // The stream does not end with a message: flush what the message holds, as the sender did.
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
        maxOutputLength: MAX_INFLATED_BYTES,
        ...(this.keepsContext && this.window ? { dictionary: this.window } : {}),
      });
    } catch (err) {
      this.contextLost(`inflate failed: ${(err as Error).message}`);
      return undefined;
    }
    if (this.keepsContext) {
      const joined = this.window ? Buffer.concat([this.window, out]) : out;
      this.window = Buffer.from(joined.subarray(Math.max(0, joined.length - WINDOW_BYTES)));
    }
    return out;
  }

  /**
   * A compressed message was not kept whole (over the display cap): without its bytes, later
   * messages that refer back into it cannot be inflated. Without context takeover they still can.
   */
  skipped(reason: string): void {
    if (this.keepsContext) this.contextLost(reason);
  }

  private contextLost(reason: string): void {
    // Without context takeover each message stands alone, so only this one is lost.
    if (this.keepsContext) this.lost = reason;
  }
}
