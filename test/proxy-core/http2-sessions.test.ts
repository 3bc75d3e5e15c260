import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { connectH2, h2Request, startH2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_FRAME_SIZE_ERROR } =
  http2.constants;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('HTTP/2 sessions: GOAWAY, concurrency limits, broken clients', () => {
  const undo: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (undo.length > 0) await undo.pop()!();
  });
  let authority: UpstreamAuthority;
  const setup = async (
    onStream: Parameters<typeof startH2Server>[0],
    settings?: http2.Settings,
  ): Promise<{ proxy: TestProxy; port: number; sessions: () => number }> => {
    authority = await makeUpstreamAuthority();
    undo.push(() => authority.remove());
    let sessions = 0;
    const upstream = await startH2Server(onStream, { authority, ...(settings ? { settings } : {}) });
    upstream.server.on('session', () => (sessions += 1));
    undo.push(() => upstream.close());
    const proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
    undo.push(() => proxy.close());
    return { proxy, port: upstream.port, sessions: () => sessions };
  };
  const ok = (stream: http2.ServerHttp2Stream, body = 'ok'): void => {
    stream.respond({ ':status': 200 });
    stream.end(body);
  };

  it('after a graceful GOAWAY from the upstream, new streams go to a new upstream session', async () => {
    const { proxy, port, sessions } = await setup((stream, headers) => {
      ok(stream, String(headers[':path']));
      if (headers[':path'] === '/first') stream.session?.goaway(NGHTTP2_NO_ERROR, stream.id);
    });
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    undo.push(async () => session.destroy());
    expect((await h2Request(session, { ':path': '/first' })).body.toString()).toBe('/first');
    await sleep(50);
    expect((await h2Request(session, { ':path': '/second' })).body.toString()).toBe('/second');
    expect(sessions()).toBe(2);
  });

  it('a GOAWAY with an error code mid-stream reaches the client as that code', async () => {
    const { proxy, port } = await setup((stream, headers) => {
      if (headers[':path'] !== '/doomed') return ok(stream);
      stream.respond({ ':status': 200 });
      stream.write('some');
      setTimeout(() => stream.session?.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0), 50);
    });
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    undo.push(async () => session.destroy());
    const answer = await h2Request(session, { ':path': '/doomed' });
    expect(answer.body.toString()).toBe('some');
    expect(answer.rstCode).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
    const id = proxy.events.find((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened')!.id;
    const closed = await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === id);
    expect(closed).toMatchObject({ outcome: 'upstream-reset', reason: 'ENHANCE_YOUR_CALM' });
    // The client's own connection to Sluice is still good.
    expect((await h2Request(session, { ':path': '/after' })).status).toBe(200);
  });

  it('a stream the upstream refuses unprocessed is sent again, an empty POST body included', async () => {
    let attempts = 0;
    const { proxy, port } = await setup((stream) => {
      stream.on('error', () => undefined);
      attempts += 1;
      if (attempts === 1) {
        setTimeout(() => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM), 50);
        return;
      }
      stream.resume();
      stream.on('end', () => ok(stream, `attempt ${attempts}`));
    });
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    undo.push(async () => session.destroy());
    // HEADERS, then an empty DATA frame with END_STREAM: the body ends before the upstream
    // stream exists, and again before the retry.
    const answer = await h2Request(session, { ':path': '/empty', ':method': 'POST' }, '');
    expect(answer).toMatchObject({ status: 200, rstCode: 0 });
    expect(answer.body.toString()).toBe('attempt 2');
  });

  it('a stream refused by Sluice itself and reset at once does not take the proxy down', async () => {
    const { proxy, port } = await setup((stream) => ok(stream));
    const raw = http2.connect(`http://127.0.0.1:${proxy.port}`);
    raw.on('error', () => undefined);
    const bad = raw.request({ ':path': '/', ':scheme': 'ftp', ':authority': 'x:1' }, { endStream: false });
    bad.on('error', () => undefined);
    bad.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await sleep(200);
    raw.destroy();
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    undo.push(async () => session.destroy());
    expect((await h2Request(session, { ':path': '/still-up' })).status).toBe(200);
  });

  it("a client's GOAWAY with an error code reaches its open streams' upstream halves as that code", async () => {
    let rstCode: number | undefined;
    const { proxy, port } = await setup((stream) => {
      stream.on('error', () => undefined);
      stream.respond({ ':status': 200 });
      stream.write('open');
      stream.on('close', () => (rstCode = stream.rstCode));
    });
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    const stream = session.request({ ':path': '/open' });
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
    for (let i = 0; i < 100 && rstCode === undefined; i++) await sleep(20);
    expect(rstCode).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
  });

  it("honours the upstream's maxConcurrentStreams, opening more sessions rather than overrunning one", async () => {
    const active = new Map<http2.Http2Session, number>();
    let most = 0;
    const { proxy, port, sessions } = await setup(
      (stream) => {
        const session = stream.session!;
        active.set(session, (active.get(session) ?? 0) + 1);
        most = Math.max(most, active.get(session)!);
        stream.on('close', () => active.set(session, active.get(session)! - 1));
        setTimeout(() => ok(stream), 100);
      },
      { maxConcurrentStreams: 2 },
    );
    const { session } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    undo.push(async () => session.destroy());
    // Wait for the upstream's SETTINGS to reach the pooled session first.
    expect((await h2Request(session, { ':path': '/warm' })).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 6 }, () => h2Request(session, { ':path': '/slow' })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(sessions()).toBeGreaterThanOrEqual(3);
    // The server would refuse a third; it never had to, and each of its sessions ran two at once.
    expect(most).toBe(2);
  });

  // Node answers these with GOAWAY itself and tells the session nothing, so no event can say so.
  it('a client that breaks the protocol gets GOAWAY with the code, and nothing else is touched', async () => {
    const { proxy, port } = await setup((stream) => ok(stream));
    const { session: good } = await connectH2(proxy.port, `localhost:${port}`, { caPem: proxy.caPem });
    undo.push(async () => good.destroy());
    expect((await h2Request(good, { ':path': '/before' })).status).toBe(200);

    for (const [frame, code] of [
      // A SETTINGS frame whose length is not a multiple of 6.
      [Buffer.from([0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]), NGHTTP2_FRAME_SIZE_ERROR],
      // A DATA frame on stream 0.
      [Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x61]), NGHTTP2_PROTOCOL_ERROR],
    ] as const) {
      const raw = net.connect(proxy.port, '127.0.0.1');
      raw.on('error', () => undefined);
      const received: Buffer[] = [];
      raw.on('data', (d: Buffer) => received.push(d));
      const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
      raw.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
          frame,
        ]),
      );
      await Promise.race([closed, sleep(1000)]);
      raw.destroy();
      const goaway = findGoaway(Buffer.concat(received));
      expect(goaway?.code).toBe(code);
    }
    expect((await h2Request(good, { ':path': '/after' })).status).toBe(200);
  });
});

/** The error code of the first GOAWAY frame in what a server sent, if any. */
function findGoaway(bytes: Buffer): { code: number } | undefined {
  for (let at = 0; at + 9 <= bytes.length;) {
    const length = bytes.readUIntBE(at, 3);
    const type = bytes[at + 3];
    if (type === 7 && at + 9 + 8 <= bytes.length) return { code: bytes.readUInt32BE(at + 9 + 4) };
    at += 9 + length;
  }
  return undefined;
}
