import { Code, ConnectError } from '@connectrpc/connect';
import { codeFromHttpStatus, codeToString, endStreamToJson, errorToJson } from '@connectrpc/connect/protocol-connect';
import { setTrailerStatus } from '@connectrpc/connect/protocol-grpc';
import { toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { RawHeaders, RequestHead } from '../../app/proxy-events.js';
import {
  connectCodeNumber,
  decodeGrpcMessage,
  GRPC_STATUS_NAMES,
  grpcStatusName,
  isJsonCodec,
  rpcCallLabel,
  rpcCallOf,
  rpcCodeOfHttpStatus,
  rpcFramingOf,
  statusFromConnectJson,
  statusFromFields,
} from '../../app/rpc-calls.js';
import { say, SaySchema } from '../helpers/connect.js';

/**
 * What makes a call a gRPC, gRPC-Web or Connect one, and how its status reads. Where connect-es
 * has the same knowledge (code names, HTTP mapping, how it writes errors and trailers), it is the
 * oracle.
 */

function request(method: string, url: string, headers: RawHeaders = []): RequestHead {
  return { method, url, httpVersion: '2', headers };
}

const contentType = (value: string): RawHeaders => [['content-type', value]];
const base = { id: 7, t: 12.5, protocol: 'grpc' } as const;
const connectBase = { id: 7, t: 12.5, protocol: 'connect' } as const;

/** What connect-es's own Headers hold, as the raw fields Sluice records. */
const fieldsOf = (headers: Headers): [string, string][] => [...headers.entries()];

describe('rpcFramingOf', () => {
  it('knows each framed family, with or without a codec, in any case and with parameters', () => {
    expect(rpcFramingOf('application/grpc')).toBe('grpc');
    expect(rpcFramingOf('application/grpc+proto')).toBe('grpc');
    expect(rpcFramingOf('application/grpc+json')).toBe('grpc');
    expect(rpcFramingOf('application/grpc-web')).toBe('grpc-web');
    expect(rpcFramingOf('application/grpc-web+proto')).toBe('grpc-web');
    expect(rpcFramingOf('Application/GRPC-Web-Text+proto')).toBe('grpc-web-text');
    expect(rpcFramingOf('application/grpc-web-text')).toBe('grpc-web-text');
    expect(rpcFramingOf('application/connect+proto')).toBe('connect');
    expect(rpcFramingOf(' application/connect+json ; charset=utf-8')).toBe('connect');
  });

  it('refuses unframed and near-miss types: Connect unary, bare connect, an empty codec, no type', () => {
    expect(rpcFramingOf('application/proto')).toBeUndefined();
    expect(rpcFramingOf('application/json')).toBeUndefined();
    expect(rpcFramingOf('application/connect')).toBeUndefined();
    expect(rpcFramingOf('application/grpc+')).toBeUndefined();
    expect(rpcFramingOf('application/grpc+proto+json')).toBeUndefined();
    expect(rpcFramingOf('application/grpcx')).toBeUndefined();
    expect(rpcFramingOf('text/grpc')).toBeUndefined();
    expect(rpcFramingOf('')).toBeUndefined();
    expect(rpcFramingOf(undefined)).toBeUndefined();
  });
});

describe('isJsonCodec', () => {
  it('is true for JSON and any +json codec, false otherwise', () => {
    expect(isJsonCodec('application/json')).toBe(true);
    expect(isJsonCodec('application/json; charset=utf-8')).toBe(true);
    expect(isJsonCodec('application/grpc+json')).toBe(true);
    expect(isJsonCodec('application/grpc-web+json')).toBe(true);
    expect(isJsonCodec('Application/Connect+JSON')).toBe(true);
    expect(isJsonCodec('application/grpc')).toBe(false);
    expect(isJsonCodec('application/proto')).toBe(false);
    expect(isJsonCodec('application/connect+proto')).toBe(false);
    expect(isJsonCodec('application/jsonx')).toBe(false);
    expect(isJsonCodec(undefined)).toBe(false);
  });
});

describe('rpcCallOf', () => {
  it('gRPC, gRPC-Web (binary and text) and Connect streaming: by their content type, on any method', () => {
    expect(
      rpcCallOf(request('POST', 'https://api.test/grpc.health.v1.Health/Check', contentType('application/grpc'))),
    ).toEqual({
      protocol: 'grpc',
      service: 'grpc.health.v1.Health',
      method: 'Check',
    });
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', [['Content-Type', 'application/grpc-web+proto']]))).toMatchObject({
      protocol: 'grpc-web',
    });
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', contentType('application/grpc-web-text')))).toMatchObject({
      protocol: 'grpc-web-text',
    });
    expect(rpcCallOf(request('POST', 'http://h:1/pkg.Svc/Watch', contentType('application/connect+json')))).toEqual({
      protocol: 'connect',
      service: 'pkg.Svc',
      method: 'Watch',
    });
  });

  it('Connect unary POST: an unframed codec with connect-protocol-version', () => {
    const versioned = (type: string): RawHeaders => [...contentType(type), ['Connect-Protocol-Version', '1']];
    for (const type of [
      'application/proto',
      'application/json',
      'application/json; charset=utf-8',
      'application/cbor',
    ]) {
      expect(rpcCallOf(request('POST', '/pkg.Svc/Get', versioned(type))), type).toEqual({
        protocol: 'connect-unary',
        service: 'pkg.Svc',
        method: 'Get',
      });
    }
    // A streaming content type wins: the body is framed whatever the version header says.
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', versioned('application/connect+proto')))?.protocol).toBe(
      'connect',
    );
    // Without the version header a JSON POST to a two-segment path is any JSON API.
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', contentType('application/json')))).toBeUndefined();
    // A codec with a structured suffix, or no content type, is not Connect unary.
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', versioned('application/vnd.x+json')))).toBeUndefined();
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', [['connect-protocol-version', '1']]))).toBeUndefined();
    expect(rpcCallOf(request('PUT', '/pkg.Svc/Get', versioned('application/proto')))).toBeUndefined();
  });

  it('Connect unary GET: `connect=v1` anywhere in the query', () => {
    const get = (query: string) => rpcCallOf(request('GET', `http://h:1/pkg.Svc/Look?${query}`));
    expect(get('connect=v1&encoding=proto&base64=1&message=CgJpdA')).toEqual({
      protocol: 'connect-unary',
      service: 'pkg.Svc',
      method: 'Look',
    });
    expect(get('encoding=json&message=%7B%7D&connect=v1')?.protocol).toBe('connect-unary');
    expect(get('encoding=json&message=%7B%7D')).toBeUndefined();
    expect(get('connect=v10')).toBeUndefined();
    expect(get('xconnect=v1')).toBeUndefined();
    expect(rpcCallOf(request('POST', '/pkg.Svc/Look?connect=v1'))).toBeUndefined();
  });

  it('not a call: other paths, other types, plain requests', () => {
    const grpc = contentType('application/grpc');
    expect(rpcCallOf(request('POST', '/api/v1/users', grpc))).toBeUndefined();
    expect(rpcCallOf(request('POST', '/pkg.Svc', grpc))).toBeUndefined();
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get/', grpc))).toBeUndefined();
    expect(rpcCallOf(request('POST', '/', grpc))).toBeUndefined();
    expect(rpcCallOf(request('POST', 'http://h:1/', grpc))).toBeUndefined();
    expect(rpcCallOf(request('GET', '/pkg.Svc/Get'))).toBeUndefined();
    expect(rpcCallOf(request('POST', '/pkg.Svc/Get', contentType('text/plain')))).toBeUndefined();
    expect(rpcCallOf(request('CONNECT', 'h:443'))).toBeUndefined();
  });

  it('names are percent-decoded; a malformed escape is kept as sent rather than thrown', () => {
    expect(rpcCallOf(request('POST', '/my%2Epkg.Svc/Do%20It', contentType('application/grpc')))).toMatchObject({
      service: 'my.pkg.Svc',
      method: 'Do It',
    });
    // The core asks about every request as it passes: a throw here would break the exchange.
    expect(rpcCallOf(request('POST', '/pkg%zz.Svc/Get%E0%A4', contentType('application/grpc')))).toEqual({
      protocol: 'grpc',
      service: 'pkg%zz.Svc',
      method: 'Get%E0%A4',
    });
    expect(
      rpcCallOf(request('POST', '/a%/b', [...contentType('application/json'), ['connect-protocol-version', '1']])),
    ).toMatchObject({ service: 'a%', method: 'b' });
  });
});

