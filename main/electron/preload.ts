/**
 * The page's one way to the host: `window.sluice`, a `BridgeApi` (plus `onConnection`) over a
 * message port to the host's utility process. The port comes from the main process on
 * `CHANNELS.connect`, asked for on first use; `ipcRenderer` itself never reaches the page.
 *
 * Sandboxed preloads cannot load other files, so vite.preload.config.ts bundles this into one
 * CommonJS file (dist/main/electron/preload.cjs).
 */
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_KEY, CHANNELS, type BridgeApi, type HostStopped } from '../../app/contract.js';
import type { ConnectionAware } from '../../renderer/src/transport/connection.js';
import { PortBridge } from '../../renderer/src/transport/port-bridge.js';

const bridge = new PortBridge(() => ipcRenderer.send(CHANNELS.connect));

ipcRenderer.on(CHANNELS.connect, (event, notice: unknown) => {
  const port = event.ports[0];
  if (port) return bridge.attach(port);
  const detail = (notice as Partial<HostStopped> | null)?.detail;
  bridge.detach(typeof detail === 'string' ? detail : 'the Sluice host stopped');
});

// Plain functions, not the bridge object: contextBridge copies what it exposes, and a class
// instance would lose its methods on the way.
const api: BridgeApi & ConnectionAware = {
  call: (command, request) => bridge.call(command, request),
  listen: (onBatch) => bridge.listen(onBatch),
  onConnection: (listener) => bridge.onConnection(listener),
  // Main shows the dialog; the page gets back only the path the user picked.
  chooseFile: (choice) => ipcRenderer.invoke(CHANNELS.chooseFile, choice) as Promise<string | null>,
};
contextBridge.exposeInMainWorld(BRIDGE_KEY, api);
