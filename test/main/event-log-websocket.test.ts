import { describe, expect, it } from 'vitest';
import type { WebSocketMessageEvent } from '../../app/proxy-events.js';
import { EventLog } from '../../main/host/event-log.js';

function message(id: number, n: number): WebSocketMessageEvent {
  return {
    type: 'websocket-message',
    id,
    direction: 'response',
    index: n,
    t: n,
    opcode: 1,
    data: `m${n}`,
    binary: false,
    size: 2,
  };
}

describe('EventLog and WebSocket messages', () => {
  it('keeps messages in order up to the per-exchange cap, then counts the rest', () => {
    const log = new EventLog({ maxMessagesPerExchange: 3 });
    log.append({
      type: 'exchange-opened',
      id: 1,
      t: 0,
      wallTime: 0,
      kind: 'websocket',
      intercepted: false,
      clientAddress: '',
      request: { method: 'GET', url: 'ws://x/', httpVersion: '1.1', headers: [] },
    });
    for (let n = 0; n < 5; n++) log.append(message(1, n));
    const kept = log.events().filter((e) => e.type === 'websocket-message');
    expect(kept.map((e) => (e as WebSocketMessageEvent).data)).toEqual(['m0', 'm1', 'm2']);
    expect(log.messagesNotKept(1)).toBe(2);
  });
});
