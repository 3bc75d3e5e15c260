import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import tls from 'node:tls';
import type { UpstreamAuthority } from './servers.js';

export interface H2Server {
  readonly port: number;
  readonly server: http2.Http2SecureServer | http2.Http2Server;
  /** Every session the server accepted, to close them all. */
  close(): Promise<void>;
}

/** An HTTP/2 upstream on 127.0.0.1:0: TLS (ALPN h2 only, or h2 and http/1.1) with `authority`, else h2c. */
export async function startH2Server(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number) => void,
  options: { authority?: UpstreamAuthority; allowHTTP1?: boolean; settings?: http2.Settings } = {},
): Promise<H2Server> {
  const settings = { initialWindowSize: 1 << 20, ...options.settings };
  const server = options.authority
    ? http2.createSecureServer({
        ...options.authority.issue('localhost'),
        allowHTTP1: options.allowHTTP1 ?? false,
        settings,
      })
    : http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** CONNECT through the proxy, then what the client speaks inside: TLS with `alpn`, or h2c. */
export function connectH2(
  proxyPort: number,
  target: string,
  options: { caPem?: string; alpn?: string[]; settings?: http2.Settings } = {},
): Promise<{ session: http2.ClientHttp2Session; socket: net.Socket | tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: target });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        reject(new Error(`CONNECT answered ${res.statusCode}`));
        return;
      }
      const [host] = target.split(':');
      const open = (s: net.Socket | tls.TLSSocket, scheme: string): void => {
        const session = http2.connect(`${scheme}://${target}`, {
          createConnection: () => s,
          settings: options.settings ?? { initialWindowSize: 1 << 20 },
        });
        session.on('error', () => undefined);
        resolve({ session, socket: s });
      };
      if (!options.caPem) {
        open(socket, 'http');
        return;
      }
      const secure = tls.connect({
        socket,
        servername: host,
        ca: options.caPem,
        ALPNProtocols: options.alpn ?? ['h2'],
      });
      secure.once('secureConnect', () => open(secure, 'https'));
      secure.once('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One request on a session; collects the response head, body, trailers and how the stream closed. */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<{
  status: number;
  headers: http2.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
  rstCode: number;
}> {
  return new Promise((resolve) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let head: http2.IncomingHttpHeaders = {};
    let raw: string[] = [];
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h: http2.IncomingHttpHeaders, _f: number, r: string[]) => {
      head = h;
      raw = r;
    });
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => (trailers = t));
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('error', () => undefined);
    stream.on('close', () =>
      resolve({
        status: Number(head[':status'] ?? 0),
        headers: head,
        rawHeaders: raw,
        body: Buffer.concat(chunks),
        trailers,
        rstCode: stream.rstCode ?? -1,
      }),
    );
    if (body !== undefined) stream.end(body);
  });
}

/** Runs curl without blocking the event loop (upstreams in this process must keep answering). */
export function curl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0 }),
    );
  });
}
