import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { MessagePortLike } from '../../app/transport/port-bridge.js';

/**
 * A real `worker_threads` channel standing in for Electron's: `hostEnd` for `servePort`, and
 * `pageEnd` shaped like the DOM MessagePort the preload gets. `close` closes both.
 */
export function workerChannel(): { hostEnd: MessagePort; pageEnd: MessagePortLike; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  return {
    hostEnd: port1,
    pageEnd: domLike(port2),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

/** Node's port emits the message itself; the DOM's wraps it in an event. */
export function domLike(port: MessagePort): MessagePortLike {
  return {
    postMessage: (message) => port.postMessage(message),
    addEventListener: (_type, listener) => port.on('message', (data: unknown) => listener({ data })),
    start: () => port.start(),
    close: () => port.close(),
  };
}
