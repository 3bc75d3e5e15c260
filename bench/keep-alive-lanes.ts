import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { openTunnel, type Route, type Scheme, type Upstream } from './clients.js';
import { errorMessage } from '../app/error-message.js';

/** Request bodies are 100 to 1,000 bytes, spread evenly; the upstream echoes each back. */
export const SMALLEST_BODY = 100;
export const LARGEST_BODY = 1_000;
const PAYLOAD = randomBytes(LARGEST_BODY);
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * One keep-alive connection (an agent allowed a single socket) on which requests go one after
 * another, each sent once the previous answer has been read, as a busy API client does.
 */
export interface Lane {
  readonly agent: http.Agent;
  /** Every socket the lane's requests went out on: more than one means the connection was lost. */
  readonly sockets: Set<Socket>;
  request(body: Buffer): http.ClientRequest;
}

/**
 * An intercepted-https lane's agent: its only connection is the tunnel opened beforehand, so a
 * request after that tunnel closed fails instead of quietly connecting anew.
 */
class TunnelAgent extends http.Agent {
  private tunnel: TLSSocket | undefined;

  constructor(tunnel: TLSSocket) {
    super({ keepAlive: true, maxSockets: 1 });
    this.tunnel = tunnel;
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const tunnel = this.tunnel;
    this.tunnel = undefined;
    if (tunnel) return tunnel;
    // Node hands the error to the request that asked (the stream argument is unused with an error).
    callback?.(new Error('the tunnel was closed'), undefined as unknown as Duplex);
    return undefined;
  }
}

/** Opens `count` lanes to the upstream's POST /echo along `route`. */
export async function openLanes(route: Route, upstream: Upstream, scheme: Scheme, count: number): Promise<Lane[]> {
  const port = scheme === 'https' ? upstream.httpsPort : upstream.httpPort;
  const host = { host: `${upstream.tlsHost}:${port}` };
  const lane = (agent: http.Agent, options: http.RequestOptions, transport: typeof http | typeof https): Lane => {
    const sockets = new Set<Socket>();
    return {
      agent,
      sockets,
      request: (body) => {
        const req = transport.request({ ...options, agent, method: 'POST', headers: { ...options.headers } });
        req.setHeader('Content-Length', body.length);
        req.once('socket', (socket) => sockets.add(socket));
        return req;
      },
    };
  };
  const lanes: Promise<Lane>[] = Array.from({ length: count }, async () => {
    if (route.via === 'direct' && scheme === 'http') {
      return lane(new http.Agent({ keepAlive: true, maxSockets: 1 }), { host: '127.0.0.1', port, path: '/echo' }, http);
    }
    if (route.via === 'direct') {
      const agent = new https.Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: upstream.caPem,
        servername: upstream.tlsHost,
      });
      return lane(agent, { host: '127.0.0.1', port, path: '/echo', headers: host }, https);
    }
    if (scheme === 'http') {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      return lane(agent, { host: '127.0.0.1', port: route.port, path: `http://127.0.0.1:${port}/echo` }, http);
    }
    const tunnel = await openTunnel(route.port, upstream.tlsHost, port, route.caPem);
    return lane(new TunnelAgent(tunnel), { path: '/echo', headers: host }, http);
  });
  const settled = await Promise.allSettled(lanes);
  const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) {
    closeLanes(opened);
    throw failure.reason;
  }
  return opened;
}

export function closeLanes(lanes: readonly Lane[]): void {
  for (const lane of lanes) lane.agent.destroy();
}

export interface RequestBatch {
  readonly requested: number;
  /** Answered 200 with the whole body, byte for byte the one sent. */
  readonly completed: number;
  /** Failed or answered wrongly; requested - completed - failed were never sent (time ran out). */
  readonly failed: number;
  readonly seconds: number;
  readonly firstError: string | undefined;
}

/**
 * Sends `total` requests over `lanes`, each lane taking the next request as soon as its last was
 * answered, until all are sent or `timeoutMs` has passed. A failed request is counted and the
 * lane goes on (its agent connects again if it can; a tunnel lane cannot, and fails the rest it
 * takes quickly), so one failure neither hangs the batch nor hides how many came back whole.
 * Request `i` carries a body of its own size, so every size from SMALLEST_BODY to LARGEST_BODY
 * comes up in turn.
 */
export async function sendRequests(
  lanes: readonly Lane[],
  total: number,
  timeoutMs: number,
  firstIndex = 0,
): Promise<RequestBatch> {
  let next = 0;
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + timeoutMs;
  const started = performance.now();
  const run = async (lane: Lane): Promise<void> => {
    // Bounded: each pass takes one of `total` requests, and the deadline stops it early.
    while (next < total && performance.now() < deadline) {
      const index = firstIndex + next++;
      const size = SMALLEST_BODY + ((index * 7_919) % (LARGEST_BODY - SMALLEST_BODY + 1));
      try {
        await exchange(lane, PAYLOAD.subarray(0, size));
        completed++;
      } catch (err) {
        failed++;
        firstError ??= errorMessage(err);
      }
    }
  };
  await Promise.all(lanes.map(run));
  const seconds = (performance.now() - started) / 1000;
  if (next < total) firstError ??= `${total - next} requests not sent within ${timeoutMs} ms`;
  return { requested: total, completed, failed, seconds, firstError };
}

/** One request and its answer, which must be the body sent, whole. */
function exchange(lane: Lane, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = lane.request(body);
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => {
        if (res.statusCode !== 200)
          reject(new Error(`status ${res.statusCode} ${res.headers['x-sluice-error'] ?? ''}`));
        else if (!res.complete) reject(new Error('answer ended incomplete'));
        else if (!Buffer.concat(chunks).equals(body)) reject(new Error(`answer is not the ${body.length} bytes sent`));
        else resolve();
      });
    });
    req.end(body);
  });
}
