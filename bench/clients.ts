import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';

export type Scheme = 'http' | 'https';

/** An upstream reachable at 127.0.0.1 over http and https; its certificate names `tlsHost`. */
export interface Upstream {
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly tlsHost: string;
  /** The CA that issued the upstream's certificate; direct https clients trust it. */
  readonly caPem: string;
}

/** Straight to the upstream, or through a Sluice proxy whose CA the client trusts. */
export type Route =
  { readonly via: 'direct' } | { readonly via: 'proxy'; readonly port: number; readonly caPem: string };

export const DIRECT: Route = { via: 'direct' };

/** Node's minimal relay, measured beside Sluice as the floor: how to reach it, and its pid for its CPU. */
export interface FloorRoute {
  readonly route: Route & { via: 'proxy' };
  readonly pid: number;
}

/**
 * Opens an intercepted TLS connection the way a browser does through an explicit proxy: CONNECT,
 * then a TLS handshake inside the tunnel with the proxy's leaf for `host`, offering
 * `alpnProtocols`.
 */
export function openTunnel(
  proxyPort: number,
  host: string,
  port: number,
  caPem: string,
  timeoutMs = 10_000,
  alpnProtocols: readonly string[] = ['http/1.1'],
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: `${host}:${port}` });
    let secure: tls.TLSSocket | undefined;
    const fail = (err: Error): void => {
      clearTimeout(timer);
      req.destroy();
      secure?.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`tunnel to ${host}:${port} not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(new Error(`CONNECT ${host}:${port} answered ${res.statusCode}`));
        return;
      }
      // No SNI for an address (RFC 6066): the proxy then names its certificate after the CONNECT host.
      secure = tls.connect({
        socket,
        ...(isIP(host) ? { host } : { servername: host }),
        ca: caPem,
        ALPNProtocols: [...alpnProtocols],
      });
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(secure!);
      });
      secure.once('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

/** Sends GET `path` to the upstream over `scheme` along `route`; resolves with the response head. */
export async function get(
  route: Route,
  upstream: Upstream,
  scheme: Scheme,
  path: string,
): Promise<http.IncomingMessage> {
  const req = await makeRequest(route, upstream, scheme, path);
  return new Promise((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

/**
 * POSTs to `path` with `headers`; `sendBody` writes the body and ends the request. Resolves with
 * the response head.
 */
export async function post(
  route: Route,
  upstream: Upstream,
  scheme: Scheme,
  path: string,
  headers: Record<string, string | number>,
  sendBody: (req: http.ClientRequest) => void,
): Promise<http.IncomingMessage> {
  const req = await makeRequest(route, upstream, scheme, path, { method: 'POST', headers });
  return new Promise((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    sendBody(req);
  });
}

interface RequestInit {
  readonly method?: string;
  readonly headers?: Record<string, string | number>;
}

async function makeRequest(
  route: Route,
  upstream: Upstream,
  scheme: Scheme,
  path: string,
  init: RequestInit = {},
): Promise<http.ClientRequest> {
  const port = scheme === 'https' ? upstream.httpsPort : upstream.httpPort;
  const method = init.method ?? 'GET';
  const headers = init.headers ?? {};
  if (route.via === 'direct') {
    if (scheme === 'http') return http.request({ host: '127.0.0.1', port, path, method, headers, agent: false });
    return https.request({
      host: '127.0.0.1',
      port,
      path,
      method,
      agent: false,
      servername: upstream.tlsHost,
      ca: upstream.caPem,
      headers: { host: `${upstream.tlsHost}:${port}`, ...headers },
    });
  }
  if (scheme === 'http') {
    const absolute = `http://127.0.0.1:${port}${path}`;
    return http.request({ host: '127.0.0.1', port: route.port, path: absolute, method, headers, agent: false });
  }
  const socket = await openTunnel(route.port, upstream.tlsHost, port, route.caPem);
  // No `agent` here: with agent: false, Node makes a throwaway Agent that ignores createConnection.
  return http.request({
    path,
    method,
    createConnection: () => socket,
    headers: { host: `${upstream.tlsHost}:${port}`, ...headers },
  });
}

/** Reads a short text response whole. */
export function readText(res: http.IncomingMessage, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      res.destroy();
      reject(new Error(`response not complete within ${timeoutMs} ms`));
    }, timeoutMs);
    res.on('data', (chunk: Buffer) => parts.push(chunk));
    res.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString());
    });
    res.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reads a response to its end and counts the bytes; rejects if it breaks off or takes too long. */
export function countBody(res: http.IncomingMessage, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const timer = setTimeout(() => {
      res.destroy();
      reject(new Error(`body not complete within ${timeoutMs} ms (${bytes} bytes read)`));
    }, timeoutMs);
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    res.once('end', () => {
      clearTimeout(timer);
      if (res.complete) resolve(bytes);
      else reject(new Error(`response ended incomplete after ${bytes} bytes`));
    });
    res.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Fails loudly when a transfer did not deliver what was asked: a fast broken run is no result. */
export function expectStatus(res: http.IncomingMessage, what: string): void {
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`${what}: status ${res.statusCode} ${res.headers['x-sluice-error'] ?? ''}`);
  }
}
