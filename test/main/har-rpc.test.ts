import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { ChunkEvent, ProxyEvent, RpcMessageEvent } from '../../app/proxy-events.js';
import type { CapturedBody } from '../../main/har/body-text.js';
import { entryToExchange } from '../../main/har/entry-to-events.js';
import { exchangesIn } from '../../main/har/exchange-events.js';
import { buildEntry } from '../../main/har/har-entry.js';
import { importHar, type HarImportResult } from '../../main/har/har-import.js';
import type { Har, HarEntry } from '../../main/har/har-types.js';
import { writeHar, type HarExportOptions } from '../../main/har/har-writer.js';
import { ImportedBodies } from '../../main/har/imported-bodies.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';
import { RPC_WALL_TIME, rpcCall, rpcMessage, rpcOpened, rpcStatus } from './rpc-events.js';
import { feedUntilQuiet } from '../helpers/host-events.js';

const { defer, freshDir } = useCleanup();
const validate = harValidator();

/** The gRPC bodies as captured: 42 bytes each way, binary, so the HAR holds them in base64. */
const BODIES = {
  request: { raw: Buffer.alloc(42, 0x80) },
  response: { raw: Buffer.alloc(42, 0x81) },
} satisfies Record<string, CapturedBody>;

/** Writes the events' exchanges as a HAR document, as the host's export does. */
async function exportHar(events: readonly ProxyEvent[], options: HarExportOptions = {}): Promise<string> {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  await writeHar(
    out,
    { exchanges: () => exchangesIn(events), readBody: async (_id, direction) => BODIES[direction] },
    options,
  );
  return text;
}

/** Imports a HAR document as the host's import does; the events it emitted, and what it said. */
async function importText(text: string): Promise<{ events: ProxyEvent[]; result: HarImportResult }> {
  const bodies = new ImportedBodies();
  defer(() => bodies.close());
  const events: ProxyEvent[] = [];
  let next = 1 << 20;
  const result = await importHar(
    Readable.from([text]),
    { nextId: () => next++, emit: (event) => events.push(event), bodies },
    { name: 'rpc.har' },
  );
  return { events, result };
}

/** The events that say what an RPC did, with the exchange's id and start taken out. */
function rpcView(events: readonly HostEvent[]): unknown[] {
  const opened = events.find((e) => e.type === 'exchange-opened')!;
  return events
    .filter((e) => e.type === 'rpc-message' || e.type === 'rpc-status' || e.type === 'capture-limited')
    .map((e) => ({ ...e, id: 0, t: Math.round(((e as { t: number }).t - opened.t) * 1000) / 1000 }));
}

function entryOf(text: string): HarEntry {
  const har = JSON.parse(text) as Har;
  expect(validate(har), harErrors(validate)).toBe(true);
  expect(har.log.entries).toHaveLength(1);
  return har.log.entries[0]!;
}

