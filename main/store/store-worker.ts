/**
 * The capture store's worker thread: SQLite writes cost tens of microseconds a row, so they run
 * here rather than on the host's event loop, which forwards traffic. One `StoreServer` answers
 * each message in the order it came.
 */
import { parentPort } from 'node:worker_threads';
import type { StoreRequest } from './store-protocol.js';
import { StoreServer } from './store-server.js';

const port = parentPort;
if (port === null) throw new Error('store-worker.js runs only as a worker thread (CaptureStore starts it)');

const server = new StoreServer();
port.on('message', (request: StoreRequest) => {
  const { reply, transfer } = server.receive(request);
  port.postMessage(reply, transfer);
  if (request.kind === 'call' && request.call.op === 'close') port.close();
});
