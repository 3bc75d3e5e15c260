import type { EventBatch } from '../../../app/contract.js';
import type { HostClient } from '../transport/host-client.js';
import type { SluiceStore } from './store.js';

/**
 * Keeps the store in step with the host: every batch goes into it, and so does the connection's
 * state. On each (re)connect the proxy's and the system proxy's status, the rules, the mocks and the schemas are asked
 * for, since the replayed log does not carry them; status events keep the statuses current after
 * that, and each `schemas-changed` event (live only) has the schemas asked for again.
 * Returns the function that stops following.
 */
export function followHost(host: HostClient, store: SluiceStore): () => void {
  const fetchSchemas = (): void => {
    const connection = store.getState().connectionSerial;
    host.call('schemas.get', {}).then(
      (list) => store.getState().receiveSchemas(list, connection),
      () => undefined,
    );
  };
  const stopBatches = host.listen((batch) => {
    store.getState().receive(batch);
    if (announcesSchemas(batch)) fetchSchemas();
  });
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
    host.call('rules.get', {}).then(
      (state) => store.getState().setRules(state),
      () => undefined,
    );
    host.call('mocks.get', {}).then(
      (state) => store.getState().setMocks(state),
      () => undefined,
    );
    fetchSchemas();
  });
  return () => {
    stopBatches();
    stopConnection();
  };
}

/** Whether a batch says the schemas changed: one test per event, with no work for any other. */
function announcesSchemas(batch: EventBatch): boolean {
  for (const event of batch.events) if (event.type === 'schemas-changed') return true;
  return false;
}
