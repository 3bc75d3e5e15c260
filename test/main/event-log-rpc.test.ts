import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { RpcMessageEvent } from '../../app/proxy-events.js';
import { EventLog } from '../../main/host/event-log.js';
import { rpcCall, rpcMessage, rpcOpened, rpcStatus } from './rpc-events.js';

const messagesIn = (events: readonly HostEvent[]): RpcMessageEvent[] =>
  events.filter((e): e is RpcMessageEvent => e.type === 'rpc-message');

describe('EventLog and gRPC, gRPC-Web and Connect messages', () => {
  it('keeps a call’s messages and status in order, chunks interleaved where they came', () => {
    const log = new EventLog();
    const call = rpcCall(1);
    for (const event of call) log.append(event);
    expect(log.events()).toEqual(call);
    expect(log.take(1)?.events).toEqual(call);
  });

  it('keeps messages up to the per-exchange cap, counts the rest, and always keeps the status', () => {
    const log = new EventLog({ maxMessagesPerExchange: 3 });
    log.append(rpcOpened(1));
    for (let n = 0; n < 5; n++) log.append(rpcMessage(1, n));
    log.append(rpcStatus(1));
    const events = log.events();
    expect(messagesIn(events).map((m) => [m.direction, m.index])).toEqual([
      ['request', 0],
      ['response', 0],
      ['request', 1],
    ]);
    expect(events.at(-1)).toEqual(rpcStatus(1));
    expect(log.messagesNotKept(1)).toBe(2);
    expect(log.take(1)?.messagesNotKept).toBe(2);
  });

  it('ignores messages of an exchange it does not hold', () => {
    const log = new EventLog();
    log.append(rpcMessage(9, 0));
    log.append(rpcStatus(9));
    expect(log.events()).toEqual([]);
    expect(log.size).toBe(0);
  });
});