describe('rpcCallLabel', () => {
  it('is Service/Method with the package left out', () => {
    expect(rpcCallLabel({ protocol: 'grpc', service: 'grpc.health.v1.Health', method: 'Check' })).toBe('Health/Check');
    expect(rpcCallLabel({ protocol: 'connect', service: 'Echo', method: 'Say' })).toBe('Echo/Say');
  });
});

describe('status codes', () => {
  it('names every gRPC code, and CODE_n past them', () => {
    expect(GRPC_STATUS_NAMES).toHaveLength(17);
    expect(grpcStatusName(0)).toBe('OK');
    expect(grpcStatusName(1)).toBe('CANCELLED');
    expect(grpcStatusName(16)).toBe('UNAUTHENTICATED');
    expect(grpcStatusName(17)).toBe('CODE_17');
    expect(grpcStatusName(42)).toBe('CODE_42');
  });

  it('reads every Connect code as connect-es spells it, and anything else as UNKNOWN', () => {
    for (let code = Code.Canceled; code <= Code.Unauthenticated; code++) {
      expect(connectCodeNumber(codeToString(code)), codeToString(code)).toBe(code);
    }
    expect(connectCodeNumber('cancelled')).toBe(1);
    expect(connectCodeNumber('ok')).toBe(2);
    expect(connectCodeNumber('no_such_code')).toBe(2);
    expect(connectCodeNumber(5)).toBe(2);
    expect(connectCodeNumber(undefined)).toBe(2);
  });

  it('maps an HTTP status as connect-es does (the gRPC spec has the same table)', () => {
    for (const status of [200, 204, 304, 400, 401, 403, 404, 405, 408, 409, 415, 429, 499, 500, 501, 502, 503, 504]) {
      expect(rpcCodeOfHttpStatus(status), `HTTP ${status}`).toBe(codeFromHttpStatus(status));
    }
  });
});

