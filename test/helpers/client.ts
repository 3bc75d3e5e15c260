import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';

export interface ProxiedRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Trusted CA for https targets: the proxy's CA. */
  readonly caPem?: string;
  /** Called with each body chunk as it arrives. */
  readonly onChunk?: (chunk: Buffer, at: number) => void;
  /** Called with the status of each 1xx head that comes before the response. */
  readonly onInformation?: (status: number) => void;
  /** Aborting it closes the connection, as a reader that goes away does. */
  readonly signal?: AbortSignal;
  /** Reads nothing of the response body for this long after its head, as a slow reader. */
  readonly readAfterMs?: number;
}

export interface ProxiedResponse {
  readonly status: number;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly rawTrailers: string[];
  readonly arrivals: { at: number; size: number }[];
  /** The response framing completed (Content-Length reached or terminating chunk seen). */
  readonly complete: boolean;
  readonly error: Error | undefined;
}

/** Opens a connection to `url`'s origin through the proxy: CONNECT + TLS for https, plain for http. */
export function connectThroughProxy(proxyPort: number, url: URL, caPem?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: 'CONNECT',
      path: `${url.hostname}:${port}`,
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        reject(new Error(`CONNECT answered ${res.statusCode}`));
        return;
      }
      if (url.protocol !== 'https:') {
        resolve(socket);
        return;
      }
      // `host` is what the certificate is checked against; Node sends it as SNI unless it is an IP.
      const secure = tls.connect({ socket, host: url.hostname, ca: caPem, ALPNProtocols: ['http/1.1'] });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Sends a request through the proxy the way real clients do: absolute-form for http URLs,
 * CONNECT then TLS for https ones. Never rejects for a broken response: it reports it.
 */
export async function fetchViaProxy(
  proxyPort: number,
  target: string,
  options: ProxiedRequest = {},
): Promise<ProxiedResponse> {
  const url = new URL(target);
  const https = url.protocol === 'https:';
  const socket = https ? await connectThroughProxy(proxyPort, url, options.caPem) : undefined;
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: options.method ?? 'GET',
      path: https ? `${url.pathname}${url.search}` : url.href,
      headers: { host: url.host, ...options.headers },
      // Node ignores createConnection when agent is false.
      ...(socket ? { createConnection: () => socket } : { agent: false }),
    });
    const chunks: Buffer[] = [];
    const arrivals: { at: number; size: number }[] = [];
    let settled = false;
    const finish = (res: http.IncomingMessage | undefined, error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      resolve({
        status: res?.statusCode ?? 0,
        rawHeaders: res?.rawHeaders ?? [],
        body: Buffer.concat(chunks),
        rawTrailers: res?.rawTrailers ?? [],
        arrivals,
        complete: res?.complete ?? false,
        error,
      });
      req.destroy();
    };
    req.on('response', (res) => {
      res.on('data', (chunk: Buffer) => {
        const at = performance.now();
        chunks.push(chunk);
        arrivals.push({ at, size: chunk.length });
        options.onChunk?.(chunk, at);
      });
      res.on('end', () => finish(res, undefined));
      res.on('error', (err) => finish(res, err));
      res.on('close', () =>
        finish(res, res.complete ? undefined : new Error('response closed before it was complete')),
      );
      if (options.readAfterMs !== undefined) {
        res.pause();
        setTimeout(() => res.resume(), options.readAfterMs);
      }
    });
    req.on('error', (err) => finish(undefined, err));
    req.on('information', (info) => options.onInformation?.(info.statusCode));
    options.signal?.addEventListener('abort', () => {
      req.destroy();
      socket?.destroy();
    });
    req.end(options.body);
  });
}

/** Writes raw bytes to the proxy and collects whatever comes back until the socket closes or `ms` passes. */
export function rawExchange(proxyPort: number, bytes: Buffer | string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    const received: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(received).toString('latin1'));
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}
