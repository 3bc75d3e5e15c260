import type { ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Writable } from 'node:stream';

/** One block written over and over: generating the body must cost the upstream next to nothing. */
const BLOCK = Buffer.alloc(64 * 1024, 'sluice-bench-payload-0123456789\n');

export type Framing = 'length' | 'chunked';

/** What the filler is written to: an HTTP/1.1 response or request, or an HTTP/2 stream. */
type FillerSink = Pick<Writable, 'write' | 'end' | 'once' | 'destroyed'>;

/**
 * Answers with `totalBytes` of filler, Content-Length framed or chunked. Writes until the socket
 * says its buffer is full, then waits for `drain`, so the upstream never queues more than one
 * buffer's worth however slowly the other end reads.
 */
export function sendFiller(res: ServerResponse, totalBytes: number, framing: Framing): void {
  const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream' };
  if (framing === 'length') headers['Content-Length'] = totalBytes;
  res.writeHead(200, headers);
  writeFiller(res, totalBytes);
}

/**
 * The same on an HTTP/2 stream, which has no chunked framing: `content-length` is sent or not.
 * `write()` returns false once the stream's flow-control window and buffer are full, so the
 * same loop respects the peer's windows.
 */
export function sendFillerOnStream(stream: ServerHttp2Stream, totalBytes: number, framing: Framing): void {
  const headers: Record<string, string | number> = { ':status': 200, 'content-type': 'application/octet-stream' };
  if (framing === 'length') headers['content-length'] = totalBytes;
  stream.respond(headers);
  writeFiller(stream, totalBytes);
}

export function writeFiller(sink: FillerSink, totalBytes: number): void {
  let sent = 0;
  const writeUntilFull = (): void => {
    while (sent < totalBytes && !sink.destroyed) {
      const size = Math.min(BLOCK.length, totalBytes - sent);
      sent += size;
      if (!sink.write(size === BLOCK.length ? BLOCK : BLOCK.subarray(0, size))) {
        sink.once('drain', writeUntilFull);
        return;
      }
    }
    if (!sink.destroyed) sink.end();
  };
  writeUntilFull();
}

/** Reads `?bytes=N&framing=length|chunked` from a request path. */
export function parseFillerRequest(path: string): { bytes: number; framing: Framing } | undefined {
  const url = new URL(path, 'http://bench.invalid');
  const bytes = Number(url.searchParams.get('bytes'));
  const framing = url.searchParams.get('framing');
  if (url.pathname !== '/filler' || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
  if (framing !== 'length' && framing !== 'chunked') return undefined;
  return { bytes, framing };
}

export function fillerPath(bytes: number, framing: Framing): string {
  return `/filler?bytes=${bytes}&framing=${framing}`;
}

/** Where an upload goes: POSTed there, a body is read to its end and its size answered as text. */
export const SINK_PATH = '/sink';

/** The head fields of an upload of `bytes` framed as `framing` (without a length, Node sends it chunked). */
export function uploadHeaders(bytes: number, framing: Framing): Record<string, string | number> {
  return {
    'content-type': 'application/octet-stream',
    ...(framing === 'length' ? { 'content-length': bytes } : {}),
  };
}
