import { execFile, spawnSync } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_BYTES, readClientHello, type ClientHelloRead } from '../../proxy-core/front/client-hello.js';

/**
 * Starts a plain TCP server, lets `connect(port)` open a TLS client to it, and resolves with the
 * first TLS record the client sent (its ClientHello). The record's own header says when it is
 * whole, so the capture does not depend on the code under test.
 */
async function captureFirstRecord(connect: (port: number) => () => void): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let stopClient = (): void => {};
  try {
    const captured = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello within 10 s')), 10_000);
      server.once('connection', (socket) => {
        let bytes = Buffer.alloc(0);
        socket.on('error', () => {});
        socket.on('data', (chunk: Buffer) => {
          bytes = Buffer.concat([bytes, chunk]);
          if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) {
            clearTimeout(timer);
            socket.destroy();
            resolve(bytes.subarray(0, 5 + bytes.readUInt16BE(3)));
          }
        });
      });
    });
    stopClient = connect(port);
    return await captured;
  } finally {
    stopClient();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function nodeClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return captureFirstRecord((port) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    socket.on('error', () => {});
    return () => socket.destroy();
  });
}

/** Re-frames one captured single-record hello into records carrying the given fragment sizes. */
function reframe(hello: Buffer, sizes: readonly number[]): Buffer {
  const message = hello.subarray(5);
  expect(message.length).toBe(hello.readUInt16BE(3));
  const records: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    records.push(record(message.subarray(at, at + size)));
    at += size;
  }
  expect(at).toBe(message.length);
  return Buffer.concat(records);
}

function record(fragment: Buffer, contentType = 0x16): Buffer {
  const header = Buffer.from([contentType, 0x03, 0x01, 0, 0]);
  header.writeUInt16BE(fragment.length, 3);
  return Buffer.concat([header, fragment]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function vector16(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u16(body.length), body]);
}

function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vector16(data)]);
}

/** A minimal ClientHello in one record; `extensions` undefined leaves the block out entirely. */
function handBuiltHello(extensions?: Buffer[]): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 7),
    Buffer.from([0]), // session_id
    vector16(Buffer.from([0x13, 0x01])),
    Buffer.from([1, 0]), // compression_methods: null
    extensions === undefined ? Buffer.alloc(0) : vector16(...extensions),
  ]);
  const header = Buffer.from([1, 0, 0, 0]);
  header.writeUIntBE(body.length, 1, 3);
  return record(Buffer.concat([header, body]));
}

function sni(...names: [type: number, name: Buffer][]): Buffer {
  return extension(0, vector16(...names.map(([type, name]) => Buffer.concat([Buffer.from([type]), vector16(name)]))));
}

function alpn(...names: string[]): Buffer {
  return extension(16, vector16(...names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n)]))));
}

