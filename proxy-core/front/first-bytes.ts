import type { Duplex } from 'node:stream';

/** What a client sent first, and whether it went away (closed or ended) before it was enough. */
export interface FirstBytes {
  readonly bytes: Buffer;
  readonly gone: boolean;
}

/**
 * Collects what a client sends first, until `enough` says it can be classified, the socket
 * ends or closes, or `timeoutMs` passes (server-first protocols never speak first). Whichever
 * way the wait ends, the socket is paused before our listener goes: a flowing socket with no
 * `data` listener would emit the next bytes to no one. The caller puts the bytes back (`unshift`).
 */
export function readFirstBytes(
  socket: Duplex,
  timeoutMs: number,
  enough: (bytes: Buffer) => boolean,
): Promise<FirstBytes> {
  return new Promise((resolve) => {
    let bytes: Buffer = Buffer.alloc(0);
    let gone = false;
    const done = (): void => {
      socket.pause();
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onGone);
      socket.off('end', onGone);
      resolve({ bytes, gone });
    };
    const onGone = (): void => {
      gone = true;
      done();
    };
    const onData = (chunk: Buffer): void => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      if (enough(bytes)) done();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', onData);
    socket.once('close', onGone);
    socket.once('end', onGone);
    socket.resume();
  });
}

/** The connection preface every HTTP/2 client sends first (RFC 9113 section 3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Whether `bytes` could still become the HTTP/2 preface: they are a prefix of it (or it, whole). */
export function mayBeH2Preface(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, H2_PREFACE.length);
  return bytes.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
}

export function isH2Preface(bytes: Buffer): boolean {
  return bytes.length >= H2_PREFACE.length && mayBeH2Preface(bytes);
}

export function looksLikeHttp1(bytes: Buffer): boolean {
  return /^[A-Z]{3,10} /.test(bytes.subarray(0, 12).toString('latin1'));
}
