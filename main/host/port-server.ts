import type { MessagePort as WorkerPort } from 'node:worker_threads';
import type { BatchAck, HostMessage } from '../../app/contract.js';
import { answerCall, readCall } from './call-messages.js';
import type { SluiceHost } from './sluice-host.js';

/**
 * One end of a message channel to a renderer, whatever made it: Electron's `MessagePortMain` in
 * the host's utility process, or a `worker_threads` port in tests. Messages are structured-cloned
 * objects, not JSON text.
 */
export interface HostPort {
  postMessage(message: HostMessage): void;
  onMessage(listener: (data: unknown) => void): void;
  /** Called once when the other end goes away (the window closed or reloaded). */
  onClose(listener: () => void): void;
  close(): void;
}

/**
 * Batches in flight before the feed waits for receipts. While it waits, the host's batcher merges
 * and drops display events as it does for a slow WebSocket, so a stalled window costs memory in
 * neither process and never slows the proxy.
 */
export const MAX_UNACKED_BATCHES = 4;

/**
 * Serves the contract over one port with the envelope the headless host's WebSocket uses:
 * `CallMessage`s in; `reply`, `error` and `batch` out; one feed per port, from seq 0. Returns the
 * function that stops serving and closes the port.
 */
export function servePort(host: SluiceHost, port: HostPort): () => void {
  let sent = 0;
  let acknowledged = 0;
  let closed = false;
  const closeFeed = host.openFeed({
    send: (batch) => {
      port.postMessage({ kind: 'batch', batch });
      sent = batch.seq + 1;
    },
    ready: () => !closed && sent - acknowledged < MAX_UNACKED_BATCHES,
  });
  const stop = (): void => {
    if (closed) return;
    closed = true;
    closeFeed();
    port.close();
  };
  port.onMessage((data) => {
    if (isBatchAck(data)) {
      acknowledged = Math.max(acknowledged, Math.min(sent, data.seq + 1));
      return;
    }
    void answerCall(host, readCall(data)).then((answer) => {
      if (!closed) port.postMessage(answer);
    });
  });
  port.onClose(stop);
  return stop;
}

function isBatchAck(data: unknown): data is BatchAck {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { kind?: unknown }).kind === 'ack' &&
    Number.isInteger((data as { seq?: unknown }).seq)
  );
}

/** The parts of Electron's `MessagePortMain` a host port uses; typed here so this module needs no Electron. */
export interface MessagePortMainLike {
  on(event: 'message', listener: (messageEvent: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  postMessage(message: unknown): void;
  start(): void;
  close(): void;
}

export function fromMessagePortMain(port: MessagePortMainLike): HostPort {
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage: (listener) => {
      port.on('message', (event) => listener(event.data));
      // MessagePortMain queues messages until started.
      port.start();
    },
    onClose: (listener) => port.on('close', listener),
    close: () => port.close(),
  };
}

export function fromWorkerPort(port: WorkerPort): HostPort {
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', listener),
    onClose: (listener) => port.once('close', listener),
    close: () => port.close(),
  };
}
