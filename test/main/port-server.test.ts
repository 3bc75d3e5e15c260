import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import type { EventBatch, HostMessage } from '../../app/contract.js';
import { fromWorkerPort, MAX_UNACKED_BATCHES, servePort } from '../../main/host/port-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();

async function makeHost(): Promise<SluiceHost> {
  const host = await SluiceHost.create({ dataDir: await freshDir() });
  defer(() => host.close());
  return host;
}

/** The page's end of a real channel, read raw: what arrives, and waits on it. */
class PageEnd {
  readonly received: HostMessage[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(readonly port: MessagePort) {
    port.on('message', (message: HostMessage) => {
      this.received.push(message);
      for (const wake of [...this.wakers]) wake();
    });
  }

  get batches(): EventBatch[] {
    return this.received.flatMap((m) => (m.kind === 'batch' ? [m.batch] : []));
  }

  waitFor<T>(pick: () => T | undefined, ms = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = pick();
        if (found === undefined) return;
        this.wakers.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.wakers.delete(check);
        reject(new Error('timed out waiting on the port'));
      }, ms);
      this.wakers.add(check);
      check();
    });
  }

  answerTo(id: number): Promise<HostMessage> {
    return this.waitFor(() => this.received.find((m) => m.kind !== 'batch' && m.id === id));
  }
}

function connect(host: SluiceHost): { page: PageEnd; stop: () => void } {
  const { port1, port2 } = new MessageChannel();
  const stop = servePort(host, fromWorkerPort(port1));
  const page = new PageEnd(port2);
  defer(async () => {
    stop();
    port2.close();
  });
  return { page, stop };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('servePort', () => {
  it('answers calls and opens a feed that starts at seq 0', async () => {
    const host = await makeHost();
    const { page } = connect(host);
    page.port.postMessage({ kind: 'call', id: 7, command: 'proxy.status', request: {} });
    expect(await page.answerTo(7)).toMatchObject({ kind: 'reply', id: 7, reply: { state: 'stopped' } });
    const first = await page.waitFor(() => page.batches[0]);
    expect(first.seq).toBe(0);
  });

  it('answers malformed messages with bad-message and unknown commands with unknown-command', async () => {
    const host = await makeHost();
    const { page } = connect(host);
    page.port.postMessage('proxy.status');
    page.port.postMessage({ kind: 'call', id: 3, request: {} });
    page.port.postMessage({ kind: 'call', id: 4, command: 'proxy.explode', request: {} });
    expect(await page.answerTo(-1)).toMatchObject({ kind: 'error', error: { code: 'bad-message' } });
    expect(await page.answerTo(3)).toMatchObject({ kind: 'error', error: { code: 'bad-message' } });
    expect(await page.answerTo(4)).toMatchObject({ kind: 'error', error: { code: 'unknown-command' } });
  });

  it('holds batches while the page has not acknowledged them, and goes on once it does', async () => {
    const host = await makeHost();
    const { page } = connect(host);
    const toggles = MAX_UNACKED_BATCHES + 4;
    // Each toggle is a proxy-status event; spaced out, each lands in a batch of its own.
    for (let i = 0; i < toggles; i++) {
      await host.call('capture.setEnabled', { enabled: i % 2 === 0 });
      await pause(40);
    }
    expect(page.batches).toHaveLength(MAX_UNACKED_BATCHES);

    const ack = (batch: EventBatch): void => page.port.postMessage({ kind: 'ack', seq: batch.seq });
    page.port.on('message', (message: HostMessage) => message.kind === 'batch' && ack(message.batch));
    page.batches.forEach(ack);
    const statusEvents = (): number =>
      page.batches.flatMap((b) => b.events).filter((e) => e.type === 'proxy-status').length;
    // Held, not lost: every toggle arrives once the page keeps up.
    await page.waitFor(() => (statusEvents() >= toggles ? true : undefined));
    expect(page.batches.map((b) => b.seq)).toEqual(page.batches.map((_, i) => i));
  });

  it('closes the feed when the page end goes away', async () => {
    const host = await makeHost();
    const closeFeed = vi.fn();
    const openFeed = host.openFeed.bind(host);
    vi.spyOn(host, 'openFeed').mockImplementation((consumer) => {
      const close = openFeed(consumer);
      return () => {
        closeFeed();
        close();
      };
    });
    const { page } = connect(host);
    await page.waitFor(() => page.batches[0]);
    page.port.close();
    await vi.waitFor(() => expect(closeFeed).toHaveBeenCalledTimes(1));
  });
});
