import { BRIDGE_KEY } from '../../../app/contract.js';
import { HostClient, type ClientBridge } from './host-client.js';
import { WsBridge } from './ws-bridge.js';

/**
 * The page's client for the host: the Electron preload's bridge when the page runs in the app,
 * else the headless host's WebSocket on the origin that served the page.
 */
export function connectHost(): HostClient {
  const exposed = (window as unknown as Partial<Record<typeof BRIDGE_KEY, ClientBridge>>)[BRIDGE_KEY];
  if (exposed) return new HostClient(exposed);
  return new HostClient(new WsBridge({ url: hostSocketUrl(window.location), WebSocket }));
}

/**
 * Whether the headless host served this page over HTTP, so files can travel as uploads and
 * downloads; the desktop app loads it from disk and uses the system's file dialogs instead.
 */
export const servedOverHttp = typeof location !== 'undefined' && location.protocol.startsWith('http');

/** `/ws` on the page's own host; the token rides in the page's cookie, never in this URL. */
export function hostSocketUrl(location: { readonly protocol: string; readonly host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}
