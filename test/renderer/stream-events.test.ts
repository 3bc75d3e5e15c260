import { describe, expect, it } from 'vitest';
import { headerValue, type ChunkEvent, type SseEvent } from '../../app/proxy-events.js';
import {
  chunkAtOffset,
  feedBodyBytes,
  isEventStream,
  isNdjson,
  NdjsonSplitter,
  streamKind,
  type StreamEventRow,
} from '../../renderer/src/sse/stream-events.js';

const ollamaLine = (content: string, done = false) =>
  JSON.stringify({
    model: 'llama3.2',
    created_at: '2025-01-10T12:00:00Z',
    message: { role: 'assistant', content },
    done,
  });

describe('content types', () => {
  it('recognises event streams with parameters and any case', () => {
    expect(isEventStream('text/event-stream')).toBe(true);
    expect(isEventStream('Text/Event-Stream; charset=utf-8')).toBe(true);
    expect(isEventStream('text/plain')).toBe(false);
    expect(isEventStream(undefined)).toBe(false);
  });

  it('recognises the names NDJSON goes by', () => {
    for (const type of [
      'application/x-ndjson',
      'application/jsonl',
      'application/json-seq',
      'application/stream+json',
      'application/x-jsonlines',
      'application/x-ndjson; charset=utf-8',
    ]) {
      expect(isNdjson(type), type).toBe(true);
    }
    expect(isNdjson('application/json')).toBe(false);
    expect(isNdjson('text/event-stream')).toBe(false);
  });

  it('picks the view from the header, matched without regard to case', () => {
    const headers = [
      ['Date', 'Fri, 10 Jan 2025 12:00:00 GMT'],
      ['Content-Type', 'application/x-ndjson'],
    ] as const;
    expect(headerValue(headers, 'content-type')).toBe('application/x-ndjson');
    expect(streamKind(headerValue(headers, 'content-type'))).toBe('ndjson');
    expect(streamKind('text/event-stream')).toBe('sse');
    expect(streamKind('application/json')).toBeUndefined();
  });
});

describe('StreamEventRow', () => {
  it('is a shape SseEvent already has, so SSE events need no copying', () => {
    const event: SseEvent = {
      type: 'sse-event',
      id: 1,
      index: 0,
      eventId: undefined,
      event: 'message',
      data: '{}',
      t: 5,
      chunkRange: [0, 1],
    };
    const rows: readonly StreamEventRow[] = [event];
    expect(rows[0]!.chunkRange).toEqual([0, 1]);
  });
});

describe('NdjsonSplitter', () => {
  it('emits each complete line with the time and index of the chunk that completed it', () => {
    const splitter = new NdjsonSplitter();
    const rows = splitter.push(`${ollamaLine('The')}\n${ollamaLine(' sky')}\n`, 12.5, 0);
    expect(rows).toEqual([
      { index: 0, data: ollamaLine('The'), t: 12.5, chunkRange: [0, 0] },
      { index: 1, data: ollamaLine(' sky'), t: 12.5, chunkRange: [0, 0] },
    ]);
    expect(splitter.count).toBe(2);
  });

  it('joins a line split over three chunks and reports the range [first, last]', () => {
    const line = ollamaLine(' is blue.');
    const splitter = new NdjsonSplitter();
    expect(splitter.push(`${ollamaLine('a')}\n${line.slice(0, 10)}`, 1, 3)).toHaveLength(1);
    expect(splitter.push(line.slice(10, 30), 2, 4)).toEqual([]);
    expect(splitter.push(`${line.slice(30)}\n`, 3, 5)).toEqual([{ index: 1, data: line, t: 3, chunkRange: [3, 5] }]);
  });

  it('starts the range at the next chunk when a line begins exactly at a chunk boundary', () => {
    const splitter = new NdjsonSplitter();
    splitter.push('{"a":1}\n', 1, 0);
    expect(splitter.push('{"b":2}', 2, 1)).toEqual([]);
    expect(splitter.push('\n', 3, 2)).toEqual([{ index: 1, data: '{"b":2}', t: 3, chunkRange: [1, 2] }]);
  });

  it('strips CRLF, including a CR and LF that arrive in different chunks', () => {
    const splitter = new NdjsonSplitter();
    const rows = [...splitter.push('{"a":1}\r\n{"b":2}\r', 1, 0), ...splitter.push('\n', 2, 1)];
    expect(rows.map((r) => r.data)).toEqual(['{"a":1}', '{"b":2}']);
    expect(rows[1]!.chunkRange).toEqual([0, 1]);
  });

  it('skips blank lines without using up an index', () => {
    const splitter = new NdjsonSplitter();
    const rows = splitter.push('\n{"a":1}\n\n  \r\n{"b":2}\n', 1, 0);
    expect(rows.map((r) => [r.index, r.data])).toEqual([
      [0, '{"a":1}'],
      [1, '{"b":2}'],
    ]);
  });

  it('emits a last line without a newline only on end()', () => {
    const splitter = new NdjsonSplitter();
    expect(splitter.push('{"a":1}\n{"done":', 1, 0)).toHaveLength(1);
    expect(splitter.push('true}', 2, 1)).toEqual([]);
    expect(splitter.end()).toEqual([{ index: 1, data: '{"done":true}', t: 2, chunkRange: [0, 1] }]);
    expect(splitter.end()).toEqual([]);
  });

  it('drops the record separator of application/json-seq', () => {
    const splitter = new NdjsonSplitter();
    expect(splitter.push('\u001e{"a":1}\n\u001e{"b":2}\n', 1, 0).map((r) => r.data)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('decodes a UTF-8 character split across chunks when fed bytes', () => {
    const bytes = new TextEncoder().encode('{"text":"héllo 🌊"}\n');
    const splitter = new NdjsonSplitter();
    // Cut inside "é" (2 bytes) and inside the emoji (4 bytes).
    const cuts = [0, 11, 19, bytes.length];
    const rows: StreamEventRow[] = [];
    for (let i = 0; i < cuts.length - 1; i++)
      rows.push(...splitter.pushBytes(bytes.subarray(cuts[i], cuts[i + 1]), i, i));
    expect(rows).toEqual([{ index: 0, data: '{"text":"héllo 🌊"}', t: 2, chunkRange: [0, 2] }]);
  });
});

describe('feedBodyBytes', () => {
  const body = new TextEncoder().encode('{"n":1}\n{"n":2}\n{"n":3}\n');
  // Chunks as the proxy reported them: 0-9, 10-19, 20-23.
  const chunks: ChunkEvent[] = [0, 10, 20].map((offset, index) => ({
    type: 'chunk',
    id: 7,
    direction: 'response',
    offset,
    size: Math.min(10, body.length - offset),
    readAt: 100 + index,
    flushedAt: 100.5 + index,
    index,
  }));

  it('cuts the bytes along chunk boundaries, also when read in pieces that do not match them', () => {
    const splitter = new NdjsonSplitter();
    const rows = [
      ...feedBodyBytes(splitter, body.subarray(0, 13), 0, chunks),
      ...feedBodyBytes(splitter, body.subarray(13), 13, chunks),
    ];
    expect(rows.map((r) => [r.data, r.t, r.chunkRange])).toEqual([
      ['{"n":1}', 100, [0, 0]],
      ['{"n":2}', 101, [0, 1]],
      ['{"n":3}', 102, [1, 2]],
    ]);
  });

  it('finds the chunk holding an offset', () => {
    expect([0, 9, 10, 19, 20, 23, 99].map((o) => chunkAtOffset(chunks, o))).toEqual([0, 0, 1, 1, 2, 2, 2]);
  });
});
