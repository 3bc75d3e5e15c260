import { describe, expect, it } from 'vitest';
import type { RawHeaders, ResponseHead } from '../../app/proxy-events.js';
import { ResponseParser } from '../../proxy-core/forward/h1-response-parser.js';

interface Parsed {
  heads: ResponseHead[];
  body: Buffer;
  pieces: number;
  trailers: RawHeaders | undefined;
  rest: Buffer | undefined;
  keepAlive: boolean;
}

/** Feeds `wire` in reads cut at `cuts`, through one reused buffer as the raw path does. */
function parse(wire: string | Buffer, cuts: number[] = [], headRequest = false): Parsed {
  const bytes = Buffer.isBuffer(wire) ? wire : Buffer.from(wire, 'latin1');
  const out: Parsed = {
    heads: [],
    body: Buffer.alloc(0),
    pieces: 0,
    trailers: undefined,
    rest: undefined,
    keepAlive: false,
  };
  const parts: Buffer[] = [];
  const parser = new ResponseParser(headRequest, {
    onHead: (head) => out.heads.push(head),
    onBody: (piece) => {
      parts.push(Buffer.from(piece));
      out.pieces++;
    },
    onComplete: (trailers, rest) => {
      out.trailers = trailers;
      out.rest = Buffer.from(rest);
    },
  });
  const readBuffer = Buffer.alloc(bytes.length);
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    const n = bytes.copy(readBuffer, 0, from, to);
    parser.feed(readBuffer.subarray(0, n));
    // What the parser was given is read into again: nothing it kept may depend on it.
    readBuffer.fill(0x7e);
    from = to;
  }
  out.body = Buffer.concat(parts);
  out.keepAlive = parser.keepAlive;
  return out;
}

const CHUNKED =
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: 42\r\nX-Other: b\r\n\r\n';

describe('HTTP/1.1 response framing, read raw', () => {
  it('takes the framing off a chunked body and keeps its trailers, however the reads split it', () => {
    const whole = parse(CHUNKED);
    expect(whole.heads).toEqual([
      {
        status: 200,
        statusText: 'OK',
        httpVersion: '1.1',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Transfer-Encoding', 'chunked'],
        ],
      },
    ]);
    expect(whole.body.toString()).toBe('helloabcdefghijklmnopqrstuvwxyz');
    expect(whole.trailers).toEqual([
      ['X-Checksum', '42'],
      ['X-Other', 'b'],
    ]);
    expect(whole.keepAlive).toBe(true);
    for (let cut = 1; cut < CHUNKED.length; cut++) {
      const split = parse(CHUNKED, [cut]);
      expect(split.body.toString(), `cut at ${cut}`).toBe('helloabcdefghijklmnopqrstuvwxyz');
      expect(split.trailers, `cut at ${cut}`).toEqual(whole.trailers);
    }
    const byteByByte = parse(
      CHUNKED,
      Array.from({ length: CHUNKED.length - 1 }, (_, i) => i + 1),
    );
    expect(byteByByte.body.toString()).toBe('helloabcdefghijklmnopqrstuvwxyz');
  });

  it('gives a chunked body as it came on the wire, read by read, with the pieces of it inside each span', () => {
    const interim = 'HTTP/1.1 100 Continue\r\n\r\n';
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const framedBody = '5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: 42\r\n\r\n';
    const wire = Buffer.from(`${interim}${head}${framedBody}NEXT`, 'latin1');
    for (let cut = 1; cut < wire.length; cut++) {
      const spans: string[] = [];
      let piecesOutside = 0;
      let pieces: Buffer[] = [];
      const parser = new ResponseParser(false, {
        onHead: () => undefined,
        onBody: (piece) => pieces.push(piece),
        onFramed: (span) => {
          for (const piece of pieces) {
            const at = piece.byteOffset - span.byteOffset;
            if (piece.buffer !== span.buffer || at < 0 || at + piece.length > span.length) piecesOutside++;
          }
          pieces = [];
          spans.push(span.toString('latin1'));
        },
        onComplete: () => undefined,
      });
      parser.feed(wire.subarray(0, cut));
      parser.feed(wire.subarray(cut));
      expect(spans.join(''), `cut at ${cut}`).toBe(framedBody);
      expect(spans.every((span) => span.length > 0)).toBe(true);
      expect(piecesOutside + pieces.length, `cut at ${cut}`).toBe(0);
    }
    let framed = 0;
    const plain = new ResponseParser(false, {
      onHead: () => undefined,
      onBody: () => undefined,
      onFramed: () => framed++,
      onComplete: () => undefined,
    });
    plain.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    expect(framed).toBe(0);
  });

  it('passes a Content-Length body as views on the reads, one piece per read, and says what came after', () => {
    const body = Buffer.alloc(100_000, 0x62);
    const wire = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n'),
      body,
      Buffer.from('extra'),
    ]);
    const parsed = parse(wire, [1000, 50_000]);
    expect(parsed.body.equals(body)).toBe(true);
    expect(parsed.pieces).toBe(3);
    expect(parsed.rest?.toString()).toBe('extra');
  });

  it('skips 1xx heads, and knows bodiless responses (HEAD, 204, 304) and ones the close ends', () => {
    const interim = parse('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n');
    expect(interim.heads.map((h) => h.status)).toEqual([204]);
    expect(interim.trailers).toEqual([]);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', [], true).trailers).toEqual([]);
    expect(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').trailers).toEqual([]);

    const pieces: Buffer[] = [];
    let completed = false;
    const parser = new ResponseParser(false, {
      onHead: () => undefined,
      onBody: (piece) => pieces.push(Buffer.from(piece)),
      onComplete: () => (completed = true),
    });
    parser.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    expect(completed).toBe(false);
    expect(parser.keepAlive).toBe(false);
    parser.end();
    expect(completed).toBe(true);
    expect(Buffer.concat(pieces).toString()).toBe('until the end');
  });

  it('keeps alive as HTTP/1.x says: 1.1 unless Connection: close, 1.0 only when asked', () => {
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(true);
  });

  it.each([
    ['a status line that is not HTTP/1.x', 'SSH-2.0-OpenSSH\r\n\r\n', /status line/],
    ['two different lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /Content-Length/],
    ['a folded field', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  more\r\nContent-Length: 0\r\n\r\n', /folded/],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
    ['a chunk longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n', /longer/],
    ['a head past the size limit', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}`, /larger than/],
  ])('refuses %s with a reason', (_name, wire, reason) => {
    expect(() => parse(wire)).toThrow(reason);
  });

  it('says a body the close cut short was cut', () => {
    const parser = new ResponseParser(false, {
      onHead: () => undefined,
      onBody: () => undefined,
      onComplete: () => undefined,
    });
    parser.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(() => parser.end()).toThrow(/mid-body/);
  });
});
