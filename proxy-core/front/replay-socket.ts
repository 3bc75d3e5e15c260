import { Duplex } from 'node:stream';

/**
 * A socket whose first bytes were already read in JavaScript, made whole again for consumers
 * that read the socket's native handle directly and would never see bytes put back with
 * `unshift` (an HTTP/2 session does). It yields `head`, then whatever the socket reads, with
 * backpressure both ways. Used only where that happens (h2c after the preface was looked at).
 */
export class ReplaySocket extends Duplex {
  constructor(
    private readonly socket: Duplex & { remoteAddress?: string | undefined },
    head: Buffer,
  ) {
    // HTTP/2 has no half-closed connection: a peer's FIN ends both ways.
    super({ allowHalfOpen: false });
    if (head.length > 0) this.push(head);
    socket.on('data', this.onData);
    socket.once('end', () => this.push(null));
    socket.once('error', (err: Error) => this.destroy(err));
    socket.once('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  setNoDelay(): this {
    return this;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.socket.pause();
  };

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
