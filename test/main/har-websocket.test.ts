import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { HostEvent } from '../../app/contract.js';
import type { ProxyEvent, WebSocketMessageEvent } from '../../app/proxy-events.js';
import { entryToExchange } from '../../main/har/entry-to-events.js';
import { exchangesIn } from '../../main/har/exchange-events.js';
import { buildEntry } from '../../main/har/har-entry.js';
import type { Har, HarEntry } from '../../main/har/har-types.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';
import { connectThroughProxy } from '../helpers/client.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';

const { defer, freshDir } = useCleanup();
const validate = harValidator();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'har');

async function makeHost(): Promise<{ host: SluiceHost; events: HostEvent[] }> {
  const host = await SluiceHost.create({ dataDir: await freshDir() });
  defer(() => host.close());
  const events: HostEvent[] = [];
  host.subscribe((event) => events.push(event));
  return { host, events };
}

function messagesIn(events: readonly HostEvent[]): WebSocketMessageEvent[] {
  return events.filter((e): e is WebSocketMessageEvent => e.type === 'websocket-message');
}

/** A WebSocket conversation through the host's proxy: text and binary both ways, ping, close 4000. */
async function converse(proxyPort: number): Promise<void> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) socket.send(`echo:${(data as Buffer).toString()}`);
      else socket.send(Buffer.from([0, 1, 254, 255]), { binary: true });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(() => {
    wss.close();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/feed`;
  const socket = await connectThroughProxy(proxyPort, new URL(url));
  const client = new WebSocket(url, { createConnection: () => socket });
  const replies: unknown[] = [];
  client.on('message', (data) => replies.push(data));
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  client.send(JSON.stringify({ hello: 'world' }));
  client.send(Buffer.from([9, 8, 7]), { binary: true });
  const pong = new Promise((resolve) => client.once('pong', resolve));
  client.ping('p');
  await pong;
  await expect.poll(() => replies.length).toBe(2);
  client.close(4000, 'bye');
  await new Promise((resolve) => client.once('close', resolve));
}

describe('WebSocket messages in HAR', () => {
  it('exports _webSocketMessages in Chrome’s shape and imports them back as messages', async () => {
    const { host, events } = await makeHost();
    await host.call('proxy.setPort', { port: 0 });
    const { port } = await host.call('proxy.start', {});
    await converse(port);
    await expect.poll(() => events.some((e) => e.type === 'exchange-closed')).toBe(true);
    const live = messagesIn(events);
    expect(live.length).toBe(8); // the server answers the close with its own

    const file = join(await freshDir(), 'ws.har');
    await host.call('har.export', { path: file });
    const har = JSON.parse(await readFile(file, 'utf8')) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    const entry = har.log.entries.find((e) => e._kind === 'websocket')!;
    const opened = new Date(entry.startedDateTime).getTime() / 1000;
    const written = entry._webSocketMessages!;
    expect(written.map(({ type, opcode, data }) => ({ type, opcode, data }))).toEqual(
      expect.arrayContaining([
        { type: 'send', opcode: 1, data: '{"hello":"world"}' },
        { type: 'receive', opcode: 1, data: 'echo:{"hello":"world"}' },
        { type: 'send', opcode: 2, data: 'CQgH' },
        { type: 'receive', opcode: 2, data: 'AAH+/w==' },
        { type: 'send', opcode: 9, data: 'p' },
        { type: 'receive', opcode: 10, data: 'p' },
        { type: 'send', opcode: 8, data: 'bye' },
        { type: 'receive', opcode: 8, data: 'bye' },
      ]),
    );
    for (const m of written) expect(m.time).toBeGreaterThanOrEqual(opened - 0.001);
    expect(written.find((m) => m.opcode === 8)!._closeCode).toBe(4000);

    const { host: target, events: imported } = await makeHost();
    await target.call('har.import', { path: file });
    const back = messagesIn(imported);
    const shape = (m: WebSocketMessageEvent) => [m.direction, m.opcode, m.data, m.binary, m.size, m.closeCode];
    expect(back.map(shape)).toEqual(live.map(shape));
    // Each message keeps its number among its direction's (stream rules' event numbers), here its
    // place in the file, so no `_index` is written.
    expect(live.filter((m) => m.direction === 'response').map((m) => m.index)).toEqual([0, 1, 2, 3]);
    expect(back.map((m) => [m.direction, m.index])).toEqual(live.map((m) => [m.direction, m.index]));
    expect(written.some((m) => m._index !== undefined)).toBe(false);
    // Times keep their gaps: each message sits where it was relative to the exchange's start.
    const start = (list: readonly HostEvent[]) => list.find((e) => e.type === 'exchange-opened')!.t;
    back.forEach((m, i) => expect(m.t - start(imported)).toBeCloseTo(live[i]!.t - start(events), 0));
  });

  it('keeps each message’s number when older ones were not kept (`_index`)', async () => {
    const { host, events } = await makeHost();
    await host.call('proxy.setPort', { port: 0 });
    const { port } = await host.call('proxy.start', {});
    await converse(port);
    await expect.poll(() => events.some((e) => e.type === 'exchange-closed')).toBe(true);
    // The first two messages as if the log had not kept them.
    const firstTwo = messagesIn(events).slice(0, 2);
    const kept = (events as ProxyEvent[]).filter((e) => !firstTwo.includes(e as WebSocketMessageEvent));
    const exchange = [...exchangesIn(kept)].find((x) => x.opened.kind === 'websocket')!;
    const entry = JSON.parse(JSON.stringify(buildEntry(exchange, {}))) as HarEntry;
    const written = entry._webSocketMessages!;
    // Written where a message's number is not its place among its direction's in the file.
    expect(written[0]!._index).toBeGreaterThan(0);
    const back = entryToExchange(entry, { id: 1, monotonic: () => 0, fallbackWallTime: 0 });
    expect(messagesIn(back.events as HostEvent[]).map((m) => [m.direction, m.index])).toEqual(
      messagesIn(kept).map((m) => [m.direction, m.index]),
    );
  });

  it('imports mitmproxy’s websocket export with its messages', async () => {
    const { host, events } = await makeHost();
    await host.call('har.import', { path: join(FIXTURES, 'mitmproxy-tests', 'mitmproxy-export-websocket.har') });
    const messages = messagesIn(events);
    expect(messages.map((m) => [m.direction, m.opcode, m.data])).toEqual([
      ['response', 1, '{"error":"Unknown api key"}'],
      ['response', 1, '{"error":"Missing apiKey"}'],
      ['response', 1, '{"error":"Unknown api key"}'],
      ['request', 1, 'foo'],
      ['request', 1, 'bar'],
    ]);
  });
});
