import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChunkEvent, ResponseHeadEvent, WebSocketMessageEvent } from '../../app/proxy-events.js';
import type { HostEvent } from '../../app/contract.js';
import { fetchViaProxy, type ProxiedResponse } from '../helpers/client.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useCleanup } from '../helpers/cleanup.js';
import { runningHost } from '../helpers/running-host.js';
import { expectPlayedAt } from '../helpers/playback-timing.js';
import { startServer } from '../helpers/servers.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connectThroughProxy } from '../helpers/client.js';

const { defer, freshDir } = useCleanup();

/** When the upstream writes each event, from its response head: uneven, with one long stall. */
const SENT_AT_MS = [0, 90, 400, 460];
/** Each arrival's time from the first arrival. */
function fromFirst(res: ProxiedResponse): number[] {
  return res.arrivals.map((a) => a.at - res.arrivals[0]!.at);
}

/** The response chunks' read times of exchange `id`, from the first: the times a mock of it plays. */
function recordedTimes(events: readonly HostEvent[], id: number): number[] {
  const reads = events
    .filter((e): e is ChunkEvent => e.type === 'chunk' && e.id === id && e.direction === 'response')
    .map((c) => c.readAt);
  return reads.map((t) => t - reads[0]!);
}

describe('serving a captured exchange as a mock', () => {
  it('replays a live-captured SSE stream with its events and gaps, at x1 and x2, after the upstream is gone', async () => {
    const { host, events, port } = await runningHost(await freshDir(), defer);
    const upstream = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      SENT_AT_MS.forEach((ms, i) => {
        setTimeout(() => {
          res.write(`id: ${i}\ndata: token ${i}\n\n`);
          if (i === SENT_AT_MS.length - 1) res.end();
        }, ms);
      });
    });
    const url = `${upstream.url}/v1/stream`;
    const live = await fetchViaProxy(port, url);
    await upstream.close();
    const opened = events.find((e) => e.type === 'exchange-opened' && e.request.url === url)!;
    const { id } = opened as { id: number };
    await waitFor(() => events.some((e) => e.type === 'exchange-closed' && e.id === id));
    const recorded = recordedTimes(events, id);
    expect(recorded).toHaveLength(SENT_AT_MS.length);

    const state = await host.call('mocks.add', { ids: [id] });
    expect(state.mocks).toEqual([
      expect.objectContaining({ method: 'GET', url, status: 200, pieces: 4, exchangeId: id, served: 0 }),
    ]);
    expect(events.some((e) => e.type === 'mocks-changed' && e.state.revision === state.revision)).toBe(true);

    const mocked = await fetchViaProxy(port, url);
    expect(mocked.status).toBe(200);
    expect(mocked.body.toString()).toBe(live.body.toString());
    expectPlayedAt(fromFirst(mocked), recorded);
    const heads = events.filter((e): e is ResponseHeadEvent => e.type === 'response-head');
    expect(heads.at(-1)!.mock).toBe(state.mocks[0]!.id);

    await host.call('mocks.setPlayback', { speed: 2, jitterMs: 0 });
    expectPlayedAt(fromFirst(await fetchViaProxy(port, url)), recorded, 2);
    expect((await host.call('mocks.get', {})).mocks[0]!.served).toBe(2);

    await host.call('mocks.remove', { mockIds: [state.mocks[0]!.id] });
    const gone = await fetchViaProxy(port, url);
    expect(gone.status).toBe(502);

    // Our own HAR keeps the chunks' times (`_chunks`): another Sluice serves it the same way.
    const har = join(await freshDir(), 'stream.har');
    await host.writeHarFile(har, { ids: new Set([id]) });
    const other = await runningHost(await freshDir(), defer);
    expect(await other.host.mockHarFile(har)).toEqual({ mocks: 1, skipped: [] });
    const fromHar = await fetchViaProxy(other.port, url);
    expect(fromHar.body.toString()).toBe(live.body.toString());
    expectPlayedAt(fromFirst(fromHar), recorded);
  });

  it('says why an exchange cannot be a mock, and adds none of the ones asked for then', async () => {
    const { host, events, port } = await runningHost(await freshDir(), defer);
    const upstream = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: open\n\n');
    });
    const aborted = new AbortController();
    const open = fetchViaProxy(port, `${upstream.url}/open`, { signal: aborted.signal });
    await waitFor(() => events.some((e) => e.type === 'chunk'));
    const id = (events.find((e) => e.type === 'exchange-opened') as { id: number }).id;
    await expect(host.call('mocks.add', { ids: [id] })).rejects.toThrow(
      `exchange ${id} is still open: it can be served as a mock once it has ended`,
    );
    await expect(host.call('mocks.add', { ids: [987654] })).rejects.toThrow('exchange 987654 is not kept any more');
    await expect(host.call('mocks.setPlayback', { speed: -1, jitterMs: 0 })).rejects.toThrow(/speed must be/);
    expect((await host.call('mocks.get', {})).mocks).toEqual([]);
    aborted.abort();
    await open;
    await upstream.close();
  });
});

