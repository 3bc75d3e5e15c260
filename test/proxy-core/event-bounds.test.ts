import { describe, expect, it } from 'vitest';
import { EventBounds, framingOf } from '../../proxy-core/rules/event-bounds.js';

/** Feeds `chunks` and returns the events as texts, each ended or not. */
function eventsOf(framing: 'sse' | 'lines', chunks: string[]): string[] {
  const bounds = new EventBounds(framing);
  const out: string[] = [];
  let open = '';
  for (const chunk of chunks) {
    for (const piece of bounds.split(Buffer.from(chunk))) {
      open += piece.bytes.toString();
      if (piece.ends) {
        out.push(open);
        open = '';
      }
    }
  }
  if (open) out.push(`${open}…`);
  return out;
}

describe('event bounds', () => {
  it('ends SSE events at an empty line, whatever the line ends and however the bytes are cut', () => {
    const stream = 'data: a\n\nid: 2\r\ndata: b\r\n\r\ndata: c\r\rdata: d\n';
    const whole = eventsOf('sse', [stream]);
    expect(whole).toEqual(['data: a\n\n', 'id: 2\r\ndata: b\r\n\r\n', 'data: c\r\r', 'data: d\n…']);
    // Cut at every byte, the events end at the same places, except that an event ended by a CR
    // cannot wait for an LF that may never come: that LF (ignored by SSE parsers) opens the next.
    const bytewise = eventsOf('sse', [...stream]);
    expect(bytewise).toEqual(['data: a\n\n', 'id: 2\r\ndata: b\r\n\r', '\ndata: c\r\r', 'data: d\n…']);
  });

  it('does not count comments or blank lines alone as events', () => {
    expect(eventsOf('sse', [': keep-alive\n\n', '\n', 'data: x\n\n'])).toEqual([': keep-alive\n\n\ndata: x\n\n']);
  });

  it('cuts NDJSON at each line, and knows which framing a body has', () => {
    expect(eventsOf('lines', ['{"a":1}\n{"b"', ':2}\n'])).toEqual(['{"a":1}\n', '{"b":2}\n']);
    expect(framingOf('text/event-stream; charset=utf-8', undefined)).toBe('sse');
    expect(framingOf('text/event-stream', 'gzip')).toBe('chunks');
    expect(framingOf('application/x-ndjson', 'identity')).toBe('lines');
    expect(framingOf('application/json', undefined)).toBe('chunks');
  });

  it('cuts length-prefixed messages (gRPC) at their ends, however header and body are split', () => {
    const frame = (payload: string): Buffer => {
      const body = Buffer.from(payload);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(body.length, 1);
      return Buffer.concat([header, body]);
    };
    const stream = Buffer.concat([frame('one'), frame(''), frame('three three')]);
    const whole = (chunks: Buffer[]): string[] => {
      const bounds = new EventBounds('frames');
      const out: string[] = [];
      let open = Buffer.alloc(0);
      for (const chunk of chunks) {
        for (const piece of bounds.split(chunk)) {
          open = Buffer.concat([open, piece.bytes]);
          if (piece.ends) {
            out.push(open.subarray(5).toString() || '(empty)');
            open = Buffer.alloc(0);
          }
        }
      }
      return out;
    };
    expect(whole([stream])).toEqual(['one', '(empty)', 'three three']);
    expect(whole([...stream].map((b) => Buffer.from([b])))).toEqual(['one', '(empty)', 'three three']);
    expect(framingOf('application/grpc+proto', undefined)).toBe('frames');
    expect(framingOf('application/grpc-web-text', undefined)).toBe('chunks');
    expect(framingOf('application/connect+json', undefined)).toBe('frames');
  });

  it('cuts WebSocket frames at their ends: short, 16-bit and masked lengths, byte by byte too', () => {
    const frame = (payload: Buffer, masked: boolean): Buffer => {
      const length = payload.length;
      const head = length < 126 ? Buffer.from([0x81, length]) : Buffer.from([0x82, 126, length >> 8, length & 0xff]);
      if (masked) head[1]! |= 0x80;
      return Buffer.concat([head, masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), payload]);
    };
    const frames = [frame(Buffer.from('hi'), false), frame(Buffer.alloc(300, 7), true), frame(Buffer.alloc(0), false)];
    const sizes = (chunks: Buffer[]): number[] => {
      const bounds = new EventBounds('websocket');
      const out: number[] = [];
      let open = 0;
      for (const chunk of chunks) {
        for (const piece of bounds.split(chunk)) {
          open += piece.bytes.length;
          if (piece.ends) {
            out.push(open);
            open = 0;
          }
        }
      }
      return out;
    };
    const stream = Buffer.concat(frames);
    expect(sizes([stream])).toEqual(frames.map((f) => f.length));
    expect(sizes([...stream].map((b) => Buffer.from([b])))).toEqual(frames.map((f) => f.length));

    // A message in fragments is one event, with a ping sent between its fragments; a ping alone is one.
    const raw = (first: number, payload: string): Buffer =>
      Buffer.concat([Buffer.from([first, payload.length]), Buffer.from(payload)]);
    const fragmented = [raw(0x01, 'one, '), raw(0x00, 'two, '), raw(0x89, 'ping'), raw(0x80, 'three')];
    const after = [raw(0x89, ''), raw(0x81, 'next')];
    const message = Buffer.concat(fragmented).length;
    const mixed = Buffer.concat([...fragmented, ...after]);
    const expected = [message, ...after.map((f) => f.length)];
    expect(sizes([mixed])).toEqual(expected);
    expect(sizes([...mixed].map((b) => Buffer.from([b])))).toEqual(expected);
  });
});
