import { createHash } from 'node:crypto';
import type http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H2_STREAM_WINDOW } from '../../proxy-core/forward/h2-settings.js';
import {
  H2_MIN_STREAM_WINDOW,
  H2_SESSION_WINDOW_BUDGET,
  StreamWindowBudget,
} from '../../proxy-core/forward/h2-window-budget.js';
import { connectH2, startH2Server, type H2Server } from '../helpers/h2.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const STREAMS = 64;
const BODY = Buffer.alloc(3 << 20, 'sluice-window-budget ');
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');

describe('the window budget of one HTTP/2 session', () => {
  it('halves the stream window as streams double past the budget, and doubles it back with hysteresis', () => {
    const sent: number[] = [];
    const session = {
      closed: false,
      destroyed: false,
      settings: (s: http2.Settings) => sent.push(s.initialWindowSize!),
    } as unknown as http2.Http2Session;
    const budget = new StreamWindowBudget(session);
    const fits = H2_SESSION_WINDOW_BUDGET / H2_STREAM_WINDOW;
    for (let i = 0; i < fits; i++) budget.opened();
    expect(sent).toEqual([]);
    budget.opened();
    expect(budget.streamWindow).toBe(H2_STREAM_WINDOW / 2);
    for (let i = fits + 1; i < 4096; i++) budget.opened();
    expect(budget.streamWindow).toBe(H2_MIN_STREAM_WINDOW);
    expect(sent).toEqual([512, 256, 128, 64].map((k) => k << 10));
    // Back down to the step it went up at: no SETTINGS, only well below it.
    for (let i = 4096; i > fits + 1; i--) budget.closed();
    expect(budget.streamWindow).toBeLessThan(H2_STREAM_WINDOW);
    for (let i = fits + 1; i > 0; i--) budget.closed();
    expect(budget.count).toBe(0);
    expect(budget.streamWindow).toBe(H2_STREAM_WINDOW);
    expect(sent.at(-1)).toBe(H2_STREAM_WINDOW);
  });
});

describe('HTTP/2 streams to slow readers through Sluice', () => {
  let authority: UpstreamAuthority;
  let upstream: H2Server;
  let proxy: TestProxy;
  /** Body bytes the upstream's streams got out: what the proxy's windows let it send. */
  let sentBytes = 0;
  /** The stream window the proxy's session announced to the upstream, each time it did. */
  const announced: number[] = [];

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    upstream = await startH2Server(
      (stream) => {
        stream.on('error', () => undefined);
        stream.respond({ ':status': 200, 'content-length': String(BODY.length) });
        let at = 0;
        const pump = (): void => {
          while (at < BODY.length) {
            const piece = BODY.subarray(at, at + (64 << 10));
            at += piece.length;
            if (!stream.write(piece, (err) => !err && (sentBytes += piece.length))) {
              stream.once('drain', pump);
              return;
            }
          }
          stream.end();
        };
        pump();
      },
      { authority },
    );
    upstream.server.on('session', (session: http2.ServerHttp2Session) =>
      session.on('remoteSettings', (settings: http2.Settings) => announced.push(settings.initialWindowSize!)),
    );
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await authority?.remove();
  });

  it(
    `${STREAMS} streams none of which is read hold at most the session's budget in the proxy, then all arrive whole`,
    { timeout: 30_000 },
    async () => {
      const { session } = await connectH2(proxy.port, `localhost:${upstream.port}`, {
        caPem: proxy.caPem,
        settings: { initialWindowSize: 65_535 },
      });
      try {
        const streams = Array.from({ length: STREAMS }, () => {
          const stream = session.request({ ':path': '/body' });
          stream.pause();
          return stream;
        });
        // Until the upstream can send no more: every window is full.
        let last = -1;
        for (let i = 0; i < 150 && sentBytes !== last; i++) {
          last = sentBytes;
          await sleep(200);
        }
        expect(sentBytes).toBe(last);
        expect(sentBytes).toBeGreaterThan(STREAMS * 65_535);
        // Without the budget each stream could leave a whole stream window in the proxy (64 MiB
        // here); with it the streams share 32 MiB. What else may be out: each client stream's
        // 64 KiB window and what the proxy queued for it before pausing.
        expect(sentBytes).toBeLessThan(H2_SESSION_WINDOW_BUDGET + STREAMS * (256 << 10));
        expect(Math.min(...announced)).toBe(H2_SESSION_WINDOW_BUDGET / STREAMS);

        const bodies = await Promise.all(
          streams.map(
            (stream) =>
              new Promise<string>((resolve, reject) => {
                const hash = createHash('sha256');
                let length = 0;
                stream.on('data', (d: Buffer) => {
                  length += d.length;
                  hash.update(d);
                });
                stream.on('end', () => resolve(`${length} ${hash.digest('hex')}`));
                stream.on('error', reject);
                stream.resume();
              }),
          ),
        );
        expect(new Set(bodies)).toEqual(new Set([`${BODY.length} ${BODY_SHA}`]));
        // The streams are gone: a stream on its own gets the whole window again.
        for (let i = 0; i < 100 && announced.at(-1) !== H2_STREAM_WINDOW; i++) await sleep(50);
        expect(announced.at(-1)).toBe(H2_STREAM_WINDOW);
      } finally {
        session.destroy();
      }
    },
  );
});
