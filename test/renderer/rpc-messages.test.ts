import { describe, expect, it } from 'vitest';
import type { RpcMessageEvent, RpcStatusEvent } from '../../app/proxy-events.js';
import { decodeRaw } from '../../app/protobuf-raw.js';
import { base64FromBytes } from '../../renderer/src/base64.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import { fieldsToJson } from '../../renderer/src/rpc/field-json.js';
import { decodeForDisplay } from '../../renderer/src/rpc/rpc-decode.js';
import { rpcMessageTest } from '../../renderer/src/rpc/rpc-filter.js';
import {
  compactJson,
  detailsText,
  frameEncoding,
  noStatusText,
  rpcCounts,
  rpcPreview,
} from '../../renderer/src/rpc/rpc-format.js';

// --- a few protobuf encoders, enough to write test messages by hand ---------------------------

function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wireType: number) => varint((field << 3) | wireType);
const int = (field: number, value: bigint | number) => [...tag(field, 0), ...varint(value)];
const bytes = (field: number, content: number[]) => [...tag(field, 2), ...varint(content.length), ...content];
const str = (field: number, text: string) => bytes(field, [...new TextEncoder().encode(text)]);
function fixed32(field: number, write: (view: DataView) => void): number[] {
  const view = new DataView(new ArrayBuffer(4));
  write(view);
  return [...tag(field, 5), ...new Uint8Array(view.buffer)];
}
function fixed64(field: number, write: (view: DataView) => void): number[] {
  const view = new DataView(new ArrayBuffer(8));
  write(view);
  return [...tag(field, 1), ...new Uint8Array(view.buffer)];
}
const base64 = (content: number[]) => base64FromBytes(new Uint8Array(content));
const json = (content: number[]) => fieldsToJson(decodeRaw(new Uint8Array(content))!);

function message(fields: Partial<RpcMessageEvent>): RpcMessageEvent {
  return {
    type: 'rpc-message',
    id: 1,
    direction: 'response',
    index: 0,
    kind: 'message',
    t: 0,
    wireBytes: 0,
    size: 0,
    compressed: false,
    data: '',
    binary: true,
    chunkRange: [0, 0],
    ...fields,
  };
}

describe('fieldsToJson: a message keyed by field number', () => {
  it('reads strings, integers and nested messages', () => {
    expect(json([...str(1, 'hello'), ...bytes(2, int(1, 5))])).toEqual({ 1: 'hello', 2: { 1: 5 } });
  });

  it('makes a field seen more than once an array, in order', () => {
    expect(json([...str(1, 'a'), ...int(2, 1), ...str(1, 'b'), ...str(1, 'c')])).toEqual({ 1: ['a', 'b', 'c'], 2: 1 });
  });

  it('reads a negative int as negative, a huge uint64 as a decimal string', () => {
    expect(json(int(1, -2))).toEqual({ 1: -2 });
    expect(json(int(1, 2n ** 60n))).toEqual({ 1: '1152921504606846976' });
    expect(json(int(1, -(2n ** 60n)))).toEqual({ 1: '-1152921504606846976' });
  });

  it('reads fixed32 and fixed64 as float and double when that looks like a number, else as integers', () => {
    expect(json(fixed32(1, (v) => v.setFloat32(0, 0.1, true)))).toEqual({ 1: 0.1 });
    expect(json(fixed64(1, (v) => v.setFloat64(0, -2.5, true)))).toEqual({ 1: -2.5 });
    expect(json(fixed32(1, (v) => v.setUint32(0, 100, true)))).toEqual({ 1: 100 });
    expect(json(fixed64(1, (v) => v.setBigUint64(0, 7n, true)))).toEqual({ 1: 7 });
    expect(json(fixed32(1, (v) => v.setUint32(0, 0, true)))).toEqual({ 1: 0 });
  });

  it('gives bytes that are neither a message nor text as base64', () => {
    expect(json(bytes(1, [0xff, 0xfe, 0x00]))).toEqual({ 1: '//4A' });
  });

  it('makes an empty message an empty object', () => {
    expect(json([])).toEqual({});
  });
});

describe('decodeForDisplay', () => {
  it('decodes protobuf by field number, JSON codecs as JSON, trailer frames as text', () => {
    const proto = message({ data: base64(str(1, 'hello')), size: 7, wireBytes: 7 });
    expect(decodeForDisplay(proto)).toEqual({ how: 'fields', value: { 1: 'hello' } });
    // Once per message.
    expect(decodeForDisplay(proto)).toBe(decodeForDisplay(proto));
    expect(decodeForDisplay(message({ binary: false, data: '{"name":"x"}' }))).toMatchObject({
      how: 'json',
      value: { name: 'x' },
    });
    const trailers = message({ kind: 'trailers', binary: false, data: 'grpc-status:0\r\ngrpc-message:\r\n' });
    expect(decodeForDisplay(trailers)).toEqual({ how: 'text', text: trailers.data });
  });

  it('leaves bytes still compressed, or cut mid-field, as bytes and says why', () => {
    expect(decodeForDisplay(message({ compressed: true, undecoded: 'unknown encoding snappy', data: 'AAEC' }))).toEqual(
      { how: 'bytes', why: 'still compressed: unknown encoding snappy' },
    );
    const cut = str(1, 'a long string').slice(0, 6);
    expect(decodeForDisplay(message({ truncated: true, data: base64(cut) }))).toMatchObject({
      how: 'bytes',
      why: expect.stringContaining('cut for display'),
    });
  });
});

