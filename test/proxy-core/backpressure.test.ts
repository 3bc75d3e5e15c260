import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectThroughProxy } from '../helpers/client.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp-dir.js';

const BODY_MIB = 64;
const READ_BYTES = 64 * 1024;
const READ_EVERY_MS = 10;
const MIB = 1 << 20;

// 1 MiB of random bytes, each repeat salted with its index so a misplaced block changes the hash.
const block = randomBytes(MIB);
function blockNumber(i: number): Buffer {
  const copy = Buffer.from(block);
  copy.writeUInt32BE(i, 0);
  return copy;
}
const expectedSha = (() => {
  const hash = createHash('sha256');
  for (let i = 0; i < BODY_MIB; i++) hash.update(blockNumber(i));
  return hash.digest('hex');
})();

async function serveBody(_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BODY_MIB * MIB });
  for (let i = 0; i < BODY_MIB; i++) {
    if (!res.write(blockNumber(i))) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

/** Downloads through the proxy reading 64 KiB every 10 ms, sampling the proxy's memory as it goes. */
async function slowDownload(cli: RunningCli, url: string, caPem: string) {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  const socket = https ? await connectThroughProxy(cli.port, target, caPem) : undefined;
  return new Promise<{ sha: string; bytes: number; steadyRss: number; peakRss: number }>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: cli.port,
      path: https ? target.pathname : target.href,
      headers: { host: target.host },
      ...(socket ? { createConnection: () => socket } : { agent: false }),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.pause();
      const hash = createHash('sha256');
      let bytes = 0;
      let steadyRss = 0;
      let peakRss = 0;
      const timer = setInterval(() => {
        let chunk: Buffer | null;
        let taken = 0;
        while (
          taken < READ_BYTES &&
          (chunk = res.read(Math.min(READ_BYTES - taken, res.readableLength || READ_BYTES)))
        ) {
          hash.update(chunk);
          taken += chunk.length;
        }
        bytes += taken;
        const rss = cli.rss();
        // Steady state: once the first 4 MiB are through, every buffer on the path is full.
        if (bytes >= 4 * MIB && steadyRss === 0) steadyRss = rss;
        if (steadyRss > 0) peakRss = Math.max(peakRss, rss);
      }, READ_EVERY_MS);
      res.on('end', () => {
        clearInterval(timer);
        resolve({ sha: hash.digest('hex'), bytes, steadyRss, peakRss });
      });
      res.on('error', (err) => {
        clearInterval(timer);
        reject(err);
      });
      res.on('readable', () => undefined);
    });
    req.end();
  });
}

describe.each(['http', 'https'] as const)('a slow client over %s', (scheme) => {
  let authority: UpstreamAuthority | undefined;
  let upstream: TestServer;
  let cli: RunningCli;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir();
    authority = scheme === 'https' ? await makeUpstreamAuthority() : undefined;
    upstream = await startServer((req, res) => void serveBody(req, res), authority ? { authority } : undefined);
    const args = ['--port', '0', '--data-dir', dir.path, '--events', 'ndjson'];
    if (authority) {
      const caFile = join(dir.path, 'upstream-ca.pem');
      await writeFile(caFile, authority.ca.certPem);
      args.push('--upstream-ca', caFile);
    }
    cli = await startCli(args);
  });
  afterAll(async () => {
    await cli?.stop();
    await upstream?.close();
    await authority?.remove();
    await dir?.remove();
  });

  it(
    `gets all ${BODY_MIB} MiB byte for byte while the proxy pauses upstream and stays small`,
    { timeout: 60_000 },
    async () => {
      const caPem = readFileSync(cli.caPath, 'utf8');
      const result = await slowDownload(cli, `${upstream.url}/big`, caPem);
      expect(result.bytes).toBe(BODY_MIB * MIB);
      expect(result.sha).toBe(expectedSha);

      const paused = cli.events.filter((e) => e.type === 'backpressure-paused' && e.direction === 'response');
      const resumed = cli.events.filter((e) => e.type === 'backpressure-resumed' && e.direction === 'response');
      expect(paused.length).toBeGreaterThan(10);
      expect(resumed.length).toBeGreaterThanOrEqual(paused.length - 1);
      const closed = cli.events.find((e) => e.type === 'exchange-closed');
      expect(closed).toMatchObject({ outcome: 'completed', responseBytes: BODY_MIB * MIB });
      expect(closed?.type === 'exchange-closed' && closed.pausedMs).toBeGreaterThan(1000);

      // Memory must not follow the body: 60 MiB more pass after the steady-state sample.
      const growthMib = (result.peakRss - result.steadyRss) / MIB;
      console.log(
        `${scheme}: proxy RSS steady ${(result.steadyRss / MIB).toFixed(1)} MiB, growth ${growthMib.toFixed(1)} MiB`,
      );
      // Keeping the body would add at least the 60 MiB that passed after the steady-state sample.
      // What does move RSS is dead 64 KiB read buffers waiting for V8 to collect them: 20-36 MiB
      // seen on http (it falls back after), ~3-13 MiB on https. The bound sits between the two.
      expect(growthMib).toBeLessThan(44);
    },
  );
});
