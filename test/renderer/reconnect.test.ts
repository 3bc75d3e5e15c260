import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  CallMessage,
  HostEvent,
  HostMessage,
  ProxyStatus,
  RulesState,
  SchemaList,
  SystemProxyStatus,
} from '../../app/contract.js';
import { followHost } from '../../renderer/src/store/follow-host.js';
import { createSluiceStore, type SluiceStore } from '../../renderer/src/store/store.js';
import { HostClient } from '../../renderer/src/transport/host-client.js';
import { WsBridge, type WebSocketLike } from '../../renderer/src/transport/ws-bridge.js';
import {
  closedEvent,
  openedEvent,
  runningProxy as running,
  systemProxyOff as systemOff,
} from '../helpers/host-events.js';
import { animationFrames } from './animation-frames.js';

const NO_RULES: RulesState = { revision: 0, rules: [], matched: [] };

/**
 * The page as main.tsx wires it (a WsBridge, a HostClient, the store following it) against a host
 * the test plays through fake sockets: each reconnect is a new FakeSocket the test accepts.
 */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly calls: CallMessage[] = [];
  private readonly listeners: { type: string; listener: (event: never) => void }[] = [];

  send(text: string): void {
    this.calls.push(JSON.parse(text) as CallMessage);
  }
  close(): void {
    this.readyState = 3;
  }
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void;
  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.push({ type, listener });
  }

  // The host's side.
  accept(): void {
    this.readyState = 1;
    this.emit('open', undefined);
  }
  say(message: HostMessage): void {
    this.emit('message', { data: JSON.stringify(message) });
  }
  feed(seq: number, events: HostEvent[]): void {
    this.say({ kind: 'batch', batch: { seq, events } });
  }
  /** Answers every call for the statuses the page has made on this socket. */
  answerStatuses(proxy: ProxyStatus, systemProxy: SystemProxyStatus, rules: RulesState = NO_RULES): void {
    for (const call of this.calls) {
      if (call.command === 'proxy.status') this.say({ kind: 'reply', id: call.id, reply: proxy });
      if (call.command === 'systemProxy.status') this.say({ kind: 'reply', id: call.id, reply: systemProxy });
      if (call.command === 'rules.get') this.say({ kind: 'reply', id: call.id, reply: rules });
    }
  }
  /** Answers the page's `schemas.get` calls not answered yet. */
  answerSchemas(list: SchemaList): void {
    for (const call of this.calls) {
      if (call.command === 'schemas.get' && !this.answered.has(call.id)) {
        this.answered.add(call.id);
        this.say({ kind: 'reply', id: call.id, reply: list });
      }
    }
  }
  private readonly answered = new Set<number>();
  drop(code: number, reason: string): void {
    this.readyState = 3;
    this.emit('close', { code, reason });
  }

  private emit(type: string, event: unknown): void {
    for (const entry of this.listeners) if (entry.type === type) (entry.listener as (e: unknown) => void)(event);
  }
}

const stopped: ProxyStatus = { ...running, state: 'stopped' };

interface Page {
  readonly store: SluiceStore;
  readonly client: HostClient;
  readonly frames: ReturnType<typeof animationFrames>;
  /** The socket the page opens next, once it has. */
  nextSocket(): Promise<FakeSocket>;
}

function openPage(): Page {
  const frames = animationFrames();
  const sockets: FakeSocket[] = [];
  const bridge = new WsBridge({
    url: 'ws://127.0.0.1:5000/ws',
    WebSocket: class extends FakeSocket {
      constructor() {
        super();
        sockets.push(this);
      }
    },
    backoffMs: () => 0,
  });
  const client = new HostClient(bridge);
  const store = createSluiceStore();
  const stop = followHost(client, store);
  cleanups.push(() => {
    stop();
    bridge.close();
  });
  let taken = 0;
  return {
    store,
    client,
    frames,
    async nextSocket() {
      await vi.waitFor(() => expect(sockets.length).toBeGreaterThan(taken));
      return sockets[taken++]!;
    },
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.unstubAllGlobals();
});

const notice = (t: number, message: string): HostEvent => ({ type: 'host-notice', t, level: 'warning', message });

