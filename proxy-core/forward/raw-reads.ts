import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { readBuffers } from '../read-buffers.js';

/** A socket's first reads are this small, so thousands of quiet streams cost little. */
const MIN_READ_BYTES = 16 * 1024;
/** Reads grow to this on a busy socket: a tenth of the syscalls and callbacks of Node's 64 KiB. */
const MAX_READ_BYTES = 512 * 1024;

/** Who takes a socket's bytes while a response is read raw. */
export interface RawReader {
  /** `piece` is a view on `buffer`, valid until this returns unless `buffer` is held. */
  onBytes(piece: Buffer, buffer: Buffer): void;
}

/**
 * The reading side of one upstream socket made with Node's `onread`: bytes land in a buffer of
 * ours, sized to the traffic (doubling on full reads). With a reader attached they go to it
 * untouched; without one (a request Node's client parses, an upgraded connection) they are
 * copied and emitted as `data`, as Node would have.
 */
class SocketReads {
  socket: net.Socket | undefined;
  reader: RawReader | undefined;
  private buffer = readBuffers.take(MIN_READ_BYTES);
  private filled = false;

  readonly onread = {
    buffer: (): Buffer => this.nextBuffer(),
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      this.deliver(bytes, buffer as Buffer);
      return true;
    },
  };

  attach(reader: RawReader): void {
    this.reader = reader;
  }

  /** The response is over: the socket goes back to small reads while it waits for the next. */
  detach(): void {
    this.reader = undefined;
  }

  dispose(): void {
    this.reader = undefined;
    readBuffers.giveBack(this.buffer);
  }

  private deliver(bytes: number, buffer: Buffer): void {
    this.filled = bytes === buffer.length;
    const piece = buffer.subarray(0, bytes);
    if (this.reader) this.reader.onBytes(piece, buffer);
    else this.socket?.emit('data', Buffer.from(piece));
  }

  private nextBuffer(): Buffer {
    const size = this.reader
      ? this.filled
        ? Math.min(this.buffer.length * 2, MAX_READ_BYTES)
        : this.buffer.length
      : MIN_READ_BYTES;
    if (size !== this.buffer.length || readBuffers.held(this.buffer)) {
      readBuffers.giveBack(this.buffer);
      this.buffer = readBuffers.take(size);
    }
    return this.buffer;
  }
}

const socketReads = new WeakMap<Duplex, SocketReads>();

/** Makes `socket`'s bytes go to `reader` until detached; false for a socket not made for it. */
export function attachRawReader(socket: Duplex, reader: RawReader): boolean {
  const reads = socketReads.get(socket);
  if (!reads || reads.reader) return false;
  reads.attach(reader);
  return true;
}

export function detachRawReader(socket: Duplex, reader: RawReader): void {
  const reads = socketReads.get(socket);
  if (reads?.reader === reader) reads.detach();
}

/** A plain TCP connection whose reads can be taken raw (see SocketReads). */
export function connectWithRawReads(options: net.NetConnectOpts): net.Socket {
  const reads = new SocketReads();
  const socket = net.createConnection({ ...options, onread: reads.onread } as net.NetConnectOpts);
  reads.socket = socket;
  socketReads.set(socket, reads);
  socket.once('close', () => reads.dispose());
  return socket;
}

/** An HTTP agent whose connections can be read raw. */
export class RawReadAgent extends http.Agent {
  // Node's agent hands the returned socket to the request itself; the callback is for sockets
  // made asynchronously.
  override createConnection(options: http.ClientRequestArgs): net.Socket {
    return connectWithRawReads(options as net.NetConnectOpts);
  }
}