/** A small seeded PRNG so a failing fuzz case can be replayed. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function curlAvailable(): boolean {
  const probe = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && /\bHTTP2\b/.test(probe.stdout);
}

describe('readClientHello on real hellos from Node', () => {
  it('reads the server name and the ALPN offer', async () => {
    const hello = await nodeClientHello({ servername: 'example.test', ALPNProtocols: ['h2', 'http/1.1'] });
    expect(readClientHello(hello)).toEqual({
      state: 'complete',
      serverName: 'example.test',
      alpn: ['h2', 'http/1.1'],
      length: hello.length,
    });
  });

  it('answers undefined for both when the client sends neither (no SNI for an IP literal)', async () => {
    const hello = await nodeClientHello({});
    expect(readClientHello(hello)).toEqual({
      state: 'complete',
      serverName: undefined,
      alpn: undefined,
      length: hello.length,
    });
  });

  it('answers need-more for every proper prefix, fed byte by byte, then complete', async () => {
    const hello = await nodeClientHello({ servername: 'example.test', ALPNProtocols: ['h2', 'http/1.1'] });
    for (let i = 0; i < hello.length; i++) {
      expect(readClientHello(hello.subarray(0, i)), `prefix of ${i} bytes`).toEqual({ state: 'need-more' });
    }
    expect(readClientHello(hello)).toMatchObject({ state: 'complete', serverName: 'example.test' });
  });

  it('reassembles a hello split over two records, wherever the split falls', async () => {
    const hello = await nodeClientHello({ servername: 'example.test', ALPNProtocols: ['h2', 'http/1.1'] });
    const messageLength = hello.length - 5;
    for (const first of [1, 2, 3, 4, 5, 40, Math.floor(messageLength / 2), messageLength - 1]) {
      const twoRecords = reframe(hello, [first, messageLength - first]);
      expect(twoRecords.length).toBe(hello.length + 5);
      expect(readClientHello(twoRecords), `split after ${first} bytes`).toEqual({
        state: 'complete',
        serverName: 'example.test',
        alpn: ['h2', 'http/1.1'],
        length: twoRecords.length,
      });
      expect(readClientHello(twoRecords.subarray(0, twoRecords.length - 1)).state).toBe('need-more');
    }
  });

  it('reassembles one-byte records, and every prefix of them is need-more', async () => {
    const hello = await nodeClientHello({ servername: 'example.test', ALPNProtocols: ['h2'] });
    const tiny = reframe(hello, new Array<number>(hello.length - 5).fill(1));
    for (let i = 0; i < tiny.length; i += 7) expect(readClientHello(tiny.subarray(0, i)).state).toBe('need-more');
    expect(readClientHello(tiny)).toEqual({
      state: 'complete',
      serverName: 'example.test',
      alpn: ['h2'],
      length: tiny.length,
    });
  });

  it('reports only the records carrying the hello as its length when more bytes follow', async () => {
    const hello = await nodeClientHello({ servername: 'example.test' });
    const withMore = Buffer.concat([hello, record(Buffer.from([1]), 0x14), Buffer.from('more')]);
    expect(readClientHello(withMore)).toMatchObject({ state: 'complete', length: hello.length });
  });

  it('never throws on random mutations of a real hello, and answers need-more only under the limit', async () => {
    const hello = await nodeClientHello({ servername: 'example.test', ALPNProtocols: ['h2', 'http/1.1'] });
    const random = mulberry32(0x5c1ce);
    const states = new Set<string>();
    for (let round = 0; round < 3000; round++) {
      let bytes = Buffer.from(hello);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * bytes.length);
        const kind = random();
        if (kind < 0.6) bytes[at] = Math.floor(random() * 256);
        else if (kind < 0.8) bytes = bytes.subarray(0, at);
        else
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), bytes.subarray(at)]);
      }
      let read: ClientHelloRead | undefined;
      expect(() => (read = readClientHello(bytes)), `round ${round}: ${bytes.toString('hex')}`).not.toThrow();
      states.add(read!.state);
      if (read!.state === 'need-more') expect(bytes.length).toBeLessThan(MAX_CLIENT_HELLO_BYTES);
      if (read!.state === 'complete') expect(read!.length).toBeLessThanOrEqual(bytes.length);
    }
    // The mutations reached every kind of answer, so the loop exercised more than one path.
    expect([...states].sort()).toEqual(['complete', 'malformed', 'need-more', 'not-tls']);
  });
});

describe('readClientHello on hand-built and broken input', () => {
  it('answers not-tls for HTTP and for an SSLv2-style hello, need-more for nothing yet', () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ state: 'not-tls' });
    expect(readClientHello(Buffer.from('G'))).toEqual({ state: 'not-tls' });
    expect(readClientHello(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]))).toEqual({ state: 'not-tls' });
    expect(readClientHello(Buffer.alloc(0))).toEqual({ state: 'need-more' });
    expect(readClientHello(Buffer.from([0x16]))).toEqual({ state: 'need-more' });
  });

  it('answers undefined for both when the extensions block is absent', () => {
    const hello = handBuiltHello();
    expect(readClientHello(hello)).toEqual({
      state: 'complete',
      serverName: undefined,
      alpn: undefined,
      length: hello.length,
    });
  });

  it('takes the first host_name and skips other name types and unknown extensions', () => {
    const hello = handBuiltHello([
      extension(0x0a0a, Buffer.alloc(0)),
      sni([7, Buffer.from('other')], [0, Buffer.from('first.test')], [0, Buffer.from('second.test')]),
      alpn('http/1.1'),
    ]);
    expect(readClientHello(hello)).toMatchObject({ state: 'complete', serverName: 'first.test', alpn: ['http/1.1'] });
  });

  const malformedCases: [string, () => Buffer][] = [
    ['garbage after 0x16', () => Buffer.from([0x16, 0x47, 0x45, 0x54, 0x20, 0x2f])],
    ['a record version that is not 3.x', () => Buffer.from([0x16, 0x02, 0x00])],
    ['an empty record', () => Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])],
    ['a record over 2^14 bytes', () => Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01])],
    ['a ServerHello instead', () => Buffer.from([0x16, 0x03, 0x03, 0x00, 0x04, 0x02])],
    ['a handshake length over the limit', () => Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00])],
    [
      'an alert record between the fragments',
      () => {
        const hello = handBuiltHello();
        return Buffer.concat([record(hello.subarray(5, 10)), record(Buffer.from([2, 40]), 0x15)]);
      },
    ],
    [
      'a session_id longer than 32 bytes',
      () => {
        const hello = handBuiltHello();
        hello[5 + 4 + 2 + 32] = 33;
        return hello;
      },
    ],
    [
      'a handshake length shorter than its fields',
      () => {
        const hello = handBuiltHello();
        hello.writeUIntBE(hello.length - 5 - 4 - 1, 6, 3);
        return hello;
      },
    ],
    ['bytes after the extensions', () => extraExtensionsByte()],
    ['an extension overrunning its block', () => handBuiltHello([Buffer.from([0x00, 0x10, 0x00, 0x09, 0x00])])],
    [
      'two server_name extensions',
      () => handBuiltHello([sni([0, Buffer.from('a.test')]), sni([0, Buffer.from('b.test')])]),
    ],
    ['an empty server_name list', () => handBuiltHello([extension(0, vector16())])],
    ['a host_name with a NUL byte', () => handBuiltHello([sni([0, Buffer.from('evil.test\0.good.test')])])],
    ['an empty host_name', () => handBuiltHello([sni([0, Buffer.alloc(0)])])],
    ['an empty ALPN protocol name', () => handBuiltHello([alpn('h2', '')])],
    [
      'an ALPN name overrunning its list',
      () => handBuiltHello([extension(16, vector16(Buffer.from([5, 0x68, 0x32])))]),
    ],
    ['an empty ALPN list', () => handBuiltHello([extension(16, vector16())])],
  ];

  it.each(malformedCases)('answers malformed for %s', (_name, bytes) => {
    const read = readClientHello(bytes());
    expect(read.state).toBe('malformed');
    expect(read).toHaveProperty('detail', expect.any(String));
  });

  it('gives up at the limit even when the bytes come in one-byte records', () => {
    // A declared hello of 40 000 bytes fits the limit once, but not at six bytes per byte.
    const first = Buffer.from([0x01, 0x00, 0x9c, 0x40]);
    const records = [...first].map((b) => record(Buffer.from([b])));
    const filler = record(Buffer.from([0]));
    while (records.length * 6 < MAX_CLIENT_HELLO_BYTES + 12) records.push(filler);
    const bytes = Buffer.concat(records);
    expect(readClientHello(bytes.subarray(0, 60_000)).state).toBe('need-more');
    // The record starting at 65 532 cannot fit, so its first bytes already settle it.
    expect(readClientHello(bytes.subarray(0, 65_533))).toMatchObject({ state: 'malformed' });
    expect(readClientHello(bytes)).toMatchObject({ state: 'malformed' });
  });
});

function extraExtensionsByte(): Buffer {
  const hello = handBuiltHello([alpn('h2')]);
  const longer = record(Buffer.concat([hello.subarray(5), Buffer.from([0])]));
  longer.writeUIntBE(hello.length - 5 - 4 + 1, 6, 3);
  return longer;
}

describe('readClientHello on a real hello from curl', () => {
  const hasCurl = curlAvailable();
  it.skipIf(!hasCurl)(
    `reads curl's server name and its h2 offer${hasCurl ? '' : ' (skipped: no curl with HTTP/2 on PATH)'}`,
    async () => {
      const hello = await captureFirstRecord((port) => {
        // --resolve so curl sends SNI (it sends none for an IP literal); --noproxy so a proxy in the environment is not used.
        const child = execFile(
          'curl',
          [
            '-sk',
            '--http2',
            '--noproxy',
            '*',
            '--resolve',
            `example.test:${port}:127.0.0.1`,
            `https://example.test:${port}/`,
          ],
          { timeout: 10_000 },
          () => {},
        );
        return () => child.kill();
      });
      const read = readClientHello(hello);
      expect(read).toMatchObject({ state: 'complete', serverName: 'example.test', length: hello.length });
      if (read.state !== 'complete') return;
      expect(read.alpn?.[0]).toBe('h2');
      expect(read.alpn).toContain('http/1.1');
    },
  );
});
