import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { CallMessage, HostMessage } from '../../app/contract.js';
import { answerCall, badMessage, readCallText, type ErrorMessage } from '../host/call-messages.js';
import type { SluiceHost } from '../host/sluice-host.js';
import { harFileName } from '../../app/file-names.js';
import type { HarExportOptions } from '../har/har-writer.js';
import { NOT_BUILT_PAGE, readStaticFile } from './static-files.js';
import { errorMessage } from '../../app/error-message.js';

export interface HeadlessServerOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** The built renderer, e.g. dist/renderer; need not exist yet. */
  readonly rendererDir: string;
  /** Defaults to 32 random bytes, base64url. */
  readonly token?: string;
}

const HOST = '127.0.0.1';
/** Cookies ignore ports: each host names its cookie by port so two hosts never overwrite each other. */
const cookieName = (port: number): string => `sluice_token_${port}`;
const MIB = 1024 * 1024;
/** Largest message a client may send, and the send buffer past which its batches wait. */
const MAX_MESSAGE_BYTES = MIB;
const MAX_BUFFERED_BYTES = MIB;
/** How long a closing WebSocket may take to answer our close frame before it is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * The host served to a browser: the built renderer over HTTP and the contract over a WebSocket
 * (`/ws`), on 127.0.0.1 only. Anything on this machine can reach a loopback port, including web
 * pages through DNS rebinding, so every request needs the random token (in the URL, or the cookie
 * the page sets) and a Host header naming this server; WebSockets also need a local Origin.
 * Each WebSocket gets its own subscription and batcher, so several tabs each see every event.
 */
