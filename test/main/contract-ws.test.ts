import { describe, it } from 'vitest';
import { WebSocket } from 'ws';
import { HeadlessServer } from '../../main/headless/headless-server.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { HostClient } from '../../renderer/src/transport/host-client.js';
import { WsBridge } from '../../renderer/src/transport/ws-bridge.js';
import { contractCases, sendThroughProxy } from '../contract/contract-cases.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();

/**
 * The contract over the headless host's WebSocket, end to end: the renderer's own WsBridge and
 * HostClient (with the `ws` package standing in for the browser's WebSocket) against a real
 * HeadlessServer and SluiceHost, with real traffic through the proxy.
 */
describe('the contract over the WebSocket transport', () => {
  for (const contractCase of contractCases) {
    it(contractCase.name, async () => {
      const host = await SluiceHost.create({ dataDir: await freshDir() });
      defer(() => host.close());
      const ui = await HeadlessServer.start(host, { rendererDir: await freshDir() });
      defer(() => ui.close());
      // A browser sends the token in the page's cookie; a test has no page, so it goes in the URL.
      const bridge = new WsBridge({ url: `ws://127.0.0.1:${ui.port}/ws?token=${ui.token}`, WebSocket });
      defer(async () => bridge.close());
      await contractCase.run({ client: new HostClient(bridge), send: sendThroughProxy });
    });
  }
});
