/**
 * The contract (app/contract.ts) as a transport must carry it, written once and run over every
 * transport: the headless host's WebSocket and the message ports under Vitest
 * (test/main/contract-ws.test.ts, contract-port.test.ts), and Electron's preload bridge under
 * Playwright (e2e/electron.spec.ts). Cases use node:assert so either runner can run them, and
 * they share no state but the host: each gets a fresh client, that is a fresh feed from seq 0, and
 * none assumes the host is new (in Electron one app serves every case).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CommandName, EventBatch, HostEvent } from '../../app/contract.js';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { CallError, type HostClient } from '../../renderer/src/transport/host-client.js';
import { fetchViaProxy } from '../helpers/client.js';
import { startServer } from '../helpers/servers.js';

export interface ContractContext {
  /** A client on a fresh connection (its first batch has seq 0). */
  readonly client: HostClient;
  /** Sends a GET for `url` through the proxy on `proxyPort`. */
  readonly send: (proxyPort: number, url: string) => Promise<{ status: number; body: Buffer }>;
}

export interface ContractCase {
  readonly name: string;
  readonly run: (context: ContractContext) => Promise<void>;
}

export const sendThroughProxy: ContractContext['send'] = async (proxyPort, url) => {
  const response = await fetchViaProxy(proxyPort, url);
  if (response.error) throw response.error;
  return { status: response.status, body: response.body };
};

const GREETING = 'hello through sluice\n';
/** Repetitive enough that gzip shrinks it: the bytes as forwarded and as decoded differ. */
const ZIPPED_TEXT = 'event: token\ndata: sluice\n\n'.repeat(64);