/** What a WebSocket client got: each message (text, or `bin:` and its bytes in hex) and when, then how it closed. */
async function wsSession(
  proxyPort: number,
  url: string,
  send?: string,
): Promise<{ messages: string[]; times: number[]; code: number; reason: string }> {
  const socket = await connectThroughProxy(proxyPort, new URL(url));
  const client = new WebSocket(url, { createConnection: () => socket, perMessageDeflate: false });
  const messages: string[] = [];
  const times: number[] = [];
  client.on('message', (data: Buffer, binary) => {
    times.push(performance.now());
    messages.push(binary ? `bin:${data.toString('hex')}` : data.toString());
  });
  if (send !== undefined) client.once('open', () => client.send(send));
  const [code, reason] = await new Promise<[number, Buffer]>((resolve, reject) => {
    client.once('close', (c: number, r: Buffer) => resolve([c, r]));
    client.once('error', reject);
  });
  return { messages, times: times.map((t) => t - times[0]!), code, reason: reason.toString() };
}

describe('serving a captured WebSocket as a mock', () => {
  it('plays the server’s messages at their times, and its close, to a new client with no server', async () => {
    const { host, events, port } = await runningHost(await freshDir(), defer);
    const server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: true });
    const heard: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => heard.push(data.toString()));
      setTimeout(() => ws.send('one'), 0);
      setTimeout(() => ws.send('two'), 120);
      setTimeout(() => ws.send(Buffer.from([1, 2, 3]), { binary: true }), 300);
      setTimeout(() => ws.close(1000, 'bye'), 360);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/feed`;
    const live = await wsSession(port, url, 'hi');
    wss.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    expect(live.messages).toEqual(['one', 'two', 'bin:010203']);
    const opened = events.find((e) => e.type === 'exchange-opened' && e.request.url === url) as { id: number };
    await waitFor(() => events.some((e) => e.type === 'exchange-closed' && e.id === opened.id));

    const state = await host.call('mocks.add', { ids: [opened.id] });
    expect(state.mocks[0]).toMatchObject({ url, status: 101, pieces: 4 });
    const mocked = await wsSession(port, url, 'hi again');
    expect(mocked.messages).toEqual(live.messages);
    expect(mocked.code).toBe(1000);
    expect(mocked.reason).toBe('bye');
    const sent = events.filter(
      (e): e is WebSocketMessageEvent =>
        e.type === 'websocket-message' && e.id === opened.id && e.direction === 'response' && e.opcode !== 8,
    );
    expectPlayedAt(
      mocked.times,
      sent.map((m) => m.t - sent[0]!.t),
    );
    expect(heard).toEqual(['hi']);
    const heads = events.filter((e): e is ResponseHeadEvent => e.type === 'response-head');
    expect(heads.at(-1)).toMatchObject({ mock: state.mocks[0]!.id, response: { status: 101 } });
  });
});

describe('sluice --mock FILE.har', () => {
  it('serves a browser’s HAR of an EventSource (`_eventSourceMessages`, no body) with its events’ timing', async () => {
    const dir = await freshDir();
    const file = join(dir, 'chrome.har');
    const started = Date.parse('2026-12-05T10:00:00.000Z');
    const url = 'https://events.mock.invalid/feed';
    await writeFile(
      file,
      JSON.stringify({
        log: {
          version: '1.2',
          creator: { name: 'WebInspector', version: '537.36' },
          entries: [
            {
              startedDateTime: new Date(started).toISOString(),
              time: 600,
              _resourceType: 'eventsource',
              request: { method: 'GET', url, httpVersion: 'http/2.0', headers: [], queryString: [], cookies: [] },
              response: {
                status: 200,
                statusText: '',
                httpVersion: 'http/2.0',
                headers: [{ name: 'content-type', value: 'text/event-stream' }],
                cookies: [],
                content: { size: 0, mimeType: 'text/event-stream' },
                redirectURL: '',
                headersSize: -1,
                bodySize: -1,
              },
              cache: {},
              timings: { blocked: 1, dns: -1, ssl: -1, connect: -1, send: 0, wait: 50, receive: 500 },
              _eventSourceMessages: SENT_AT_MS.map((ms, i) => ({
                time: (started + 51 + ms) / 1000,
                eventName: i === 2 ? 'update' : 'message',
                eventId: String(i),
                data: `{"n":${i}}`,
              })),
            },
          ],
        },
      }),
    );
    const bad = await runCli(['--port', '0', '--no-ui', '--data-dir', dir, '--mock-speed', '2']);
    expect(bad.stderr.trim()).toBe(
      'sluice: --mock-speed and --mock-jitter go with --mock FILE.har (see sluice --help)',
    );
    const cli = await startCli(['--port', '0', '--no-ui', '--data-dir', dir, '--mock', file, '--mock-speed', '2']);
    defer(() => cli.stop('SIGKILL'));
    expect(await cli.line('mocks: ')).toBe(`mocks: 1 (${file})`);
    const ca = await import('node:fs/promises').then((fs) => fs.readFile(cli.caPath, 'utf8'));
    const res = await fetchViaProxy(cli.port, url, { caPem: ca });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(
      'id: 0\ndata: {"n":0}\n\nid: 1\ndata: {"n":1}\n\nevent: update\nid: 2\ndata: {"n":2}\n\nid: 3\ndata: {"n":3}\n\n',
    );
    expectPlayedAt(fromFirst(res), SENT_AT_MS, 2);
  });
});

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
