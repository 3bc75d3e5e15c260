import { describe, expect, it } from 'vitest';
import type { WebSocketMessageEvent } from '../../app/proxy-events.js';
import { messageTest, searchedTexts } from '../../renderer/src/websocket/message-filter.js';
import { describeCounts } from '../../renderer/src/messages/message-common.js';

const message = (fields: Partial<WebSocketMessageEvent>): WebSocketMessageEvent => ({
  type: 'websocket-message',
  id: 1,
  direction: 'request',
  index: 0,
  t: 0,
  opcode: 1,
  data: '',
  binary: false,
  size: 0,
  ...fields,
});

const hello = message({ data: 'Hello there' });
const echo = message({ direction: 'response', data: '{"type":"echo","text":"hello"}' });
// 01 02 03 04 fe
const bytes = message({ direction: 'request', opcode: 2, binary: true, data: 'AQIDBP4=', size: 5 });
const close = message({ direction: 'response', opcode: 8, data: 'done', closeCode: 4000 });

describe('messageTest', () => {
  it('finds text in a message, ignoring case', () => {
    const test = messageTest({ text: 'HELLO', choice: '' });
    expect([hello, echo, bytes, close].map(test)).toEqual([true, true, false, false]);
  });

  it('keeps one direction', () => {
    expect([hello, echo, bytes, close].map(messageTest({ text: '', choice: 'request' }))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect([hello, echo].map(messageTest({ text: 'hello', choice: 'response' }))).toEqual([false, true]);
  });

  it('finds a binary message by the hex its row shows or the base64 its detail shows', () => {
    expect(messageTest({ text: '03 04 FE', choice: '' })(bytes)).toBe(true);
    expect(messageTest({ text: 'AQIDBP4', choice: '' })(bytes)).toBe(true);
    expect(messageTest({ text: '05', choice: '' })(bytes)).toBe(false);
  });

  it('finds a close by its code and reason', () => {
    expect(searchedTexts(close)).toEqual(['4000 done']);
    expect(messageTest({ text: '4000', choice: '' })(close)).toBe(true);
  });
});

describe('describeCounts while filtering', () => {
  const counts = { sent: 2, received: 3, sentBytes: 10, receivedBytes: 20 };

  it('says how many of the messages show', () => {
    expect(describeCounts(counts, 0, 1)).toBe('1 of 5 messages · 2 sent (10 B) · 3 received (20 B)');
    expect(describeCounts(counts, 0)).toBe('2 sent (10 B) · 3 received (20 B)');
  });
});
