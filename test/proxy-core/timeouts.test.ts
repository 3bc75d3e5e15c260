import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { fetchViaProxy, rawExchange } from '../helpers/client.js';
import { lastOpened } from '../helpers/proxy.js';
import { useRig } from '../helpers/schemes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const upload = randomBytes(24 << 20);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function handler(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = req.url ?? '/';
  if (path.endsWith('/never-answers')) return;
  if (path.endsWith('/slow-reader')) {
    // Reads the upload in small bites with pauses, like a busy server.
    const hash = createHash('sha256');
    let bytes = 0;
    req.pause();
    while (!req.readableEnded) {
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null)) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      if (req.readableEnded) break;
      await Promise.race([new Promise((r) => req.once('readable', r)), sleep(50)]);
      await sleep(5);
    }
    res.end(`${bytes} ${hash.digest('hex')}`);
    return;
  }
  if (path.endsWith('/firehose')) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const piece = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 256; i++) if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    res.end();
    return;
  }
  res.end('ok');
}

describe('timeouts', () => {
  const rig = useRig('http', (req, res) => void handler(req, res), {
    timeouts: { requestHeaderMs: 500, idleMs: 400, responseHeaderMs: 500 },
  });

  it('does not count time paused for a slow client as idleness', async () => {
    // The client stops reading for 1.5 s, far past the 400 ms idle timeout, then reads on.
    const socketOpts = { host: '127.0.0.1', port: rig.proxy.port, path: `${rig.upstream.url}/firehose`, agent: false };
    const total = await new Promise<number>((resolve, reject) => {
      http
        .get(socketOpts, (res) => {
          res.pause();
          setTimeout(() => {
            let bytes = 0;
            res.on('data', (d: Buffer) => (bytes += d.length));
            res.on('end', () => resolve(bytes));
            res.on('error', reject);
            res.resume();
          }, 1500);
        })
        .on('error', reject);
    });
    expect(total).toBe(256 * 64 * 1024);
    const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/firehose'))!.id;
    const closed = await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id);
    expect(closed).toMatchObject({ outcome: 'completed' });
    expect(closed.type === 'exchange-closed' && closed.pausedMs).toBeGreaterThan(1000);
  });

  it('answers 504 when the upstream sends no response head in time', async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/never-answers`);
    expect(res.status).toBe(504);
    const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/never-answers'))!.id;
    const closed = await rig.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === id);
    expect(closed).toMatchObject({ outcome: 'proxy-error', reason: 'response-header-timeout' });
  });

  it('answers 408 and closes a client that never finishes its request head (slow-loris)', async () => {
    const started = Date.now();
    const answer = await rawExchange(rig.proxy.port, `GET ${rig.upstream.url}/ HTTP/1.1\r\nHost: x\r\nX-Slow:`, 5000);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const reported = await rig.proxy.waitFor((e) => e.type === 'client-error' && e.status === 408);
    expect(reported.type === 'client-error' && reported.code).toMatch(/TIMEOUT/);
  });
});

describe('backpressure in the request direction', () => {
  const rig = useRig('http', (req, res) => void handler(req, res));

  it(
    'pauses the client upload while the upstream reads slowly, and delivers every byte',
    { timeout: 60_000 },
    async () => {
      const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/slow-reader`, {
        method: 'POST',
        body: upload,
      });
      expect(res.body.toString()).toBe(`${upload.length} ${sha(upload)}`);
      const id = lastOpened(rig.proxy.events, (e) => e.request.url.endsWith('/slow-reader'))!.id;
      const paused = rig.proxy.events.filter((e) => e.type === 'backpressure-paused' && e.id === id);
      expect(paused.length).toBeGreaterThan(0);
      expect(paused.every((e) => e.type === 'backpressure-paused' && e.direction === 'request')).toBe(true);
    },
  );
});