export class HeadlessServer {
  readonly url: string;
  private readonly secret: Buffer;
  private readonly allowedHosts: ReadonlySet<string>;
  private readonly allowedOrigins: ReadonlySet<string>;
  private readonly csp: string;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly host: SluiceHost,
    private readonly server: http.Server,
    private readonly rendererDir: string,
    readonly port: number,
    readonly token: string,
  ) {
    this.url = `http://${HOST}:${port}/?token=${token}`;
    this.secret = Buffer.from(token);
    this.allowedHosts = new Set([`${HOST}:${port}`, `localhost:${port}`]);
    this.allowedOrigins = new Set([`http://${HOST}:${port}`, `http://localhost:${port}`]);
    this.csp = [
      "default-src 'self'",
      `connect-src 'self' ws://${HOST}:${port} ws://localhost:${port}`,
      "img-src 'self' data:",
      "style-src 'self' 'unsafe-inline'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    server.on('request', this.onRequest);
    server.on('upgrade', this.onUpgrade);
  }

  static async start(host: SluiceHost, options: HeadlessServerOptions): Promise<HeadlessServer> {
    const token = options.token ?? randomBytes(32).toString('base64url');
    // It goes into a URL and a cookie unescaped.
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('the ui token may only hold letters, digits, - and _');
    const server = http.createServer();
    const port = await listen(server, options.port ?? 0);
    return new HeadlessServer(host, server, path.resolve(options.rendererDir), port, token);
  }

  /** Closes every WebSocket (each unsubscribes from the host as it goes) and the server. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // WebSockets first: dropping every connection would cut them before their close frame.
    await Promise.all([...this.wss.clients].map(closeWebSocket));
    this.wss.close();
    this.server.closeAllConnections();
    await serverClosed;
  }

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The token is in the page's URL: never let it leave in a Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!this.hostAllowed(req))
      return sendText(res, 403, 'Forbidden: this server answers only to 127.0.0.1 or localhost.');
    const target = parseTarget(req.url);
    // The page posts two things: its export form (an id list can outgrow a URL) and a HAR to import.
    const post = req.method === 'POST' && (target.path === HAR_PATH || target.path === HAR_IMPORT_PATH);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !post) {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'Method not allowed.');
    }
    if (!this.authorised(req, target.token)) {
      return sendText(res, 401, 'Unauthorised: open the full URL Sluice printed, with its token.');
    }
    if (post) {
      // A form on another site cannot carry our SameSite cookie, but say no to foreign origins anyway.
      // Our own page's form says `Origin: null`: its no-referrer policy hides the origin too.
      if (req.headers.origin !== 'null' && !this.originAllowed(req))
        return sendText(res, 403, 'Forbidden: foreign origin.');
      if (target.path === HAR_IMPORT_PATH) return void this.importHar(req, res, target.query);
      return void readForm(req).then(
        (form) => this.serveHar(req, res, form),
        (err: Error) => sendText(res, 413, err.message),
      );
    }
    if (target.path === HAR_PATH) return void this.serveHar(req, res, target.query);
    const serve = target.path === '/' || target.path === '/index.html' ? this.servePage : this.serveAsset;
    serve(req, res, target.path).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendText(res, 500, `Internal error: ${errorMessage(err)}`);
    });
  };

  private readonly servePage = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // Lets the page's scripts, styles and WebSocket in without repeating the token in every URL.
    res.setHeader('Set-Cookie', `${cookieName(this.port)}=${this.token}; HttpOnly; SameSite=Strict; Path=/`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', this.csp);
    const page = await readStaticFile(this.rendererDir, '/index.html');
    if (page) send(req, res, 200, page.contentType, page.body);
    else send(req, res, 503, 'text/html; charset=utf-8', Buffer.from(NOT_BUILT_PAGE));
  };

  private readonly serveAsset = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    urlPath: string,
  ): Promise<void> => {
    const file = await readStaticFile(this.rendererDir, urlPath);
    if (!file) return sendText(res, 404, 'Not found.');
    if (file.contentType.startsWith('text/html')) res.setHeader('Content-Security-Policy', this.csp);
    send(req, res, 200, file.contentType, file.body);
  };

  /**
   * The capture as a HAR download (`GET /har?ids=1,2&redact=1&redactHeader=x-api-key`), written as
   * a stream straight into the response. The page links here; the cookie carries the token.
   */
  private async serveHar(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): Promise<void> {
    const options = harOptions(query);
    if (typeof options === 'string') return sendText(res, 400, options);
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="${harFileName(new Date())}"`,
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') return void res.end();
    try {
      await this.host.writeHar(res, options);
      res.end();
    } catch {
      // Half a HAR must not look like a whole one: cut the download so the browser marks it failed.
      res.destroy();
    }
  }

  /**
   * Imports the HAR file in the request body (`POST /har/import?name=capture.har`), read as it
   * arrives, so a file of hundreds of megabytes is never one string in either process. Progress
   * reaches every tab as `har-import-progress` events; the answer is the `HarImportReply` as JSON,
   * or a 400 with the words saying what is wrong and where.
   */
  private async importHar(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): Promise<void> {
    const length = Number(req.headers['content-length']);
    const name = query.get('name') ?? undefined;
    try {
      const reply = await this.host.importHar(req, {
        ...(Number.isFinite(length) ? { totalBytes: length } : {}),
        ...(name ? { name } : {}),
      });
      sendJson(res, 200, reply);
    } catch (err) {
      // Whatever the file still holds is not wanted: drain it so the answer reaches the page.
      req.resume();
      sendJson(res, 400, { error: errorMessage(err) });
    }
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (this.closing) return refuseUpgrade(socket, 503);
    const target = parseTarget(req.url);
    if (!this.hostAllowed(req) || !this.originAllowed(req)) return refuseUpgrade(socket, 403);
    if (target.path !== '/ws') return refuseUpgrade(socket, 404);
    if (!this.authorised(req, target.token)) return refuseUpgrade(socket, 403);
    this.wss.handleUpgrade(req, socket, head, this.onConnection);
  };

  private readonly onConnection = (ws: WebSocket): void => {
    const closeFeed = this.host.openFeed({
      send: (batch) => ws.send(JSON.stringify({ kind: 'batch', batch } satisfies HostMessage)),
      ready: () => ws.readyState === WebSocket.OPEN && ws.bufferedAmount < MAX_BUFFERED_BYTES,
    });
    ws.on('message', (data, isBinary) => void this.answer(ws, data, isBinary));
    ws.on('close', closeFeed);
    // Protocol errors (an oversized message, bad UTF-8) close the socket; 'close' cleans up.
    ws.on('error', () => undefined);
  };

  private async answer(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    const answer = await answerCall(this.host, readCall(data, isBinary));
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(answer));
  }

  private hostAllowed(req: http.IncomingMessage): boolean {
    // A rebound DNS name reaches us with the attacker's name in Host.
    return this.allowedHosts.has(req.headers.host?.toLowerCase() ?? '');
  }

  private originAllowed(req: http.IncomingMessage): boolean {
    // Browsers always send Origin on WebSockets, and any page may open one to us.
    const origin = req.headers.origin;
    return origin === undefined || this.allowedOrigins.has(origin.toLowerCase());
  }

  private authorised(req: http.IncomingMessage, queryToken: string | null): boolean {
    if (queryToken !== null && this.matches(queryToken)) return true;
    return cookieValues(req.headers.cookie, cookieName(this.port)).some((value) => this.matches(value));
  }

  private matches(candidate: string): boolean {
    const given = Buffer.from(candidate);
    return given.length === this.secret.length && timingSafeEqual(given, this.secret);
  }
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`ui port ${port} on ${HOST} is in use`));
      else if (err.code === 'EACCES') reject(new Error(`no permission to listen on ${HOST}:${port}`));
      else reject(new Error(`cannot listen on ${HOST}:${port}: ${err.message}`));
    });
    server.listen(port, HOST, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Splits the request target by hand: `new URL` would read `//evil/x` as a host and hide `..`. */
function parseTarget(url: string | undefined): { path: string; token: string | null; query: URLSearchParams } {
  const raw = url ?? '/';
  const at = raw.indexOf('?');
  const query = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
  return { path: at < 0 ? raw : raw.slice(0, at), token: query.get('token'), query };
}

const HAR_PATH = '/har';
const HAR_IMPORT_PATH = '/har/import';
/** An export form lists ids: 100,000 of them fit in well under a megabyte. */
const MAX_FORM_BYTES = 8 * MIB;

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_FORM_BYTES) {
        reject(new Error(`the export form is over ${MAX_FORM_BYTES / MIB} MiB`));
        req.destroy();
      } else {
        parts.push(part);
      }
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(parts).toString('utf8'))));
    req.on('error', reject);
  });
}

