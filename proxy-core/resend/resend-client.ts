import http from 'node:http';
import http2 from 'node:http2';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { RawHeaders } from '../../app/proxy-events.js';
import { HOP_BY_HOP_HEADERS } from '../../app/http-headers.js';
import { RESEND_FIELD } from './resend-marks.js';
import { bracketHost } from '../forward/connect-target.js';

/** A request to send again, as recorded (or as the user edited it). */
export interface ResendRequest {
  readonly method: string;
  /** Absolute URL of the target. */
  readonly url: string;
  /** `2` sends it over HTTP/2, anything else over HTTP/1.1: the protocol it was recorded in. */
  readonly httpVersion: string;
  readonly headers: RawHeaders;
  readonly body?: Buffer | undefined;
}

/** Where the proxy listens, and the CA its intercepted certificates come from. */
export interface ProxyDoor {
  /** An address the proxy answers on (loopback when it listens on every address). */
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
}

/** A resend under way: `done` settles when its response has been read to the end (or failed). */
export interface ResendCall {
  readonly done: Promise<void>;
  abort(): void;
}

/**
 * Sends a request through the proxy as a client of it would: absolute-form (or h2c) for http,
 * CONNECT then TLS (trusting the proxy's CA) for https, in the protocol it was recorded in. The
 * proxy forwards and records it like any other; this client only reads the response to its end,
 * keeping none of it. `mark` is the field that tells the proxy which exchange this sends again.
 */
export function sendThroughProxy(door: ProxyDoor, request: ResendRequest, mark: [string, string]): ResendCall {
  const url = new URL(request.url);
  const sockets = new Set<{ destroy(): unknown }>();
  const done =
    request.httpVersion === '2' ? sendH2(door, request, url, mark, sockets) : sendH1(door, request, url, mark, sockets);
  return {
    done,
    abort: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Fields the request's body and this connection decide, not the recording: the body goes whole
 * with its length (so not chunked), no `100 Continue` is waited for, and a marker the recording
 * or the user's edit carries is never one to trust.
 */
const RECOMPUTED = new Set(['content-length', 'transfer-encoding', 'expect', RESEND_FIELD]);

/** The recorded fields that go again: no pseudo-fields, nothing hop-by-hop, the body's length recomputed. */
function fieldsToSend(request: ResendRequest, http2Names: boolean): [string, string][] {
  const fields: [string, string][] = [];
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    if (lower.startsWith(':') || HOP_BY_HOP_HEADERS.has(lower) || RECOMPUTED.has(lower)) continue;
    if (http2Names && (lower === 'host' || lower === 'te')) continue;
    fields.push([http2Names ? lower : name, value]);
  }
  const length = request.body?.length ?? 0;
  if (length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(request.method.toUpperCase())) {
    fields.push([http2Names ? 'content-length' : 'Content-Length', String(length)]);
  }
  return fields;
}

async function sendH1(
  door: ProxyDoor,
  request: ResendRequest,
  url: URL,
  mark: [string, string],
  sockets: Set<{ destroy(): unknown }>,
): Promise<void> {
  const fields = fieldsToSend(request, false);
  if (!fields.some(([name]) => name.toLowerCase() === 'host')) fields.unshift(['Host', url.host]);
  fields.push(mark);
  const secure = url.protocol === 'https:' ? await tunnel(door, url, ['http/1.1'], sockets) : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: door.host,
      port: door.port,
      method: request.method,
      path: secure ? `${url.pathname}${url.search}` : url.href,
      headers: fields.flat(),
      ...(secure ? { createConnection: () => secure } : { agent: false }),
    });
    sockets.add(req);
    req.on('response', (res) => {
      res.on('error', reject);
      res.on('end', () => {
        resolve();
        req.destroy();
      });
      res.on('close', () => (res.complete ? resolve() : reject(new Error('the response was cut short'))));
      res.resume();
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

async function sendH2(
  door: ProxyDoor,
  request: ResendRequest,
  url: URL,
  mark: [string, string],
  sockets: Set<{ destroy(): unknown }>,
): Promise<void> {
  const https = url.protocol === 'https:';
  const secure = https ? await tunnel(door, url, ['h2'], sockets) : undefined;
  const session = secure
    ? http2.connect(url.origin, { createConnection: () => secure })
    : http2.connect(`http://${bracketHost(door.host)}:${door.port}`);
  sockets.add(session);
  const headers: http2.OutgoingHttpHeaders = {
    ':method': request.method,
    ':path': `${url.pathname}${url.search}`,
    ':scheme': https ? 'https' : 'http',
    ':authority': url.host,
  };
  for (const [name, value] of [...fieldsToSend(request, true), mark]) {
    const existing = headers[name];
    headers[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [String(existing)]), value];
  }
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request(headers, { endStream: !request.body?.length });
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      if (stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        reject(new Error(`the stream was reset (code ${stream.rstCode})`));
      } else resolve();
    });
    stream.resume();
    if (request.body?.length) stream.end(request.body);
  });
}

/** CONNECT through the proxy, then TLS to it as `url`'s host, offering `alpn`. */
function tunnel(
  door: ProxyDoor,
  url: URL,
  alpn: string[],
  sockets: Set<{ destroy(): unknown }>,
): Promise<tls.TLSSocket> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || '443';
  return new Promise((resolve, reject) => {
    const connect = http.request({
      host: door.host,
      port: door.port,
      method: 'CONNECT',
      path: `${url.hostname}:${port}`,
      agent: false,
    });
    sockets.add(connect);
    connect.on('connect', (res, socket: Socket) => {
      sockets.add(socket);
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`the proxy answered CONNECT with ${res.statusCode}`));
        return;
      }
      const secure = tls.connect({
        socket,
        ca: door.caPem,
        ...(isIP(hostname) ? { host: hostname } : { servername: hostname, host: hostname }),
        ALPNProtocols: alpn,
      });
      sockets.add(secure);
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
    connect.on('error', reject);
    connect.end();
  });
}
