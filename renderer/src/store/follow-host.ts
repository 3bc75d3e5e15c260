import type { HostClient } from '../transport/host-client.js';
import type { SluiceStore } from './store.js';

/**
 * Keeps the store in step with the host: every batch goes into it, and so does the connection's
 * state. On each (re)connect the proxy's and the system proxy's status are asked for, since the
 * replayed log does not carry them; status events keep them current after that.
 * Returns the function that stops following.
 */
export function followHost(host: HostClient, store: SluiceStore): () => void {
  const stopBatches = host.listen((batch) => store.getState().receive(batch));
  const stopConnection = host.onConnection((state, detail) => {
    store.getState().setConnection(state, detail);
    if (state !== 'open') return;
    host.call('proxy.status', {}).then(
      (status) => store.getState().setStatus(status),
      () => undefined,
    );
    host.call('systemProxy.status', {}).then(
      (status) => store.getState().setSystemProxy(status),
      () => undefined,
    );
  });
  return () => {
    stopBatches();
    stopConnection();
  };
}