describe('decodeGrpcMessage', () => {
  it('undoes percent-encoding of UTF-8, in either case of hex', () => {
    expect(decodeGrpcMessage('no%20caf%C3%A9 at 100%25')).toBe('no café at 100%');
    expect(decodeGrpcMessage('caf%c3%a9')).toBe('café');
    expect(decodeGrpcMessage('%F0%9F%98%80')).toBe('😀');
    expect(decodeGrpcMessage('plain text')).toBe('plain text');
    expect(decodeGrpcMessage('')).toBe('');
  });

  it('keeps a malformed escape as it is', () => {
    expect(decodeGrpcMessage('100%')).toBe('100%');
    expect(decodeGrpcMessage('100%4')).toBe('100%4');
    expect(decodeGrpcMessage('%zz%20')).toBe('%zz ');
    expect(decodeGrpcMessage('%%41')).toBe('%A');
    expect(decodeGrpcMessage('%%%')).toBe('%%%');
  });

  it('keeps characters sent unescaped, astral ones whole', () => {
    expect(decodeGrpcMessage('café%20ok')).toBe('café ok');
    expect(decodeGrpcMessage('😀%20ok 😀')).toBe('😀 ok 😀');
  });

  it('shows bytes that are not UTF-8 as replacement characters', () => {
    expect(decodeGrpcMessage('bad %FF byte')).toBe('bad \uFFFD byte');
  });

  it('reads back what encodeURIComponent and connect-es write', () => {
    for (const text of ['a b', '100% sure', 'naïve — “quoted”', 'emoji 😀 and\nnewline', '%20 literally']) {
      expect(decodeGrpcMessage(encodeURIComponent(text))).toBe(text);
      const trailer = setTrailerStatus(new Headers(), new ConnectError(text, Code.Aborted));
      expect(statusFromFields(base, 'trailers', fieldsOf(trailer))?.message).toBe(text);
    }
  });
});

