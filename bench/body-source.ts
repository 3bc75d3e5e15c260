import type { ServerResponse } from 'node:http';

/** One block written over and over: generating the body must cost the upstream next to nothing. */
const BLOCK = Buffer.alloc(64 * 1024, 'sluice-bench-payload-0123456789\n');

export type Framing = 'length' | 'chunked';

/**
 * Answers with `totalBytes` of filler, Content-Length framed or chunked. Writes until the socket
 * says its buffer is full, then waits for `drain`, so the upstream never queues more than one
 * buffer's worth however slowly the other end reads.
 */
export function sendFiller(res: ServerResponse, totalBytes: number, framing: Framing): void {
  const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream' };
  if (framing === 'length') headers['Content-Length'] = totalBytes;
  res.writeHead(200, headers);
  let sent = 0;
  const writeUntilFull = (): void => {
    while (sent < totalBytes && !res.destroyed) {
      const size = Math.min(BLOCK.length, totalBytes - sent);
      sent += size;
      if (!res.write(size === BLOCK.length ? BLOCK : BLOCK.subarray(0, size))) {
        res.once('drain', writeUntilFull);
        return;
      }
    }
    if (!res.destroyed) res.end();
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