describe('the page across a reconnect', () => {
  it('says it lost the host and is retrying, then shows the new feed in place of the old', async () => {
    const page = openPage();
    const first = await page.nextSocket();
    expect(page.store.getState().connection).toBe('connecting');
    first.accept();
    first.answerStatuses(running, systemOff);
    first.feed(0, [openedEvent(1), closedEvent(1), openedEvent(2), notice(5, 'settings.json was replaced')]);
    await vi.waitFor(() => expect(page.store.getState().traffic.status).toEqual(running));
    page.frames.runAll();
    page.store.getState().select(2);
    expect(page.store.getState()).toMatchObject({ connection: 'open', selectedId: 2 });
    expect(page.store.getState().traffic.order).toEqual([1, 2]);

    first.drop(1001, 'Sluice is shutting down');
    expect(page.store.getState()).toMatchObject({
      connection: 'closed',
      connectionDetail: 'Sluice is shutting down; retrying in 0 s',
    });
    // Until the host is back the page keeps showing what it had.
    expect(page.store.getState().traffic.order).toEqual([1, 2]);

    const second = await page.nextSocket();
    expect(page.store.getState()).toMatchObject({ connection: 'connecting', connectionDetail: 'attempt 2' });
    second.accept();
    expect(page.store.getState().connection).toBe('open');
    // The replayed log has no statuses, rules, mocks or schemas: the page asks again on the new socket.
    expect(second.calls.map((c) => c.command).sort()).toEqual([
      'mocks.get',
      'proxy.status',
      'rules.get',
      'schemas.get',
      'systemProxy.status',
    ]);
    second.answerStatuses(stopped, systemOff);
    // While the page was away the host restarted: exchange 2 is gone, the notice is said again.
    second.feed(0, [openedEvent(1), closedEvent(1), notice(3, 'settings.json was replaced')]);
    await vi.waitFor(() => expect(page.store.getState().traffic.status).toEqual(stopped));
    expect(page.store.getState().traffic.rules).toEqual(NO_RULES);
    page.frames.runAll();

    const { traffic, selectedId } = page.store.getState();
    expect(traffic.order).toEqual([1]);
    expect(selectedId).toBeUndefined();
    expect(traffic.notices.map((n) => n.message)).toEqual(['settings.json was replaced']);
  });

  it('asks for the schemas on each connect and each schemas-changed; a restarted host counts again', async () => {
    const page = openPage();
    const first = await page.nextSocket();
    first.accept();
    const one = schemaList(1, ['forecast.proto']);
    first.answerSchemas(one);
    await vi.waitFor(() => expect(page.store.getState().schemas?.list).toEqual(one));

    // Live news: asked again; answers arriving out of order leave the newest.
    first.feed(0, [{ type: 'schemas-changed', t: 1, revision: 2 }]);
    first.feed(1, [{ type: 'schemas-changed', t: 2, revision: 3 }]);
    await vi.waitFor(() => expect(first.calls.filter((c) => c.command === 'schemas.get')).toHaveLength(3));
    const [, second, third] = first.calls.filter((c) => c.command === 'schemas.get');
    const three = schemaList(3, ['forecast.proto', 'units.desc']);
    first.say({ kind: 'reply', id: third!.id, reply: three });
    first.say({ kind: 'reply', id: second!.id, reply: schemaList(2, ['forecast.proto', 'old.desc']) });
    await vi.waitFor(() => expect(page.store.getState().schemas?.list).toEqual(three));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(page.store.getState().schemas?.list).toEqual(three);

    // A restarted host starts from revision 0 again: its list is taken all the same.
    first.drop(1001, 'Sluice is shutting down');
    const next = await page.nextSocket();
    next.accept();
    const none = schemaList(0, []);
    next.answerSchemas(none);
    await vi.waitFor(() => expect(page.store.getState().schemas?.list).toEqual(none));
  });

  it('fails a call the lost host never answered, naming it, and calls through the new socket after', async () => {
    const page = openPage();
    const first = await page.nextSocket();
    first.accept();
    const clearing = page.client.call('capture.clear', {}).catch((err: unknown) => err);
    await vi.waitFor(() => expect(first.calls.map((c) => c.command)).toContain('capture.clear'));
    first.drop(1006, '');
    expect(await clearing).toMatchObject({
      code: 'failed',
      message: 'the connection to Sluice closed before capture.clear was answered',
    });
    expect(page.store.getState().connectionDetail).toBe('connection lost; retrying in 0 s');

    const second = await page.nextSocket();
    const status = page.client.call('proxy.status', {});
    second.accept();
    second.answerStatuses(running, systemOff);
    expect(await status).toEqual(running);
  });
});

function schemaList(revision: number, labels: string[]): SchemaList {
  return {
    revision,
    sources: labels.map((label, i) => ({ id: i + 1, kind: 'descriptor-set', label, services: [], files: 1 })),
    descriptorSet: '',
  };
}
