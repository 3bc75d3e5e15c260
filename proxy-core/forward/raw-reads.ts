import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { readBuffers } from '../read-buffers.js';

/** A socket's first reads are this small, so thousands of quiet streams cost little. */
const MIN_READ_BYTES = 16 * 1024;
/** Reads grow to this on a busy socket: a tenth of the syscalls and callbacks of Node's 64 KiB. */
const MAX_READ_BYTES = 512 * 1024;
/**
 * A TLS socket hands over at most one record's plaintext per read (Node's TLSWrap reads 16 KiB
 * at a time), so a larger buffer would only hold more memory idle.
 */
const TLS_READ_BYTES = 16 * 1024;

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
  private buffer: Buffer;
  private filled = false;

  constructor(
    private readonly minBytes = MIN_READ_BYTES,
    private readonly maxBytes = MAX_READ_BYTES,
  ) {
    this.buffer = readBuffers.take(minBytes);
  }

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
        ? Math.min(this.buffer.length * 2, this.maxBytes)
        : this.buffer.length
      : this.minBytes;
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
  const reads = readsFor(false);
  const socket = net.createConnection({ ...options, onread: reads.onread } as net.NetConnectOpts);
  track(socket, reads);
  return socket;
}

/**
 * A TLS connection whose reads can be taken raw: `connect` makes it with the `onread` given
 * (tls.connect honours it when it makes the TCP connection itself).
 */
export function connectTlsWithRawReads(connect: (onread: net.OnReadOpts) => TLSSocket): TLSSocket {
  const reads = readsFor(true);
  const socket = connect(reads.onread);
  track(socket, reads);
  return socket;
}

/** Reads for a socket: a TLS socket's are one record each, never more (TLS_READ_BYTES). */
function readsFor(tls: boolean): SocketReads {
  return tls ? new SocketReads(TLS_READ_BYTES, TLS_READ_BYTES) : new SocketReads();
}

function track(socket: net.Socket, reads: SocketReads): void {
  reads.socket = socket;
  socketReads.set(socket, reads);
  socket.once('close', () => reads.dispose());
}

/** The private slots behind Node's `onread` option, or null where this Node has none such. */
interface OnreadSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}
let onreadSlots: OnreadSlots | null | undefined;

/** Found once, by name, on a socket made with `onread` (it is never connected). */
function findOnreadSlots(): OnreadSlots | null {
  if (onreadSlots !== undefined) return onreadSlots;
  const probe = new net.Socket({
    onread: { buffer: Buffer.alloc(1), callback: () => true },
  } as net.SocketConstructorOpts);
  const named = new Map(Object.getOwnPropertySymbols(probe).map((symbol) => [symbol.description, symbol]));
  probe.destroy();
  const buffer = named.get('kBuffer');
  const callback = named.get('kBufferCb');
  const generator = named.get('kBufferGen');
  onreadSlots = buffer && callback && generator ? { buffer, callback, generator } : null;
  return onreadSlots;
}

/**
 * Gives a socket made without `onread` the reads `connectWithRawReads` gives a new one. Node
 * ignores `onread` for a TLS socket made over an existing connection (tls_wrap passes
 * `onread: null` then), which is how every CONNECT tunnel's upstream is made, so its plaintext
 * came as a new 16 KiB Buffer per record: garbage that piled up by tens of MiB behind a slow
 * reader before V8 collected it, and that went through Node's HTTP parser and IncomingMessage
 * besides. Here the three slots net.Socket's constructor fills for `onread` are filled the same
 * way and the handle is told to read into our buffer, as net.js's initSocketHandle does. Returns
 * false, leaving the socket as it was, where this Node lacks those slots or the socket already
 * holds unread bytes. An HTTP/2 socket must not be adopted: its session reads the native handle.
 */
export function adoptRawReads(socket: net.Socket): boolean {
  if (socketReads.has(socket)) return true;
  const slots = findOnreadSlots();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null })._handle;
  if (!slots || typeof handle?.useUserBuffer !== 'function' || socket.readableLength > 0) return false;
  const reads = readsFor(isTls(socket));
  const first = reads.onread.buffer();
  const slotted = socket as unknown as Record<symbol, unknown>;
  slotted[slots.buffer] = first;
  slotted[slots.callback] = reads.onread.callback;
  slotted[slots.generator] = reads.onread.buffer;
  handle.useUserBuffer(first);
  track(socket, reads);
  return true;
}

function isTls(socket: net.Socket): socket is TLSSocket {
  return (socket as Partial<TLSSocket>).encrypted === true;
}

/** Whether `socket`'s reads can be taken raw. */
export function readsRaw(socket: Duplex): boolean {
  return socketReads.has(socket);
}
