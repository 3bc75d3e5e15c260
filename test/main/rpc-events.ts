/** gRPC call events built by hand, for the host's unit tests (the core's tracker is not needed). */
import type {
  ChunkEvent,
  Direction,
  ExchangeClosedEvent,
  ExchangeOpenedEvent,
  ProxyEvent,
  ResponseHeadEvent,
  RpcMessageEvent,
  RpcStatusEvent,
} from '../../app/proxy-events.js';

export const RPC_WALL_TIME = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

export function rpcOpened(id: number, t = 1000): ExchangeOpenedEvent {
  return {
    type: 'exchange-opened',
    id,
    t,
    wallTime: RPC_WALL_TIME,
    kind: 'http',
    intercepted: false,
    clientAddress: '127.0.0.1',
    connectionId: 3,
    streamId: 1,
    request: {
      method: 'POST',
      url: 'http://127.0.0.1:50051/sluice.test.Echo/Bidi',
      httpVersion: '2',
      headers: [
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-encoding', 'gzip'],
      ],
    },
  };
}

export function rpcMessage(id: number, n: number, fields: Partial<RpcMessageEvent> = {}): RpcMessageEvent {
  const data = Buffer.from(`message ${n}`).toString('base64');
  return {
    type: 'rpc-message',
    id,
    direction: n % 2 === 0 ? 'request' : 'response',
    index: Math.floor(n / 2),
    kind: 'message',
    t: 1000 + n,
    wireBytes: 9,
    size: 9,
    compressed: false,
    data,
    binary: true,
    chunkRange: [Math.floor(n / 2), Math.floor(n / 2)],
    ...fields,
  };
}

export function rpcStatus(id: number, fields: Partial<RpcStatusEvent> = {}): RpcStatusEvent {
  return {
    type: 'rpc-status',
    id,
    t: 1100,
    protocol: 'grpc',
    source: 'trailers',
    code: 5,
    name: 'NOT_FOUND',
    message: 'no such thing: ü',
    details: 'CAUSYWJj',
    trailers: [
      ['grpc-status', '5'],
      ['grpc-message', 'no such thing: %C3%BC'],
      ['grpc-status-details-bin', 'CAUSYWJj'],
      ['x-trailer', 'kept'],
    ],
    ...fields,
  };
}

function chunk(id: number, direction: Direction, index: number, size: number, at: number): ChunkEvent {
  return { type: 'chunk', id, direction, offset: index * size, size, readAt: at, flushedAt: at + 0.25, index };
}

/**
 * A whole bidi call as the core would report it: three messages each way (one compressed, one
 * cut at the display cap, one JSON-ish text message), each in a chunk of its own, a status from
 * the trailers and a note that the request's framing stopped making sense.
 */
export function rpcCall(id: number): ProxyEvent[] {
  const head: ResponseHeadEvent = {
    type: 'response-head',
    id,
    t: 1000.5,
    response: {
      status: 200,
      statusText: '',
      httpVersion: '2',
      headers: [
        ['content-type', 'application/grpc'],
        ['grpc-encoding', 'gzip'],
      ],
    },
    timings: { dns: -1, connect: 0.75, ssl: -1 },
    requestSentAt: 1000.25,
  };
  const closed: ExchangeClosedEvent = {
    type: 'exchange-closed',
    id,
    t: 1100.125,
    outcome: 'completed',
    requestBytes: 42,
    responseBytes: 42,
    pausedMs: 0,
  };
  return [
    rpcOpened(id),
    head,
    chunk(id, 'request', 0, 14, 1000.125),
    rpcMessage(id, 0, { t: 1000.375 }),
    chunk(id, 'response', 0, 14, 1001.125),
    rpcMessage(id, 1, { t: 1001.375, compressed: true, wireBytes: 29, size: 9 }),
    chunk(id, 'request', 1, 14, 1002.125),
    rpcMessage(id, 2, { t: 1002.375, truncated: true, size: 70_000, wireBytes: 70_000 }),
    chunk(id, 'response', 1, 14, 1003.125),
    rpcMessage(id, 3, {
      t: 1003.375,
      compressed: true,
      undecoded: 'grpc-encoding snappy is not one Sluice can undo',
      binary: true,
    }),
    chunk(id, 'request', 2, 14, 1004.125),
    rpcMessage(id, 4, { t: 1004.375, data: '{"text":"ça va"}', binary: false, size: 17, wireBytes: 17 }),
    {
      type: 'capture-limited',
      id,
      direction: 'request',
      t: 1004.5,
      reason: 'rpc-frames',
      atOffset: 42,
      detail: 'frame 3 declares 4294967295 bytes, more than the 4 MiB cap',
    },
    chunk(id, 'response', 2, 14, 1005.125),
    rpcMessage(id, 5, { t: 1005.375 }),
    rpcStatus(id, { t: 1099.875 }),
    closed,
  ];
}
