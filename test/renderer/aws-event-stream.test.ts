import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, EventStreamSplitter } from '../../renderer/src/sse/aws-event-stream.js';
import { assembleLlmText } from '../../renderer/src/sse/llm-text.js';
import type { StreamEventRow } from '../../renderer/src/sse/stream-events.js';
import { bedrockChunk, CLAUDE_EVENTS as CLAUDE, eventStreamMessage as message } from '../helpers/aws-event-stream.js';

/** Feeds `body` cut into `pieces` chunks (at most), one ms apart. */
function split(body: Buffer, pieceSize: number): StreamEventRow[] {
  const splitter = new EventStreamSplitter();
  const rows: StreamEventRow[] = [];
  for (let at = 0, chunk = 0; at < body.length; at += pieceSize, chunk++) {
    rows.push(...splitter.pushBytes(body.subarray(at, at + pieceSize), 100 + chunk, chunk));
  }
  rows.push(...splitter.end());
  return rows;
}

describe('AWS event stream (Bedrock)', () => {
  it('computes the CRC-32 zlib does', () => {
    const bytes = Buffer.from('The sluice lets each token through as it comes.');
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('reads Claude on Bedrock as Claude: each chunk its model event, however the bytes are cut', () => {
    const body = Buffer.concat(CLAUDE.map(bedrockChunk));
    for (const pieceSize of [body.length, 7, 1]) {
      const rows = split(body, pieceSize);
      expect(rows.map((r) => r.event)).toEqual(CLAUDE.map(() => 'chunk'));
      expect(rows.map((r) => JSON.parse(r.data) as unknown)).toEqual(CLAUDE);
      expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    }
    const llm = assembleLlmText(split(body, 64));
    expect(llm).toMatchObject({
      provider: 'anthropic',
      text: 'Hello from Bedrock',
      model: 'claude-sonnet-4-5',
      finishReason: 'end_turn',
      done: true,
    });
    expect(llm.usage).toEqual({ input: 9, output: 4 });
  });

  it('says which chunks each message arrived in, and when the last of it came', () => {
    const body = Buffer.concat([message({ ':event-type': 'a' }, 'one'), message({ ':event-type': 'b' }, 'two')]);
    const first = message({ ':event-type': 'a' }, 'one').length;
    const rows = split(body, first - 2);
    expect(rows.map((r) => [r.event, r.data, r.chunkRange, r.t])).toEqual([
      ['a', 'one', [0, 1], 101],
      ['b', 'two', [1, 2], 102],
    ]);
  });

  it('reports a message whose CRC does not match and reads on; a broken prelude ends the reading', () => {
    const bad = message({ ':event-type': 'chunk' }, 'tampered');
    bad.writeUInt8(bad[bad.length - 6]! ^ 0xff, bad.length - 6);
    const good = message({ ':event-type': 'chunk' }, 'fine');
    const rows = split(Buffer.concat([good, bad, good]), 5);
    expect(rows.map((r) => r.event)).toEqual(['chunk', 'invalid message', 'chunk']);
    expect(rows[1]!.data).toMatch(
      /^message 2: its CRC \(0x[0-9a-f]{8}\) does not match its bytes \(0x[0-9a-f]{8}\): not decoded$/,
    );
    expect(rows[2]!.data).toBe('fine');

    const brokenPrelude = Buffer.from(good);
    brokenPrelude.writeUInt8(brokenPrelude[2]! ^ 0x01, 2);
    const after = split(Buffer.concat([good, brokenPrelude, good]), 1000);
    expect(after.map((r) => [r.event, r.data])).toEqual([
      ['chunk', 'fine'],
      ['invalid message', "message 2: its prelude's CRC does not match, so no length after it can be trusted"],
    ]);

    expect(split(good.subarray(0, 20), 100).map((r) => r.data)).toEqual([
      'message 1: the stream ended 20 bytes into it',
    ]);
  });

  it('reads ConverseStream: text, reasoning and tool input by block, the stop reason and the usage', () => {
    const converse = (event: string, body: object) =>
      message({ ':event-type': event, ':message-type': 'event' }, JSON.stringify(body));
    const llm = assembleLlmText(
      split(
        Buffer.concat([
          converse('messageStart', { role: 'assistant' }),
          converse('contentBlockDelta', {
            contentBlockIndex: 0,
            delta: { reasoningContent: { text: 'Let me think.' } },
          }),
          converse('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'It is ' } }),
          converse('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'sunny.' } }),
          converse('contentBlockStart', {
            contentBlockIndex: 2,
            start: { toolUse: { toolUseId: 't1', name: 'weather' } },
          }),
          converse('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{"city":' } } }),
          converse('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '"Oslo"}' } } }),
          converse('messageStop', { stopReason: 'tool_use' }),
          converse('metadata', {
            usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 },
            metrics: { latencyMs: 900 },
          }),
        ]),
        50,
      ),
    );
    expect(llm).toMatchObject({
      provider: 'bedrock-converse',
      text: 'It is sunny.',
      thinking: 'Let me think.',
      toolInput: '{"city":"Oslo"}',
      finishReason: 'tool_use',
      done: true,
    });
    expect(llm.usage).toEqual({ input: 30, output: 12 });
    expect(llm.toolCalls).toEqual([{ name: 'weather', id: 't1', arguments: '{"city":"Oslo"}' }]);
  });

  it('names an exception by its type, and keeps a payload that is not a Bedrock chunk as it came', () => {
    const rows = split(
      Buffer.concat([
        message({ ':exception-type': 'throttlingException', ':message-type': 'exception' }, '{"message":"slow down"}'),
        message({ ':event-type': 'contentBlockDelta' }, '{"delta":{"text":"hi"},"contentBlockIndex":0}'),
      ]),
      1000,
    );
    expect(rows.map((r) => [r.event, r.data])).toEqual([
      ['throttlingException', '{"message":"slow down"}'],
      ['contentBlockDelta', '{"delta":{"text":"hi"},"contentBlockIndex":0}'],
    ]);
  });
});
