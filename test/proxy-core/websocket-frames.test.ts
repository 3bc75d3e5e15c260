import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ProxyEvent, WebSocketMessageEvent } from '../../app/proxy-events.js';
import { WebSocketFrameParser, type WebSocketFrameMessage } from '../../proxy-core/capture/websocket-frames.js';
import { acceptedDeflate } from '../../proxy-core/capture/websocket-inflate.js';
import { WebSocketTracker } from '../../proxy-core/capture/websocket-tracker.js';

interface FrameSpec {
  readonly opcode: number;
  readonly payload: Buffer | string;
  readonly fin?: boolean;
  readonly rsv1?: boolean;
  /** Mask with this key (client frames). */
  readonly mask?: Buffer;
  /** Force the 64-bit length form even for a short payload. */
  readonly long?: boolean;
}

/** One frame on the wire, written independently of the parser. */
function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : spec.payload;
  const first = ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | spec.opcode;
  const maskBit = spec.mask ? 0x80 : 0;
  let head: Buffer;
  if (spec.long || payload.length > 0xffff) {
    head = Buffer.alloc(10);
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  } else if (payload.length > 125) {
    head = Buffer.alloc(4);
    head[1] = maskBit | 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(2);
    head[1] = maskBit | payload.length;
  }
  head[0] = first;
  if (!spec.mask) return Buffer.concat([head, payload]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= spec.mask[i % 4]!;
  return Buffer.concat([head, spec.mask, masked]);
}

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

function parse(bytes: Buffer, options: { masked?: boolean; max?: number; compression?: boolean } = {}) {
  const messages: WebSocketFrameMessage[] = [];
  const failures: string[] = [];
  const parser = new WebSocketFrameParser(
    { maxMessageBytes: options.max ?? 1 << 20, masked: options.masked, compression: options.compression },
    (m) => messages.push(m),
    (reason) => failures.push(reason),
  );
  return { parser, messages, failures, feed: (b: Buffer) => parser.push(b), all: () => parser.push(bytes) };
}

