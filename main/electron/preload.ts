/**
 * The page's one way to the host: `window.sluice`, a `BridgeApi` (plus `onConnection`) over a
 * message port to the host's utility process. The port comes from the main process on
 * `CHANNELS.connect`, asked for on first use; `ipcRenderer` itself never reaches the page.
 *
 * Sandboxed preloads cannot load other files, so vite.preload.config.ts bundles this into one
 * CommonJS file (dist/main/electron/preload.cjs).
 */
import { contextBridge, ipcRenderer } from 'electron';
import {
  BRIDGE_KEY,
  CHANNELS,
  MENU_ACTIONS,
  type BridgeApi,
  type HostStopped,
  type MenuAction,
} from '../../app/contract.js';
import type { ConnectionAware } from '../../app/transport/connection.js';
import { PortBridge } from '../../app/transport/port-bridge.js';

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
  onMenu: (listener) => {
    // Only the action's name crosses over: the IPC event (and its sender) stays here.
    const onAction = (_event: unknown, action: unknown): void => {
      if ((MENU_ACTIONS as readonly unknown[]).includes(action)) listener(action as MenuAction);
    };
    ipcRenderer.on(CHANNELS.menu, onAction);
    return () => void ipcRenderer.removeListener(CHANNELS.menu, onAction);
  },
};
contextBridge.exposeInMainWorld(BRIDGE_KEY, api);