/** `/gzip...` answers gzip-encoded text; anything else plain text. */
const upstreamHandler: http.RequestListener = (req, res) => {
  if (req.url?.startsWith('/gzip')) {
    const body = gzipSync(ZIPPED_TEXT);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip', 'Content-Length': body.length });
    return res.end(body);
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(GREETING);
};

export const contractCases: readonly ContractCase[] = [
  {
    name: 'proxy.start, proxy.status, proxy.stop and proxy.setPort answer with the proxy state',
    run: async ({ client }) => {
      const log = new BatchLog(client);
      try {
        const moved = await client.call('proxy.setPort', { port: 0 });
        assert.notEqual(moved.state, 'error');
        const started = await client.call('proxy.start', {});
        assert.equal(started.state, 'running');
        assert.ok(started.port > 0, 'a running proxy says which port it took');
        assert.deepEqual(await client.call('proxy.status', {}), started);
        const stopped = await client.call('proxy.stop', {});
        assert.equal(stopped.state, 'stopped');
        await log.waitFor((e) => e.type === 'proxy-status' && e.status.state === 'stopped', 'proxy-status stopped');
        assert.equal((await client.call('proxy.start', {})).state, 'running');
        assert.equal((await client.call('settings.get', {})).version, 1);
      } finally {
        log.stop();
      }
    },
  },
  {
    name: 'capture.setEnabled turns body capture off and on, and says so in proxy-status',
    run: async ({ client, send }) => {
      const log = new BatchLog(client);
      const upstream = await startServer(upstreamHandler);
      try {
        const port = await runningProxyPort(client);
        const off = await client.call('capture.setEnabled', { enabled: false });
        assert.equal(off.captureEnabled, false);
        await log.waitFor((e) => e.type === 'proxy-status' && !e.status.captureEnabled, 'proxy-status, capture off');
        const url = `${upstream.url}/hello/uncaptured-${Date.now()}`;
        assert.equal((await send(port, url)).status, 200);
        const opened = await log.exchangeFor(url);
        await log.closedEvent(opened.id);
        assert.equal(await client.call('body.read', { id: opened.id, direction: 'response' }), null);
        const on = await client.call('capture.setEnabled', { enabled: true });
        assert.equal(on.captureEnabled, true);
      } finally {
        log.stop();
        await upstream.close();
      }
    },
  },
  {
    name: 'capture.setKept says whether the capture outlasts this run, in proxy-status and settings',
    run: async ({ client }) => {
      const log = new BatchLog(client);
      try {
        assert.equal((await client.call('proxy.status', {})).captureKept, false);
        const kept = await client.call('capture.setKept', { kept: true });
        assert.equal(kept.captureKept, true);
        await log.waitFor((e) => e.type === 'proxy-status' && e.status.captureKept, 'proxy-status, capture kept');
        assert.equal((await client.call('settings.get', {})).keepCapture, true);
        assert.equal((await client.call('capture.setKept', { kept: false })).captureKept, false);
      } finally {
        log.stop();
      }
    },
  },
  {
    name: 'a request through the proxy arrives as events, in batches numbered from seq 0',
    run: async ({ client, send }) => {
      const log = new BatchLog(client);
      const upstream = await startServer(upstreamHandler);
      try {
        const port = await runningProxyPort(client);
        const url = `${upstream.url}/hello/events-${Date.now()}`;
        const response = await send(port, url);
        assert.equal(response.body.toString(), GREETING);
        const opened = await log.exchangeFor(url);
        await log.closedEvent(opened.id);

        assert.equal(log.batches[0]?.seq, 0, 'a feed starts with seq 0');
        log.batches.forEach((batch, i) => assert.equal(batch.seq, i, 'batches arrive in order, none missing'));
        const types = log.events.filter((e) => 'id' in e && e.id === opened.id).map((e) => e.type);
        const first = (type: HostEvent['type']): number => types.indexOf(type);
        assert.ok(first('exchange-opened') >= 0, 'exchange-opened');
        assert.ok(first('response-head') > first('exchange-opened'), 'response-head after exchange-opened');
        assert.ok(first('chunk') > first('response-head'), 'a chunk after the response head');
        assert.equal(types.at(-1), 'exchange-closed', 'exchange-closed last');
      } finally {
        log.stop();
        await upstream.close();
      }
    },
  },
  {
    name: 'body.read gives a body as forwarded, and decoded when asked',
    run: async ({ client, send }) => {
      const log = new BatchLog(client);
      const upstream = await startServer(upstreamHandler);
      try {
        const port = await runningProxyPort(client);
        const url = `${upstream.url}/gzip-${Date.now()}`;
        const response = await send(port, url);
        const opened = await log.exchangeFor(url);
        await log.closedEvent(opened.id);

        const raw = await client.call('body.read', { id: opened.id, direction: 'response' });
        assert.ok(raw, 'the response body was captured');
        const forwarded = Buffer.from(raw.base64, 'base64');
        assert.deepEqual(forwarded, response.body, 'the bytes as forwarded, still gzip');
        assert.equal(gunzipSync(forwarded).toString(), ZIPPED_TEXT);
        assert.equal(raw.decoded, undefined);

        const decoded = await client.call('body.read', { id: opened.id, direction: 'response', decoded: true });
        assert.ok(decoded?.decoded, 'a decoded read says what it undid');
        assert.equal(decoded.decoded.encoding, 'gzip');
        assert.equal(decoded.decoded.decodedSize, ZIPPED_TEXT.length);
        assert.equal(Buffer.from(decoded.base64, 'base64').toString(), ZIPPED_TEXT);

        const slice = await client.call('body.read', {
          id: opened.id,
          direction: 'response',
          decoded: true,
          start: 7,
          end: 12,
        });
        assert.equal(Buffer.from(slice!.base64, 'base64').toString(), ZIPPED_TEXT.slice(7, 12));
      } finally {
        log.stop();
        await upstream.close();
      }
    },
  },
  {
    name: 'capture.clear forgets bodies and tells every feed with capture-cleared',
    run: async ({ client, send }) => {
      const log = new BatchLog(client);
      const upstream = await startServer(upstreamHandler);
      try {
        const port = await runningProxyPort(client);
        const url = `${upstream.url}/hello/cleared-${Date.now()}`;
        await send(port, url);
        const opened = await log.exchangeFor(url);
        await log.closedEvent(opened.id);
        assert.deepEqual(await client.call('capture.clear', {}), { cleared: true });
        await log.waitFor((e) => e.type === 'capture-cleared', 'capture-cleared');
        assert.equal(await client.call('body.read', { id: opened.id, direction: 'response' }), null);
      } finally {
        log.stop();
        await upstream.close();
      }
    },
  },
  {
    name: 'ca.get gives the CA certificate and how to trust it',
    run: async ({ client }) => {
      const ca = await client.call('ca.get', {});
      assert.match(ca.certPem, /^-----BEGIN CERTIFICATE-----/);
      assert.match(ca.path, /ca\.pem$/);
      assert.ok(ca.trust.length > 0, 'trust instructions for at least one platform');
      for (const instructions of ca.trust) {
        assert.ok(instructions.title.length > 0);
        assert.ok(instructions.steps.length > 0, `steps for ${instructions.platform}`);
      }
    },
  },
  {
    name: 'schemas.add takes chosen files, every feed hears schemas-changed, schemas.remove takes them away',
    run: async ({ client }) => {
      const log = new BatchLog(client);
      try {
        const desc = await readFile(new URL('../fixtures/proto/forecast.desc', import.meta.url));
        const added = await client.call('schemas.add', {
          files: [{ name: 'forecast.desc', data: desc.toString('base64') }],
        });
        const source = added.sources.find((s) => s.label === 'forecast.desc');
        assert.ok(source, 'the new source is listed');
        assert.deepEqual(source.services, ['sluice.demo.v1.Forecasts']);
        assert.ok(added.descriptorSet.length > desc.length, 'the set travels whole, base64');
        await log.waitFor((e) => e.type === 'schemas-changed' && e.revision === added.revision, 'schemas-changed');
        const removed = await client.call('schemas.remove', { sourceId: source.id });
        assert.ok(!removed.sources.some((s) => s.id === source.id));
        assert.deepEqual(await client.call('schemas.get', {}), removed);
      } finally {
        log.stop();
      }
    },
  },
  {
    name: 'an unknown command or a bad request fails with a CallError that says which',
    run: async ({ client }) => {
      await assert.rejects(
        client.call('proxy.explode' as CommandName, {} as never),
        (err: unknown) =>
          err instanceof CallError && err.code === 'unknown-command' && /proxy\.explode/.test(err.message),
      );
      await assert.rejects(
        client.call('proxy.setPort', { port: 70_000 }),
        (err: unknown) => err instanceof CallError && err.code === 'bad-request' && /port/.test(err.message),
      );
      await assert.rejects(
        client.call('capture.setEnabled', { enabled: 'yes' as unknown as boolean }),
        (err: unknown) => err instanceof CallError && err.code === 'bad-request',
      );
      await assert.rejects(
        client.call('body.read', { id: 1, direction: 'sideways' as 'response' }),
        (err: unknown) => err instanceof CallError && err.code === 'bad-request',
      );
      // The connection survives refused calls.
      assert.ok((await client.call('proxy.status', {})).state);
    },
  },
];

/** Starts the proxy on a free port unless it runs; resolves with its port. */
async function runningProxyPort(client: HostClient): Promise<number> {
  const status = await client.call('proxy.status', {});
  if (status.state === 'running') return status.port;
  await client.call('proxy.setPort', { port: 0 });
  const started = await client.call('proxy.start', {});
  assert.equal(started.state, 'running', started.error);
  return started.port;
}

const WAIT_MS = 10_000;

/** Every batch a client receives, with waits on what they carry. */
class BatchLog {
  readonly batches: EventBatch[] = [];
  readonly stop: () => void;
  private readonly wakers = new Set<() => void>();

  constructor(client: HostClient) {
    this.stop = client.listen((batch) => {
      this.batches.push(batch);
      for (const wake of [...this.wakers]) wake();
    });
  }

  get events(): HostEvent[] {
    return this.batches.flatMap((batch) => batch.events);
  }

  /** The first event that matches, already here or still to come. */
  waitFor(matches: (event: HostEvent) => boolean, what: string): Promise<HostEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find(matches);
        if (!found) return;
        this.wakers.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.wakers.delete(check);
        reject(new Error(`no ${what} within ${WAIT_MS} ms (saw ${this.events.map((e) => e.type).join(', ')})`));
      }, WAIT_MS);
      this.wakers.add(check);
      check();
    });
  }

  /** URLs in the cases carry a timestamp: a shared host's replay may hold an earlier upstream on the same port. */
  async exchangeFor(url: string): Promise<ExchangeOpenedEvent> {
    const event = await this.waitFor(
      (e) => e.type === 'exchange-opened' && e.request.url === url,
      `exchange for ${url}`,
    );
    return event as ExchangeOpenedEvent;
  }

  closedEvent(id: number): Promise<HostEvent> {
    return this.waitFor((e) => e.type === 'exchange-closed' && e.id === id, `exchange-closed for ${id}`);
  }
}