/** Export options from `/har`'s query, or what is wrong with it. */
function harOptions(query: URLSearchParams): HarExportOptions | string {
  const ids = query.get('ids');
  let selection: Set<number> | undefined;
  if (ids !== null && ids !== '') {
    const numbers = ids.split(',').map(Number);
    if (numbers.some((n) => !Number.isInteger(n) || n < 0))
      return 'ids must be a comma-separated list of exchange ids.';
    selection = new Set(numbers);
  }
  const headers = query
    .getAll('redactHeader')
    .map((h) => h.trim())
    .filter(Boolean);
  if (headers.some((h) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h))) return 'redactHeader must be header names.';
  return { ids: selection, redact: query.get('redact') === '1', redactHeaders: headers };
}

function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`))
    .map((pair) => pair.slice(name.length + 1));
}

function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: Buffer,
): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function refuseUpgrade(socket: Duplex, status: number): void {
  // The http server stops watching an upgrading socket; a reset must not become an uncaught error.
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function closeWebSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    // A polite close lets the tab tell "host stopped" from a crash; a client that never answers is cut.
    ws.close(1001, 'Sluice is shutting down');
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  });
}

/** A CallMessage, or the bad-message answer to send back instead. */
function readCall(data: RawData, isBinary: boolean): CallMessage | ErrorMessage {
  return isBinary ? badMessage(-1, 'messages must be JSON text') : readCallText(textOf(data));
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}
