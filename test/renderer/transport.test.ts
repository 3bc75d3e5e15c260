import { describe, expect, it, vi } from 'vitest';
import type { BridgeApi, EventBatch, HostMessage } from '../../app/contract.js';
import { BatchFanout } from '../../app/transport/batch-fanout.js';
import { receiveHostMessage } from '../../app/transport/host-messages.js';
import { PendingCalls } from '../../app/transport/pending-calls.js';
import { hostSocketUrl } from '../../renderer/src/transport/connect-host.js';
import { CallError, HostClient } from '../../renderer/src/transport/host-client.js';
import { PortBridge, type MessagePortLike } from '../../app/transport/port-bridge.js';

const batch = (seq: number): EventBatch => ({ seq, events: [] });

/** A port whose other end is the test: what the bridge posts, and a way to answer. */
class FakePort implements MessagePortLike {
  readonly posted: unknown[] = [];
  closed = false;
  private listener: ((event: { data: unknown }) => void) | undefined;

  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  addEventListener(_type: 'message', listener: (event: { data: unknown }) => void): void {
    this.listener = listener;
  }
  start(): void {}
  close(): void {
    this.closed = true;
  }
  deliver(message: HostMessage): void {
    this.listener?.({ data: message });
  }
}

describe('HostClient', () => {
  const bridge = (outcome: Awaited<ReturnType<BridgeApi['call']>>): BridgeApi => ({
    call: async () => outcome,
    listen: () => () => undefined,
  });

  it('returns replies and throws failures as CallError with their code', async () => {
    const ok = new HostClient(bridge({ kind: 'reply', reply: { cleared: true } }));
    expect(await ok.call('capture.clear', {})).toEqual({ cleared: true });
    const refused = new HostClient(
      bridge({ kind: 'error', error: { code: 'bad-request', message: 'port must be...' } }),
    );
    const error = await refused.call('proxy.setPort', { port: -1 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CallError);
    expect(error).toMatchObject({ code: 'bad-request', message: 'port must be...', command: 'proxy.setPort' });
  });

  it('takes a bridge that cannot tell its connection as open', () => {
    const states: string[] = [];
    new HostClient(bridge({ kind: 'reply', reply: null })).onConnection((state) => states.push(state));
    expect(states).toEqual(['open']);
  });
});

describe('BatchFanout', () => {
  it('holds batches until the first listener, then hands them over in order', () => {
    const delivered = vi.fn();
    const fanout = new BatchFanout({ onDelivered: delivered });
    fanout.deliver(batch(0));
    fanout.deliver(batch(1));
    expect(delivered).not.toHaveBeenCalled();
    const seen: number[] = [];
    fanout.add((b) => seen.push(b.seq));
    fanout.deliver(batch(2));
    expect(seen).toEqual([0, 1, 2]);
    expect(delivered.mock.calls.map(([b]) => (b as EventBatch).seq)).toEqual([0, 1, 2]);
  });

  it('asks for a new feed rather than hand a listener a capture with a hole in it', () => {
    const onStale = vi.fn();
    const fanout = new BatchFanout({ maxHeld: 2, onStale });
    for (let seq = 0; seq < 3; seq++) fanout.deliver(batch(seq));
    const seen: number[] = [];
    fanout.add((b) => seen.push(b.seq));
    expect(seen).toEqual([]);
    expect(onStale).toHaveBeenCalledTimes(1);
  });

  it('keeps delivering when one listener throws', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const fanout = new BatchFanout();
    const seen: number[] = [];
    fanout.add(() => {
      throw new Error('broken view');
    });
    fanout.add((b) => seen.push(b.seq));
    fanout.deliver(batch(0));
    expect(seen).toEqual([0]);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});

describe('receiveHostMessage (both bridges receive through it)', () => {
  it('hands a batch to the listeners and an answer to its call', async () => {
    const calls = new PendingCalls();
    const fanout = new BatchFanout();
    const seen: number[] = [];
    fanout.add((b) => seen.push(b.seq));
    const { outcome } = calls.open('proxy.status', {});
    receiveHostMessage({ kind: 'batch', batch: batch(0) }, calls, fanout);
    receiveHostMessage({ kind: 'reply', id: 1, reply: { state: 'stopped' } }, calls, fanout);
    expect(seen).toEqual([0]);
    expect(await outcome).toEqual({ kind: 'reply', reply: { state: 'stopped' } });
  });

  it('says so, and delivers nothing, for what is not part of the contract or answers no call', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const fanout = new BatchFanout();
    const seen = vi.fn();
    fanout.add(seen);
    const calls = new PendingCalls();
    for (const stray of [undefined, 'text', { kind: 'batch', batch: { seq: 1 } }, { kind: 'reply' }]) {
      receiveHostMessage(stray, calls, fanout);
    }
    receiveHostMessage(
      { kind: 'error', id: 7, error: { code: 'bad-request', message: 'no such call' } },
      calls,
      fanout,
    );
    expect(seen).not.toHaveBeenCalled();
    expect(warn.mock.calls.map(([text]) => String(text))).toEqual([
      ...Array<string>(4).fill('sluice: ignored a message from the host that is not part of the contract'),
      'sluice: the host refused a message: no such call',
    ]);
    warn.mockRestore();
  });
});

describe('PortBridge', () => {
  it('asks for a port on first use, sends calls made before it came, and acknowledges delivered batches', async () => {
    const requestPort = vi.fn();
    const bridge = new PortBridge(requestPort);
    const states: string[] = [];
    bridge.onConnection((state) => states.push(state));
    const outcome = bridge.call('proxy.status', {});
    expect(requestPort).toHaveBeenCalledTimes(1);

    const port = new FakePort();
    bridge.attach(port);
    expect(states).toEqual(['connecting', 'open']);
    expect(port.posted).toEqual([{ kind: 'call', id: 1, command: 'proxy.status', request: {} }]);
    port.deliver({ kind: 'reply', id: 1, reply: { state: 'running' } });
    expect(await outcome).toEqual({ kind: 'reply', reply: { state: 'running' } });

    port.deliver({ kind: 'batch', batch: batch(0) });
    expect(port.posted).toHaveLength(1);
    const seen: number[] = [];
    bridge.listen((b) => seen.push(b.seq));
    expect(seen).toEqual([0]);
    expect(port.posted.at(-1)).toEqual({ kind: 'ack', seq: 0 });
    expect(requestPort).toHaveBeenCalledTimes(1);
  });

  it('fails calls the old host never answered when a new port replaces it', async () => {
    const bridge = new PortBridge();
    const old = new FakePort();
    bridge.attach(old);
    const outcome = bridge.call('proxy.start', {});
    bridge.attach(new FakePort());
    expect(old.closed).toBe(true);
    expect(await outcome).toEqual({
      kind: 'error',
      error: { code: 'failed', message: 'the Sluice host restarted before proxy.start was answered' },
    });
  });

  it('reports a stopped host as closed, with the reason', async () => {
    const bridge = new PortBridge();
    bridge.attach(new FakePort());
    const outcome = bridge.call('proxy.status', {});
    const states: [string, string | undefined][] = [];
    bridge.onConnection((state, detail) => states.push([state, detail]));
    bridge.detach('the Sluice proxy process stopped (exit code 9)');
    expect(states.at(-1)).toEqual(['closed', 'the Sluice proxy process stopped (exit code 9)']);
    expect(await outcome).toMatchObject({ kind: 'error', error: { code: 'failed' } });
  });
});

describe('hostSocketUrl', () => {
  it('uses the page origin, with wss under https', () => {
    expect(hostSocketUrl({ protocol: 'http:', host: '127.0.0.1:5123' })).toBe('ws://127.0.0.1:5123/ws');
    expect(hostSocketUrl({ protocol: 'https:', host: 'localhost:443' })).toBe('wss://localhost:443/ws');
  });
});
