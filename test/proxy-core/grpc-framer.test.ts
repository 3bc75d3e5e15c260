import { describe, expect, it } from 'vitest';
import { rpcFramingOf, type RpcFraming } from '../../app/rpc-calls.js';
import { RpcFramer, type RpcFrame } from '../../proxy-core/capture/grpc-framer.js';

const MAX = 64;

/** One length-prefixed frame, written independently of the framer. */
function envelope(flags: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

interface FrameSpec {
  readonly flags: number;
  readonly payload: Buffer;
  readonly expect: Partial<RpcFrame>;
}

/** A body, what its frames should be, and where in the body each decoded byte is complete. */
interface BodyCase {
  readonly framing: RpcFraming;
  readonly body: Buffer;
  readonly frames: readonly FrameSpec[];
  /** Decoded byte offset to the body offset whose arrival completes it. */
  readonly completesAt: (decodedOffset: number) => number;
}

const big = Buffer.from(Array.from({ length: 200 }, (_, i) => i & 0xff));

function messageFrames(): FrameSpec[] {
  return [
    { flags: 0, payload: Buffer.alloc(0), expect: { kind: 'message', compressed: false, truncated: false } },
    { flags: 0, payload: Buffer.from('hello'), expect: { kind: 'message', compressed: false, truncated: false } },
    { flags: 0, payload: big, expect: { kind: 'message', truncated: true, bytes: big.subarray(0, MAX) } },
    { flags: 1, payload: Buffer.from('zipped!'), expect: { kind: 'message', compressed: true, truncated: false } },
  ];
}

const trailerText = 'grpc-status: 0\r\nGrpc-Message: all%20good\r\nx-extra:  spaced value \r\n';
const trailerFrame: FrameSpec = {
  flags: 0x80,
  payload: Buffer.from(trailerText),
  expect: {
    kind: 'trailers',
    trailers: [
      ['grpc-status', '0'],
      ['grpc-message', 'all%20good'],
      ['x-extra', 'spaced value'],
    ],
  },
};
const endStreamJson = '{"error":{"code":"not_found"},"metadata":{"a":["b"]}}';

function binaryCase(framing: RpcFraming, frames: FrameSpec[]): BodyCase {
  return {
    framing,
    frames,
    body: Buffer.concat(frames.map((f) => envelope(f.flags, f.payload))),
    completesAt: (o) => o,
  };
}

/**
 * gRPC-Web text as servers write it: each frame base64-encoded on its own, so padding appears
 * mid-stream. A decoded byte is complete when the last character of its 4-character group arrives.
 */
function textCase(frames: FrameSpec[]): BodyCase {
  const pieces: Buffer[] = [];
  const completes: number[] = [];
  let textAt = 0;
  for (const f of frames) {
    const binary = envelope(f.flags, f.payload);
    const text = Buffer.from(binary.toString('base64'));
    for (let i = 0; i < binary.length; i++) completes.push(textAt + Math.floor(i / 3) * 4 + 3);
    pieces.push(text);
    textAt += text.length;
  }
  return { framing: 'grpc-web-text', frames, body: Buffer.concat(pieces), completesAt: (o) => completes[o]! };
}

const cases: BodyCase[] = [
  binaryCase('grpc', messageFrames()),
  binaryCase('grpc-web', [...messageFrames(), trailerFrame]),
  textCase([...messageFrames(), trailerFrame]),
  binaryCase('connect', [
    ...messageFrames(),
    { flags: 0x02, payload: Buffer.from(endStreamJson), expect: { kind: 'end-stream', json: endStreamJson } },
  ]),
];

/** Feeds `body` cut at `splits`, every piece through one reused buffer that is scribbled over afterwards. */
function feedThroughReusedBuffer(framer: RpcFramer, body: Buffer, splits: readonly number[]): RpcFrame[] {
  const reused = Buffer.alloc(body.length);
  const frames: RpcFrame[] = [];
  const bounds = [0, ...splits, body.length];
  for (let chunk = 0; chunk + 1 < bounds.length; chunk++) {
    const piece = body.subarray(bounds[chunk], bounds[chunk + 1]);
    piece.copy(reused);
    frames.push(...framer.feed(reused.subarray(0, piece.length), chunk, readAtOf(chunk)));
    reused.fill(0xee);
  }
  return frames;
}

const readAtOf = (chunk: number): number => 1000 + chunk * 7;

/** What the frames of `c` should be when the body is cut at `splits`. */
function expectedFrames(c: BodyCase, splits: readonly number[]): RpcFrame[] {
  const chunkOf = (bodyOffset: number): number => splits.filter((s) => s <= bodyOffset).length;
  let decodedAt = 0;
  return c.frames.map((f, index) => {
    const start = decodedAt;
    decodedAt += 5 + f.payload.length;
    const lastChunk = chunkOf(c.completesAt(decodedAt - 1));
    const frame: RpcFrame = {
      index,
      kind: 'message',
      compressed: (f.flags & 1) !== 0,
      wireBytes: f.payload.length,
      bytes: f.payload.subarray(0, MAX),
      truncated: f.payload.length > MAX,
      firstChunk: chunkOf(c.completesAt(start)),
      lastChunk,
      completedAt: readAtOf(lastChunk),
    };
    return { ...frame, ...f.expect };
  });
}

function run(c: BodyCase, splits: readonly number[]): { frames: RpcFrame[]; framer: RpcFramer } {
  const framer = new RpcFramer(c.framing, { maxMessageBytes: MAX });
  return { framer, frames: feedThroughReusedBuffer(framer, c.body, splits) };
}

describe.each(cases)('RpcFramer $framing', (c) => {
  it('reads a body fed whole: several frames in one feed', () => {
    const { frames, framer } = run(c, []);
    expect(frames).toEqual(expectedFrames(c, []));
    expect(framer.end()).toBeUndefined();
    expect(framer.stopped).toBeUndefined();
  });

  it('reads the same frames at every split point, keeping no view of the fed buffer', () => {
    for (let split = 1; split < c.body.length; split++) {
      const { frames, framer } = run(c, [split]);
      expect(frames, `split at ${split}`).toEqual(expectedFrames(c, [split]));
      expect(framer.end()).toBeUndefined();
    }
  });

  it('reads the same frames fed byte by byte', () => {
    const splits = Array.from({ length: c.body.length - 1 }, (_, i) => i + 1);
    const { frames, framer } = run(c, splits);
    expect(frames).toEqual(expectedFrames(c, splits));
    expect(framer.end()).toBeUndefined();
  });

  it('reports a message cut short at the end', () => {
    const framer = new RpcFramer(c.framing, { maxMessageBytes: MAX });
    // Cut inside the large message (frame 2): a whole number of base64 groups for the text form.
    const cut = c.framing === 'grpc-web-text' ? 40 : 30;
    expect(framer.feed(c.body.subarray(0, cut), 0, 1)).toHaveLength(2);
    expect(framer.end()).toEqual({
      index: 2,
      note: expect.stringMatching(/message 2 cut short: \d+ of its 200 bytes/),
    });
  });
});

describe('RpcFramer edges', () => {
  it('reports a prefix cut short, and a base64 group left over', () => {
    const grpc = new RpcFramer('grpc', { maxMessageBytes: MAX });
    grpc.feed(envelope(0, 'x').subarray(0, 3), 0, 0);
    expect(grpc.end()?.note).toMatch(/3 of its 5 prefix bytes/);

    const text = new RpcFramer('grpc-web-text', { maxMessageBytes: MAX });
    // An empty message (`AAAAAAA=`), then two characters of a group that never finishes.
    expect(text.feed(Buffer.from('AAAAAAA=AA'), 0, 0)).toHaveLength(1);
    expect(text.end()?.note).toMatch(/2 characters left over/);
  });

  it('decodes base64 whose padding falls mid-stream, with a remainder carried across feeds', () => {
    const one = envelope(0, 'a'); // 6 bytes: `AAAAAAFh` (no padding)
    const two = envelope(0, 'bc'); // 7 bytes: ends in `==`
    const three = envelope(0, 'def'); // 8 bytes: ends in `=`
    const text = [two, three, one].map((b) => b.toString('base64')).join('');
    expect(text).toMatch(/==.+=.+$/);
    const framer = new RpcFramer('grpc-web-text', { maxMessageBytes: MAX });
    const frames: RpcFrame[] = [];
    // Pieces of 5 characters leave 1, 2 and 3 characters over between feeds.
    for (let at = 0, chunk = 0; at < text.length; at += 5, chunk++) {
      frames.push(...framer.feed(Buffer.from(text.slice(at, at + 5)), chunk, chunk));
    }
    expect(frames.map((f) => f.bytes.toString())).toEqual(['bc', 'def', 'a']);
    expect(framer.end()).toBeUndefined();
  });

  it('keeps a Connect end-stream that is compressed as bytes only', () => {
    const framer = new RpcFramer('connect', { maxMessageBytes: MAX });
    const [frame] = framer.feed(envelope(0x03, 'gz'), 0, 0);
    expect(frame).toMatchObject({ kind: 'end-stream', compressed: true });
    expect(frame?.json).toBeUndefined();
  });
});

describe('RpcFramer stops on a frame that makes no sense', () => {
  const stops: { name: string; framing: RpcFraming; bad: Buffer; note: RegExp }[] = [
    { name: 'a gRPC flag bit other than compressed', framing: 'grpc', bad: envelope(0x80, 'x'), note: /flags 0x80/ },
    { name: 'a gRPC-Web reserved flag bit', framing: 'grpc-web', bad: envelope(0x40, 'x'), note: /bits 0x40/ },
    { name: 'a Connect flag bit past end-stream', framing: 'connect', bad: envelope(0x04, 'x'), note: /flags 0x04/ },
    {
      name: 'an absurd length',
      framing: 'grpc',
      bad: Buffer.from([0, 0xff, 0xff, 0xff, 0xff]),
      note: /declares 4294967295 bytes/,
    },
    { name: 'a length just past 64 MiB', framing: 'grpc-web', bad: prefixOnly(64 * 1024 * 1024 + 1), note: /67108865/ },
    {
      name: 'a character outside base64',
      framing: 'grpc-web-text',
      bad: Buffer.from('AAAA!AAA'),
      note: /character 16 /,
    },
    { name: 'data after a single `=`', framing: 'grpc-web-text', bad: Buffer.from('AA=A'), note: /invalid base64/ },
    { name: 'padding too early', framing: 'grpc-web-text', bad: Buffer.from('A==='), note: /invalid base64/ },
  ];

  it.each(stops)('$name', ({ framing, bad, note }) => {
    const framer = new RpcFramer(framing, { maxMessageBytes: MAX });
    const good = envelope(0, 'fine');
    const encode = (b: Buffer): Buffer => (framing === 'grpc-web-text' ? Buffer.from(b.toString('base64')) : b);
    // A good frame before the bad one, in the same feed, is still returned.
    const sameFeed = framing === 'grpc-web-text' ? Buffer.concat([encode(good), bad]) : Buffer.concat([good, bad]);
    expect(framer.feed(sameFeed, 0, 0).map((f) => f.bytes.toString())).toEqual(['fine']);
    expect(framer.stopped).toMatch(note);
    expect(framer.feed(encode(good), 1, 1)).toEqual([]);
    expect(framer.end()).toBeUndefined();
  });

  it('a length within 64 MiB is fine whatever maxMessageBytes is', () => {
    const framer = new RpcFramer('grpc', { maxMessageBytes: 4 });
    expect(framer.feed(prefixOnly(64 * 1024 * 1024), 0, 0)).toEqual([]);
    expect(framer.stopped).toBeUndefined();
  });
});

function prefixOnly(length: number): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

describe('rpcFramingOf', () => {
  it.each([
    ['application/grpc', 'grpc'],
    ['application/grpc+proto', 'grpc'],
    ['Application/GRPC+JSON; charset=utf-8', 'grpc'],
    ['application/grpc-web', 'grpc-web'],
    ['application/grpc-web+proto', 'grpc-web'],
    ['application/grpc-web-text', 'grpc-web-text'],
    ['application/grpc-web-text+proto', 'grpc-web-text'],
    ['application/connect+proto', 'connect'],
    ['application/connect+json;x=y', 'connect'],
    ['application/connect', undefined],
    ['application/proto', undefined],
    ['application/json', undefined],
    ['application/grpcfoo', undefined],
    ['text/plain', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s → %s', (contentType, framing) => {
    expect(rpcFramingOf(contentType)).toBe(framing);
  });
});
