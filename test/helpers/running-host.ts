import type { HostEvent } from '../../app/contract.js';
import { SluiceHost } from '../../main/host/sluice-host.js';

/**
 * A real host in a fresh data folder with its proxy listening on a free port, and every event it
 * emits from the start. `defer` (from `useCleanup`) closes it after the test.
 */
export async function runningHost(
  dataDir: string,
  defer: (undo: () => Promise<unknown>) => void,
): Promise<{ host: SluiceHost; events: HostEvent[]; port: number }> {
  const host = await SluiceHost.create({ dataDir });
  defer(() => host.close());
  const events: HostEvent[] = [];
  host.subscribe((e) => events.push(e));
  await host.call('proxy.setPort', { port: 0 });
  const { port } = await host.call('proxy.start', {});
  return { host, events, port };
}
