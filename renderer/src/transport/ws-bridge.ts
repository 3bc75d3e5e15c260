import type { BridgeApi, CallOutcome, CommandName, EventBatch } from '../../../app/contract.js';
import { BatchFanout } from '../../../app/transport/batch-fanout.js';
import { ConnectionStatus, type ConnectionAware, type ConnectionListener } from '../../../app/transport/connection.js';
import { receiveHostMessage } from '../../../app/transport/host-messages.js';
import { PendingCalls } from '../../../app/transport/pending-calls.js';

/** What the bridge needs of a WebSocket: the browser's fits, and so does the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WsBridgeOptions {
  /** The headless host's `/ws`, e.g. `ws://127.0.0.1:5000/ws` (the page's cookie carries the token). */
  readonly url: string;
  readonly WebSocket: WebSocketConstructor;
  /** Wait before reconnect attempt `attempt` (0 for the first after a drop). */
  readonly backoffMs?: (attempt: number) => number;
}

const OPEN = 1;
/** 0.25 s, doubling, at most 5 s: quick after a blip, gentle while the host is down. */
export const defaultBackoffMs = (attempt: number): number => Math.min(5000, 250 * 2 ** attempt);

/**
 * The contract over the headless host's WebSocket: JSON `CallMessage`s out; replies, errors and
 * batches in. The socket opens on first use and reopens with backoff whenever it drops; each new
 * socket is a new feed whose first batch has seq 0, which tells consumers to start from scratch.
 * Calls made while connecting wait for the socket; calls still unanswered when it closes fail.
 */
export class WsBridge implements BridgeApi, ConnectionAware {
  private readonly status = new ConnectionStatus();
  private readonly calls = new PendingCalls();
  private readonly fanout = new BatchFanout({ onStale: () => this.reconnectNow() });
  /** Calls made while the socket was not open, sent on 'open'. */
  private unsent: string[] = [];
  private socket: WebSocketLike | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private started = false;
  private disposed = false;

  constructor(private readonly options: WsBridgeOptions) {}

  call(command: CommandName, request: unknown): Promise<CallOutcome> {
    if (this.disposed) return Promise.resolve(failed(`the connection to Sluice was closed; ${command} was not sent`));
    const { message, outcome } = this.calls.open(command, request);
    const text = JSON.stringify(message);
    if (this.socket?.readyState === OPEN) this.socket.send(text);
    else this.unsent.push(text);
    this.start();
    return outcome;
  }

  listen(onBatch: (batch: EventBatch) => void): () => void {
    const stop = this.fanout.add(onBatch);
    this.start();
    return stop;
  }

  onConnection(listener: ConnectionListener): () => void {
    return this.status.onConnection(listener);
  }

  /** Closes the socket for good: no more reconnects; calls still waiting fail. */
  close(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'closed by the page');
    this.socket = undefined;
    this.failCalls('the connection to Sluice was closed');
    this.status.set('closed', 'closed by the page');
  }

  private start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    this.connect();
  }

  private connect(): void {
    this.retryTimer = undefined;
    this.status.set('connecting', this.attempt > 0 ? `attempt ${this.attempt + 1}` : undefined);
    const socket = new this.options.WebSocket(this.options.url);
    this.socket = socket;
    socket.addEventListener('open', () => this.onOpen(socket));
    socket.addEventListener('message', (event) => this.onMessage(socket, event.data));
    socket.addEventListener('close', (event) => this.onClose(socket, event.code, event.reason));
    // A failed socket always closes too, and 'close' says more.
    socket.addEventListener('error', () => undefined);
  }

  private onOpen(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.fanout.reset();
    this.status.set('open');
    const unsent = this.unsent;
    this.unsent = [];
    for (const text of unsent) socket.send(text);
  }

  private onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket || typeof data !== 'string') return;
    receiveHostMessage(parseJson(data), this.calls, this.fanout);
  }

  private onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.failCalls('the connection to Sluice closed');
    if (this.disposed) return;
    const delay = (this.options.backoffMs ?? defaultBackoffMs)(this.attempt);
    this.attempt++;
    const why = reason || (code === 1006 ? 'connection lost' : `closed (${code})`);
    this.status.set('closed', `${why}; retrying in ${formatSeconds(delay)}`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Drops the socket and opens a new one at once, for a fresh feed from seq 0. */
  private reconnectNow(): void {
    const socket = this.socket;
    if (!socket || this.disposed) return;
    this.socket = undefined;
    socket.close(1000, 'starting a new feed');
    this.failCalls('the connection to Sluice was reopened');
    this.connect();
  }

  private failCalls(why: string): void {
    this.unsent = [];
    this.calls.failAll((command) => `${why} before ${command} was answered`);
  }
}

function failed(message: string): CallOutcome {
  return { kind: 'error', error: { code: 'failed', message } };
}

/** The value the text holds, or undefined when it is not JSON (then it is no host message either). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}
