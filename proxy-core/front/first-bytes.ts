import type { Duplex } from 'node:stream';

/**
 * Collects what a client sends first, until `enough` says it can be classified, the socket
 * closes, or `timeoutMs` passes (server-first protocols never speak first). Whichever way the
 * wait ends, the socket is paused before our listener goes: a flowing socket with no `data`
 * listener would emit the next bytes to no one. The caller puts the bytes back (`unshift`).
 */
export function readFirstBytes(socket: Duplex, timeoutMs: number, enough: (bytes: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    let bytes: Buffer = Buffer.alloc(0);
    const done = (): void => {
      socket.pause();
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', done);
      socket.off('end', done);
      resolve(bytes);
    };
    const onData = (chunk: Buffer): void => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      if (enough(bytes)) done();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', onData);
    socket.once('close', done);
    socket.once('end', done);
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
