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

/** `/ws` on the page's own host; the token rides in the page's cookie, never in this URL. */
export function hostSocketUrl(location: { readonly protocol: string; readonly host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}
