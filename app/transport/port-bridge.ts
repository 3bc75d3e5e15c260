import type { BatchAck, BridgeApi, CallOutcome, CommandName, EventBatch } from '../contract.js';
import { BatchFanout } from './batch-fanout.js';
import { ConnectionStatus, type ConnectionAware, type ConnectionListener } from './connection.js';
import { receiveHostMessage } from './host-messages.js';
import { PendingCalls } from './pending-calls.js';

/** What the bridge needs of a message port: the DOM's `MessagePort` fits. */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  start(): void;
  close(): void;
}

/**
 * The contract over a message port to the host (the Electron app's utility process), with the
 * envelope the WebSocket uses, as structured-cloned objects: `CallMessage`s out; replies, errors
 * and batches in. Each batch is acknowledged with `{ kind: 'ack', seq }` once the page's listeners
 * have it (see `main/host/port-server.ts`): a port has no `bufferedAmount`, so the receipts are what
 * keeps a busy page from piling up batches.
 *
 * The port comes later than the page's first calls (the preload asks the main process for it), and
 * a new one comes if the host process restarts: `attach` takes each. Calls made before a port is
 * there wait for it; calls unanswered on a replaced port fail, since that host is gone.
 */
export class PortBridge implements BridgeApi, ConnectionAware {
  private readonly status = new ConnectionStatus();
  private readonly calls = new PendingCalls();
  private readonly fanout = new BatchFanout({
    onDelivered: (batch) => this.port?.postMessage({ kind: 'ack', seq: batch.seq } satisfies BatchAck),
  });
  private unsent: unknown[] = [];
  private port: MessagePortLike | undefined;
  private requested = false;

  /** `requestPort` asks for the first port, on first use; it arrives through `attach`. */
  constructor(private readonly requestPort: () => void = () => undefined) {}

  attach(port: MessagePortLike): void {
    const previous = this.port;
    this.port = port;
    if (previous) {
      previous.close();
      this.calls.failAll((command) => `the Sluice host restarted before ${command} was answered`);
    }
    // The old feed is over: the new port's first batch has seq 0.
    this.fanout.reset();
    port.addEventListener('message', (event) => this.onMessage(port, event.data));
    port.start();
    this.status.set('open');
    const unsent = this.unsent;
    this.unsent = [];
    for (const message of unsent) port.postMessage(message);
  }

  /** The host went away and no new port is coming yet (the main process says so). */
  detach(detail: string): void {
    this.port?.close();
    this.port = undefined;
    this.calls.failAll((command) => `the Sluice host stopped before ${command} was answered`);
    this.status.set('closed', detail);
  }

  call(command: CommandName, request: unknown): Promise<CallOutcome> {
    const { message, outcome } = this.calls.open(command, request);
    if (this.port) this.port.postMessage(message);
    else this.unsent.push(message);
    this.requestOnce();
    return outcome;
  }

  listen(onBatch: (batch: EventBatch) => void): () => void {
    const stop = this.fanout.add(onBatch);
    this.requestOnce();
    return stop;
  }

  onConnection(listener: ConnectionListener): () => void {
    return this.status.onConnection(listener);
  }

  private requestOnce(): void {
    if (this.requested) return;
    this.requested = true;
    this.requestPort();
  }

  private onMessage(port: MessagePortLike, data: unknown): void {
    // A replaced port's last messages belong to a host that is gone.
    if (port === this.port) receiveHostMessage(data, this.calls, this.fanout);
  }
}