describe('WebSocketFrameParser', () => {
  it('reads an unmasked server text frame and a masked client frame', () => {
    const server = parse(frame({ opcode: 1, payload: 'hello' }), { masked: false });
    server.all();
    expect(server.messages).toEqual([
      { opcode: 1, payload: Buffer.from('hello'), size: 5, truncated: false, compressed: false },
    ]);
    const client = parse(frame({ opcode: 1, payload: 'héllo wörld', mask: KEY }), { masked: true });
    client.all();
    expect(client.messages[0]!.payload.toString()).toBe('héllo wörld');
    expect(client.failures).toEqual([]);
  });

  it('does not change the bytes it is given when unmasking', () => {
    const bytes = frame({ opcode: 2, payload: Buffer.from([1, 2, 3, 4, 5]), mask: KEY });
    const before = Buffer.from(bytes);
    const p = parse(bytes, { masked: true });
    p.all();
    expect(bytes).toEqual(before);
    expect([...p.messages[0]!.payload]).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads 16-bit and 64-bit lengths', () => {
    const mid = Buffer.alloc(300, 7);
    const big = Buffer.alloc(70_000, 9);
    const p = parse(
      Buffer.concat([
        frame({ opcode: 2, payload: mid }),
        frame({ opcode: 2, payload: big }),
        frame({ opcode: 1, payload: 'x', long: true }),
      ]),
    );
    p.all();
    expect(p.messages.map((m) => m.size)).toEqual([300, 70_000, 1]);
    expect(p.messages[1]!.payload.equals(big)).toBe(true);
    expect(p.messages[2]!.payload.toString()).toBe('x');
  });

  it('joins fragments and reports control frames that come between them', () => {
    const p = parse(
      Buffer.concat([
        frame({ opcode: 1, payload: 'one ', fin: false, mask: KEY }),
        frame({ opcode: 9, payload: 'are you there', mask: KEY }),
        frame({ opcode: 0, payload: 'two ', fin: false, mask: KEY }),
        frame({ opcode: 10, payload: '', mask: KEY }),
        frame({ opcode: 0, payload: 'three', mask: KEY }),
        frame({ opcode: 8, payload: Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')]), mask: KEY }),
      ]),
      { masked: true },
    );
    p.all();
    expect(p.messages.map((m) => [m.opcode, m.payload.toString('latin1')])).toEqual([
      [9, 'are you there'],
      [10, ''],
      [1, 'one two three'],
      [8, '\x03\xe8bye'],
    ]);
    expect(p.failures).toEqual([]);
  });

  it('gives the same messages however the stream is split, at every byte boundary', () => {
    const stream = Buffer.concat([
      frame({ opcode: 1, payload: 'frag-a', fin: false, mask: KEY }),
      frame({ opcode: 9, payload: 'p', mask: KEY }),
      frame({ opcode: 0, payload: Buffer.alloc(200, 0x61), mask: KEY }),
      frame({ opcode: 2, payload: Buffer.from([0, 255, 1]), mask: KEY, long: true }),
      frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), mask: KEY }),
    ]);
    const whole = parse(stream, { masked: true });
    whole.all();
    expect(whole.messages).toHaveLength(4);
    for (let cut = 1; cut < stream.length; cut++) {
      const p = parse(stream, { masked: true });
      p.feed(stream.subarray(0, cut));
      p.feed(stream.subarray(cut));
      expect(p.messages).toEqual(whole.messages);
    }
    const bytewise = parse(stream, { masked: true });
    for (const byte of stream) bytewise.feed(Buffer.from([byte]));
    expect(bytewise.messages).toEqual(whole.messages);
  });

  it('keeps at most the cap of a message and marks it truncated', () => {
    const p = parse(
      Buffer.concat([
        frame({ opcode: 2, payload: Buffer.alloc(60, 1), fin: false }),
        frame({ opcode: 0, payload: Buffer.alloc(60, 2) }),
      ]),
      { max: 100 },
    );
    p.all();
    expect(p.messages[0]).toMatchObject({ size: 120, truncated: true });
    expect(p.messages[0]!.payload.length).toBe(100);
  });

  it.each([
    ['HTTP text', Buffer.from('GET / HTTP/1.1\r\n\r\n'), undefined],
    ['a reserved opcode', frame({ opcode: 3, payload: 'x' }), undefined],
    ['a continuation with nothing to continue', frame({ opcode: 0, payload: 'x' }), undefined],
    ['a fragmented control frame', frame({ opcode: 9, payload: 'x', fin: false }), undefined],
    ['an unmasked client frame', frame({ opcode: 1, payload: 'x' }), true],
    ['RSV1 with no extension', frame({ opcode: 1, payload: 'x', rsv1: true }), undefined],
  ] as const)('gives up once, without throwing, on %s', (_name, bytes, masked) => {
    const p = parse(bytes, { masked });
    expect(() => {
      p.all();
      p.feed(frame({ opcode: 1, payload: 'later', mask: KEY }));
    }).not.toThrow();
    expect(p.failures).toHaveLength(1);
    expect(p.messages).toEqual([]);
  });

  it('gives up on a new message inside a fragmented one', () => {
    const p = parse(
      Buffer.concat([frame({ opcode: 1, payload: 'a', fin: false }), frame({ opcode: 1, payload: 'b' })]),
    );
    p.all();
    expect(p.failures).toEqual(['a new message before the previous one ended']);
  });
});