describe('statusFromFields', () => {
  it('reads the code, the percent-decoded message and the details, keeping every field', () => {
    const fields: RawHeaders = [
      ['grpc-status', '5'],
      ['grpc-message', 'not%20here'],
      ['grpc-status-details-bin', 'CAUSCG5vdCBoZXJl'],
      ['x-reason', 'frozen'],
    ];
    expect(statusFromFields(base, 'trailers', fields)).toEqual({
      type: 'rpc-status',
      id: 7,
      t: 12.5,
      protocol: 'grpc',
      source: 'trailers',
      code: 5,
      name: 'NOT_FOUND',
      message: 'not here',
      details: 'CAUSCG5vdCBoZXJl',
      trailers: fields,
    });
  });

  it('is undefined without grpc-status, whatever else is there', () => {
    expect(statusFromFields(base, 'trailers', [])).toBeUndefined();
    expect(statusFromFields(base, 'trailers-only', [['grpc-message', 'hm']])).toBeUndefined();
  });

  it('finds fields in any case; a status that is not a number is UNKNOWN, one past the table is named by number', () => {
    expect(statusFromFields(base, 'trailer-frame', [['Grpc-Status', ' 0 ']])).toEqual({
      type: 'rpc-status',
      ...base,
      source: 'trailer-frame',
      code: 0,
      name: 'OK',
      trailers: [['Grpc-Status', ' 0 ']],
    });
    expect(statusFromFields(base, 'trailers', [['grpc-status', 'five']])).toMatchObject({ code: 2, name: 'UNKNOWN' });
    expect(statusFromFields(base, 'trailers', [['grpc-status', '-1']])).toMatchObject({ code: 2 });
    expect(statusFromFields(base, 'trailers', [['grpc-status', '42']])).toMatchObject({ code: 42, name: 'CODE_42' });
  });

  it("reads connect-es's trailers for an error with details", () => {
    const error = new ConnectError('no tea', Code.ResourceExhausted, undefined, [
      { desc: SaySchema, value: { text: 'why', n: 1 } },
    ]);
    const status = statusFromFields(base, 'trailers', fieldsOf(setTrailerStatus(new Headers(), error)));
    expect(status).toMatchObject({ code: 8, name: 'RESOURCE_EXHAUSTED', message: 'no tea' });
    // google.rpc.Status, as on the wire: the code, the message and the detail's type inside.
    expect(Buffer.from(status!.details!, 'base64').toString('latin1')).toContain(SaySchema.typeName);
  });
});