describe('gRPC, gRPC-Web and Connect messages in HAR', () => {
  it('writes _rpcMessages and _rpcStatus, and imports them back as the events they were', async () => {
    const call = rpcCall(7);
    const text = await exportHar(call);
    const entry = entryOf(text);

    const seconds = (t: number): number => (RPC_WALL_TIME + (t - 1000)) / 1000;
    expect(entry._rpcMessages).toHaveLength(6);
    expect(entry._rpcMessages![0]).toEqual({
      type: 'send',
      time: seconds(1000.375),
      index: 0,
      kind: 'message',
      data: Buffer.from('message 0').toString('base64'),
      encoding: 'base64',
      wireBytes: 9,
      size: 9,
      chunkRange: [0, 0],
    });
    expect(entry._rpcMessages![1]).toMatchObject({ type: 'receive', compressed: true, wireBytes: 29, size: 9 });
    expect(entry._rpcMessages![2]).toMatchObject({ truncated: true, size: 70_000 });
    expect(entry._rpcMessages![3]).toMatchObject({ undecoded: expect.stringContaining('snappy') as string });
    expect(entry._rpcMessages![4]).toMatchObject({ data: '{"text":"ça va"}', chunkRange: [2, 2] });
    expect(entry._rpcMessages![4]).not.toHaveProperty('encoding');
    expect(entry._rpcStatus).toEqual({
      time: seconds(1099.875),
      protocol: 'grpc',
      source: 'trailers',
      code: 5,
      name: 'NOT_FOUND',
      message: 'no such thing: ü',
      details: 'CAUSYWJj',
      trailers: [
        { name: 'grpc-status', value: '5' },
        { name: 'grpc-message', value: 'no such thing: %C3%BC' },
        { name: 'grpc-status-details-bin', value: 'CAUSYWJj' },
        { name: 'x-trailer', value: 'kept' },
      ],
    });
    expect(entry._captureLimits).toEqual([
      {
        direction: 'request',
        at: 4.5,
        reason: 'rpc-frames',
        atOffset: 42,
        detail: 'frame 3 declares 4294967295 bytes, more than the 4 MiB cap',
      },
    ]);

    const { events, result } = await importText(text);
    expect(result.warnings).toEqual([]);
    expect(rpcView(events)).toEqual(rpcView(call));
    // Each message still comes after the chunk that completed it.
    const order = events.filter((e) => e.type === 'chunk' || e.type === 'rpc-message').map((e) => e.type);
    expect(order).toEqual(call.filter((e) => e.type === 'chunk' || e.type === 'rpc-message').map((e) => e.type));
  });

  it('places a message on the chunks HAR keeps when neighbouring reads were merged', () => {
    const chunk = (index: number, reads: number, offset: number): ChunkEvent => ({
      type: 'chunk',
      id: 7,
      direction: 'response',
      offset,
      size: reads * 10,
      readAt: 1001 + index,
      flushedAt: 1001 + index,
      index,
      ...(reads > 1 ? { reads } : {}),
    });
    // Reads 0-1, 2-4 and 5 were kept as three chunk events.
    const events: ProxyEvent[] = [
      rpcOpened(7),
      chunk(0, 2, 0),
      chunk(2, 3, 20),
      chunk(5, 1, 50),
      rpcMessage(7, 1, { chunkRange: [3, 5], t: 1006 }),
      rpcMessage(7, 3, { chunkRange: [1, 1], t: 1006 }),
    ];
    const [exchange] = [...exchangesIn(events)];
    const entry = JSON.parse(JSON.stringify(buildEntry(exchange!, {}))) as HarEntry;
    expect(entry._rpcMessages!.map((m) => m.chunkRange)).toEqual([
      [1, 2],
      [0, 0],
    ]);
    const imported = entryToExchange(entry, { id: 1, monotonic: () => 0, fallbackWallTime: 0 });
    const messages = imported.events.filter((e): e is RpcMessageEvent => e.type === 'rpc-message');
    expect(messages.map((m) => m.chunkRange)).toEqual([
      [1, 2],
      [0, 0],
    ]);
    expect(imported.events.filter((e) => e.type === 'chunk').map((e) => (e as ChunkEvent).index)).toEqual([0, 1, 2]);
  });

  it('redacts the trailers as it redacts headers', async () => {
    const entry = entryOf(await exportHar(rpcCall(7), { redactHeaders: ['x-trailer'] }));
    expect(entry._rpcStatus!.trailers.find((t) => t.name === 'x-trailer')?.value).toBe('[redacted]');
    expect(entry._rpcStatus!.trailers.find((t) => t.name === 'grpc-status')?.value).toBe('5');
  });

  it('leaves out an _rpcMessages item that is not valid, naming the field, and keeps everything else', async () => {
    const text = await exportHar(rpcCall(7));
    const har = JSON.parse(text) as { log: { entries: Record<string, unknown>[] } };
    const entry = har.log.entries[0]!;
    const written = entry._rpcMessages as Record<string, unknown>[];
    written[1] = { ...written[1], kind: 'bogus' };
    written[3] = { ...written[3], data: 'not base64!' };
    const { events, result } = await importText(JSON.stringify(har));
    expect(result.warnings).toEqual([
      {
        index: 0,
        message:
          'entry 0: 2 of 6 RPC messages left out: _rpcMessages[1].kind is "bogus", not "message" or "trailers" ' +
          'or "end-stream", and 1 more',
      },
    ]);
    const imported = events.filter((e): e is RpcMessageEvent => e.type === 'rpc-message');
    expect(imported.map((m) => [m.direction, m.index])).toEqual([
      ['request', 0],
      ['request', 1],
      ['request', 2],
      ['response', 2],
    ]);
    // Nothing else of the entry is lost: its status, its note, its chunks and bodies.
    expect(events.filter((e) => e.type === 'rpc-status')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'capture-limited')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'chunk')).toHaveLength(6);
    expect(events.at(-1)).toMatchObject({ type: 'exchange-closed', outcome: 'completed', responseBytes: 42 });
  });

  it('says what is wrong with an _rpcMessages that is no list, and an _rpcStatus with a bad code', async () => {
    const entry = entryOf(await exportHar(rpcCall(7))) as unknown as Record<string, unknown>;
    const one = {
      ...entry,
      _rpcMessages: 'messages',
      _rpcStatus: { ...(entry._rpcStatus as object), code: '5' },
    };
    const { events, result } = await importText(JSON.stringify({ log: { version: '1.2', entries: [one] } }));
    expect(result.warnings.map((w) => w.message)).toEqual([
      'entry 0: _rpcMessages left out: it is "messages", not a list',
      'entry 0: the RPC status left out: _rpcStatus.code is "5", not a whole number from 0',
    ]);
    expect(events.filter((e) => e.type === 'rpc-message' || e.type === 'rpc-status')).toEqual([]);
    expect(events.filter((e) => e.type === 'chunk')).toHaveLength(6);
  });

  it('a host that imports the file gives a new window the messages back from its store, and exports them again', async () => {
    const call = rpcCall(7);
    const file = join(await freshDir(), 'rpc.har');
    const text = await exportHar(call);
    await writeFile(file, text);
    const host = await SluiceHost.create({ dataDir: await freshDir() });
    defer(() => host.close());
    await host.call('har.import', { path: file });

    // A window opening now is sent the capture so far: the exchange has moved to the store by
    // then, so it comes in short, and the window asks for its messages when it shows them.
    const window = await feedUntilQuiet(host);
    const held = window.find((e) => e.type === 'exchange-held');
    const messages = (direction: string) =>
      call.filter((e) => e.type === 'rpc-message' && e.kind === 'message' && e.direction === direction).length;
    expect(held).toMatchObject({ rpcMessages: { request: messages('request'), response: messages('response') } });
    expect(window.filter((e) => e.type === 'rpc-message')).toEqual([]);
    const { events } = await host.call('exchange.events', { id: held!.type === 'exchange-held' ? held!.id : -1 });
    expect(rpcView(events)).toEqual(rpcView(call));

    const again = join(await freshDir(), 'again.har');
    await host.call('har.export', { path: again });
    const entry = entryOf(await readFile(again, 'utf8'));
    const first = entryOf(text);
    expect(entry._rpcMessages).toEqual(first._rpcMessages);
    expect(entry._rpcStatus).toEqual(first._rpcStatus);
    expect(entry._captureLimits).toEqual(first._captureLimits);
  });

  it('writes that messages past the cap were not kept, and an import reads it back', async () => {
    const detail = 'Sluice keeps the first 20,000 messages of an exchange';
    const note: HostEvent = {
      type: 'capture-limited',
      id: 7,
      direction: 'response',
      t: 1050,
      reason: 'message-cap',
      atOffset: -1,
      detail,
    };
    const entry = entryOf(await exportHar([rpcOpened(7), note, rpcStatus(7, { code: 0, name: 'OK' })]));
    expect(entry._captureLimits).toEqual([
      { direction: 'response', at: expect.any(Number) as number, reason: 'message-cap', atOffset: -1, detail },
    ]);
    const { events } = await importText(JSON.stringify({ log: { entries: [entry] } }));
    expect(events.filter((e) => e.type === 'capture-limited')).toMatchObject([
      { direction: 'response', reason: 'message-cap', detail },
    ]);
  });

  it('imports a status alone, naming it from its code when the file does not', async () => {
    const entry = entryOf(await exportHar([rpcOpened(7), rpcStatus(7, { code: 0, name: 'OK' })]));
    const { name: _name, ...unnamed } = entry._rpcStatus!;
    const { events } = await importText(JSON.stringify({ log: { entries: [{ ...entry, _rpcStatus: unnamed }] } }));
    expect(events.find((e) => e.type === 'rpc-status')).toMatchObject({ code: 0, name: 'OK', source: 'trailers' });
  });
});