describe('WebSocketTracker', () => {
  function track(extensions: string | undefined, max?: number) {
    const events: ProxyEvent[] = [];
    const limits: string[] = [];
    const tracker = new WebSocketTracker(
      1,
      extensions,
      (e) => events.push(e),
      (d) => limits.push(d),
      max,
    );
    const messages = (): WebSocketMessageEvent[] =>
      events.filter((e): e is WebSocketMessageEvent => e.type === 'websocket-message');
    return { tracker, messages, limits };
  }

  it('reports text, binary, ping and close as events with times and close codes', () => {
    const { tracker, messages } = track(undefined);
    tracker.onBytes('request', frame({ opcode: 1, payload: '{"a":1}', mask: KEY }), 10);
    tracker.onBytes('response', frame({ opcode: 2, payload: Buffer.from([0xff, 0x00]) }), 11);
    tracker.onBytes('response', frame({ opcode: 9, payload: Buffer.from([0xff]) }), 12);
    tracker.onBytes(
      'request',
      frame({ opcode: 8, payload: Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('done')]), mask: KEY }),
      13,
    );
    expect(messages()).toEqual([
      {
        type: 'websocket-message',
        id: 1,
        direction: 'request',
        index: 0,
        t: 10,
        opcode: 1,
        data: '{"a":1}',
        binary: false,
        size: 7,
      },
      {
        type: 'websocket-message',
        id: 1,
        direction: 'response',
        index: 0,
        t: 11,
        opcode: 2,
        data: '/wA=',
        binary: true,
        size: 2,
      },
      {
        type: 'websocket-message',
        id: 1,
        direction: 'response',
        index: 1,
        t: 12,
        opcode: 9,
        data: '/w==',
        binary: true,
        size: 1,
      },
      {
        type: 'websocket-message',
        id: 1,
        direction: 'request',
        index: 1,
        t: 13,
        opcode: 8,
        data: 'done',
        binary: false,
        size: 6,
        closeCode: 4000,
      },
    ]);
  });

  it('undoes permessage-deflate with context takeover across messages', () => {
    const { tracker, messages, limits } = track('permessage-deflate; client_max_window_bits=15');
    // One compressor for the whole stream, as a sender with context takeover has.
    const deflate = zlib.createDeflateRaw();
    const compress = (text: string): Promise<Buffer> =>
      new Promise((resolve) => {
        const parts: Buffer[] = [];
        const onData = (d: Buffer): number => parts.push(d);
        deflate.on('data', onData);
        deflate.write(text);
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          deflate.off('data', onData);
          const all = Buffer.concat(parts);
          resolve(all.subarray(0, all.length - 4)); // RFC 7692: the 00 00 ff ff tail is not sent
        });
      });
    const text = 'the same words again and again, '.repeat(20);
    return (async () => {
      const first = await compress(text);
      const second = await compress(text);
      expect(second.length).toBeLessThan(first.length / 2); // it refers back into the first
      tracker.onBytes('response', frame({ opcode: 1, payload: first, rsv1: true }), 1);
      tracker.onBytes('response', frame({ opcode: 1, payload: second, rsv1: true }), 2);
      expect(messages().map((m) => [m.data, m.size, m.compressed])).toEqual([
        [text, text.length, undefined],
        [text, text.length, undefined],
      ]);
      expect(limits).toEqual([]);
      deflate.close();
    })();
  });

  it('parses the extension header the server accepted', () => {
    expect(acceptedDeflate(undefined)).toBeUndefined();
    expect(acceptedDeflate('x-other')).toBeUndefined();
    expect(acceptedDeflate('permessage-deflate; server_no_context_takeover; client_max_window_bits=10')).toEqual({
      clientNoContextTakeover: false,
      serverNoContextTakeover: true,
    });
  });

  it('reports a garbled direction once and keeps the other', () => {
    const { tracker, messages, limits } = track(undefined);
    tracker.onBytes('response', Buffer.from('not a websocket'), 1);
    tracker.onBytes('response', frame({ opcode: 1, payload: 'ignored' }), 2);
    tracker.onBytes('request', frame({ opcode: 1, payload: 'fine', mask: KEY }), 3);
    expect(limits).toEqual(['response']);
    expect(messages().map((m) => m.data)).toEqual(['fine']);
  });
});