describe('statusFromConnectJson', () => {
  it('an end-of-stream without an error is OK, its metadata the trailers (repeated values kept apart)', () => {
    expect(statusFromConnectJson(connectBase, 'end-stream', '{}')).toEqual({
      type: 'rpc-status',
      ...connectBase,
      source: 'end-stream',
      code: 0,
      name: 'OK',
      trailers: [],
    });
    const json = JSON.stringify(endStreamToJson(new Headers({ 'x-a': '1', 'x-b': '2' }), undefined, undefined));
    expect(statusFromConnectJson(connectBase, 'end-stream', json).trailers).toEqual([
      ['x-a', '1'],
      ['x-b', '2'],
    ]);
    const repeated = '{"metadata":{"x-a":["1","2"],"x-b":"3"}}';
    expect(statusFromConnectJson(connectBase, 'end-stream', repeated).trailers).toEqual([
      ['x-a', '1'],
      ['x-a', '2'],
      ['x-b', '3'],
    ]);
    expect(statusFromConnectJson(connectBase, 'end-stream', '{"error":null}')).toMatchObject({ code: 0 });
  });

  it('an end-of-stream error as connect-es writes it: code, message, details as JSON, metadata', () => {
    const error = new ConnectError('gone away', Code.NotFound, undefined, [
      { desc: SaySchema, value: { text: 'why', n: 1 } },
    ]);
    const json = JSON.stringify(endStreamToJson(new Headers({ 'x-reason': 'frozen' }), error, undefined));
    const status = statusFromConnectJson(connectBase, 'end-stream', json);
    expect(status).toMatchObject({
      source: 'end-stream',
      code: 5,
      name: 'NOT_FOUND',
      message: 'gone away',
      trailers: [['x-reason', 'frozen']],
    });
    expect(JSON.parse(status.details!)).toEqual([
      expect.objectContaining({
        type: SaySchema.typeName,
        value: Buffer.from(toBinary(SaySchema, say('why', 1)))
          .toString('base64')
          .replace(/=+$/, ''),
      }),
    ]);
  });

  it('an end-of-stream error without a code, or with one Connect does not define, is UNKNOWN', () => {
    expect(statusFromConnectJson(connectBase, 'end-stream', '{"error":{"message":"hm"}}')).toMatchObject({
      code: 2,
      message: 'hm',
    });
    expect(statusFromConnectJson(connectBase, 'end-stream', '{"error":{"code":"weird"}}')).toMatchObject({ code: 2 });
  });

  it('an end-of-stream that is not JSON is INTERNAL with the reason, never OK', () => {
    expect(statusFromConnectJson(connectBase, 'end-stream', '{"error":')).toMatchObject({
      code: 13,
      name: 'INTERNAL',
      message: 'the end-of-stream JSON does not parse',
    });
  });

  it('a unary error body as connect-es writes it; its trailers are not in the body', () => {
    const error = new ConnectError('slow down', Code.ResourceExhausted, { 'x-retry': '2' });
    const json = JSON.stringify(errorToJson(error, undefined));
    expect(statusFromConnectJson({ ...connectBase, protocol: 'connect-unary' }, 'unary-error', json, 429)).toEqual({
      type: 'rpc-status',
      ...connectBase,
      protocol: 'connect-unary',
      source: 'unary-error',
      code: 8,
      name: 'RESOURCE_EXHAUSTED',
      message: 'slow down',
      trailers: [],
    });
  });

  it('a unary error body without a code reads as its HTTP status says', () => {
    expect(statusFromConnectJson(connectBase, 'unary-error', '{"message":"who?"}', 404)).toMatchObject({
      code: 12,
      name: 'UNIMPLEMENTED',
      message: 'who?',
    });
    expect(statusFromConnectJson(connectBase, 'unary-error', '[]', 401)).toMatchObject({ code: 16 });
    expect(statusFromConnectJson(connectBase, 'unary-error', '"oops"', 403)).toMatchObject({ code: 7 });
  });

  it('a unary error body that is not JSON (a gateway page) reads as its HTTP status says, as Connect clients read it', () => {
    expect(statusFromConnectJson(connectBase, 'unary-error', '<html>Bad Gateway</html>', 502)).toEqual({
      type: 'rpc-status',
      ...connectBase,
      source: 'unary-error',
      code: 14,
      name: 'UNAVAILABLE',
      message: 'HTTP 502, and no Connect error in the body',
      trailers: [],
    });
    expect(statusFromConnectJson(connectBase, 'unary-error', '', 500)).toMatchObject({ code: 2, name: 'UNKNOWN' });
  });
});
