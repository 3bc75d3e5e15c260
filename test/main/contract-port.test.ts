import { describe, it } from 'vitest';
import { fromWorkerPort, servePort } from '../../main/host/port-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { HostClient } from '../../renderer/src/transport/host-client.js';
import { PortBridge } from '../../app/transport/port-bridge.js';
import { contractCases, sendThroughProxy } from '../contract/contract-cases.js';
import { useCleanup } from '../helpers/cleanup.js';
import { workerChannel } from '../helpers/ports.js';

const { defer, freshDir } = useCleanup();

/**
 * The contract over a message port, as the Electron app carries it between a window and the
 * host's utility process: the host served by `servePort` on one end of a real `worker_threads`
 * channel, the renderer's PortBridge and HostClient on the other.
 */
describe('the contract over the message-port transport', () => {
  for (const contractCase of contractCases) {
    it(contractCase.name, async () => {
      const host = await SluiceHost.create({ dataDir: await freshDir() });
      defer(() => host.close());
      const { hostEnd, pageEnd, close } = workerChannel();
      defer(async () => close());
      servePort(host, fromWorkerPort(hostEnd));
      // The preload asks the main process for a port on first use; here it is at hand.
      const bridge = new PortBridge(() => bridge.attach(pageEnd));
      await contractCase.run({ client: new HostClient(bridge), send: sendThroughProxy });
    });
  }
});