describe('previews', () => {
  it('shows protobuf as compact field-number JSON, text on one line, bytes as hex', () => {
    const content = [...str(1, 'hello'), ...bytes(2, int(1, 5))];
    expect(rpcPreview(message({ data: base64(content) }))).toBe('{"1":"hello","2":{"1":5}}');
    expect(rpcPreview(message({ kind: 'trailers', binary: false, data: 'grpc-status:0\r\ngrpc-message:ok' }))).toBe(
      'grpc-status:0 ⏎ grpc-message:ok',
    );
    expect(rpcPreview(message({ data: base64([0xff, 0xff]), size: 2 }))).toBe('2 B, not a protobuf message: ff ff');
  });

  it('stops writing a long message soon after the preview is long enough', () => {
    const long = { 1: 'x'.repeat(50), 2: Array.from({ length: 1000 }, (_, i) => i) };
    const preview = compactJson(long, 100);
    expect(preview).toHaveLength(101);
    expect(preview.endsWith('…')).toBe(true);
    expect(compactJson({ 1: [1, 'a', { 2: 'b' }] })).toBe(JSON.stringify({ 1: [1, 'a', { 2: 'b' }] }));
  });
});

describe('the messages filter', () => {
  const hello = message({ direction: 'request', data: base64(str(1, 'Hello there')) });
  const reply = message({ direction: 'response', data: base64([...str(1, 'general'), ...int(2, 42)]) });
  const trailers = message({ kind: 'trailers', binary: false, data: 'grpc-status:5\r\n' });

  it('finds text in the field-number JSON, ignoring case, and keeps one direction', () => {
    expect([hello, reply, trailers].map(rpcMessageTest({ text: 'hello', choice: '' }))).toEqual([true, false, false]);
    expect([hello, reply, trailers].map(rpcMessageTest({ text: '"2":42', choice: '' }))).toEqual([false, true, false]);
    expect([hello, reply, trailers].map(rpcMessageTest({ text: '', choice: 'response' }))).toEqual([false, true, true]);
    expect(rpcMessageTest({ text: 'grpc-status:5', choice: '' })(trailers)).toBe(true);
  });
});

describe('the call in words', () => {
  const traffic = emptyTraffic();
  applyEvent(traffic, {
    type: 'exchange-opened',
    id: 1,
    t: 0,
    wallTime: 0,
    kind: 'http',
    intercepted: false,
    clientAddress: '127.0.0.1',
    request: {
      method: 'POST',
      url: 'http://api.test/pkg.Svc/Watch',
      httpVersion: '2',
      headers: [
        ['content-type', 'application/grpc'],
        ['grpc-encoding', 'gzip'],
      ],
    },
  });
  applyEvent(traffic, message({ id: 1, direction: 'request', size: 10, wireBytes: 4, compressed: true }));
  applyEvent(traffic, message({ id: 1, size: 3, wireBytes: 3 }));
  applyEvent(traffic, message({ id: 1, index: 1, size: 5, wireBytes: 5 }));
  const x = traffic.exchanges.get(1)!;

  it('counts frames and decoded bytes both ways', () => {
    expect(rpcCounts(x)).toEqual({ sent: 1, received: 2, sentBytes: 10, receivedBytes: 8 });
  });

  it('names the compression a direction declared', () => {
    expect(frameEncoding(x, 'request')).toBe('gzip');
    expect(frameEncoding(x, 'response')).toBeUndefined();
  });

  it('says why there is no status', () => {
    expect(noStatusText(x)).toBe('No status yet: the call is open.');
    applyEvent(traffic, {
      type: 'exchange-closed',
      id: 1,
      t: 5,
      outcome: 'client-closed',
      reason: 'CANCEL',
      requestBytes: 0,
      responseBytes: 0,
      pausedMs: 0,
    });
    expect(noStatusText(x)).toBe('Ended without a status: client closed (CANCEL).');
  });

  it('shows gRPC status details by field number, Connect details as they came', () => {
    const status = (fields: Partial<RpcStatusEvent>): RpcStatusEvent => ({
      type: 'rpc-status',
      id: 1,
      t: 0,
      protocol: 'grpc',
      source: 'trailers',
      code: 5,
      name: 'NOT_FOUND',
      trailers: [],
      ...fields,
    });
    // As grpc-status-details-bin comes: base64 without its padding.
    const details = base64([...int(1, 5), ...str(2, 'gone')]).replace(/=+$/, '');
    expect(detailsText(status({ details }))).toBe('{"1":5,"2":"gone"} (google.rpc.Status by field number)');
    expect(detailsText(status({ protocol: 'connect', source: 'end-stream', details: '[{"type":"x"}]' }))).toBe(
      '[{"type":"x"}]',
    );
    expect(detailsText(status({}))).toBeUndefined();
  });
});
