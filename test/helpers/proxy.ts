import type { ExchangeOpenedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { loadOrCreateCa, SluiceProxy, type ProxyOptions } from '../../proxy-core/index.js';
import { tempDir } from './temp-dir.js';

export interface TestProxy {
  readonly proxy: SluiceProxy;
  readonly port: number;
  readonly caPem: string;
  /** Every event the proxy emitted, in order. */
  readonly events: ProxyEvent[];
  /** Resolves with the first event matching `predicate` (already seen or still to come). */
  waitFor<T extends ProxyEvent>(predicate: (e: ProxyEvent) => e is T, timeoutMs?: number): Promise<T>;
  waitFor(predicate: (e: ProxyEvent) => boolean, timeoutMs?: number): Promise<ProxyEvent>;
  close(): Promise<void>;
}

/** A real proxy on 127.0.0.1:0 with its own CA in a temp data dir. */
export async function startProxy(options: Omit<ProxyOptions, 'ca'> = {}): Promise<TestProxy> {
  const dir = await tempDir('sluice-proxy-');
  const ca = await loadOrCreateCa(dir.path);
  const proxy = await SluiceProxy.create({ ...options, ca });
  const events: ProxyEvent[] = [];
  const waiters = new Set<{ predicate: (e: ProxyEvent) => boolean; resolve: (e: ProxyEvent) => void }>();
  proxy.subscribe((event) => {
    events.push(event);
    for (const waiter of waiters) {
      if (waiter.predicate(event)) {
        waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  });
  const { port } = await proxy.listen(0);
  const waitFor = (predicate: (e: ProxyEvent) => boolean, timeoutMs = 10_000): Promise<ProxyEvent> => {
    const seen = events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve };
      waiters.add(waiter);
      setTimeout(() => {
        if (waiters.delete(waiter)) reject(new Error(`no matching proxy event within ${timeoutMs} ms`));
      }, timeoutMs).unref();
    });
  };
  return {
    proxy,
    port,
    caPem: ca.certPem,
    events,
    waitFor: waitFor as TestProxy['waitFor'],
    close: async () => {
      await proxy.close();
      await dir.remove();
    },
  };
}

/** The last exchange-opened event that matches, e.g. by URL. */
export function lastOpened(
  events: readonly ProxyEvent[],
  matches: (e: ExchangeOpenedEvent) => boolean = () => true,
): ExchangeOpenedEvent | undefined {
  return events.findLast((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && matches(e));
}
