import { hostPortText, LOOPBACK_BYPASS, type HostPort } from './types.js';

/** Where the proxy serves its PAC script (a request to the proxy itself, not through it). */
export const PAC_PATH = '/sluice.pac';

export function pacUrlFor(proxy: HostPort): string {
  return `http://${hostPortText(proxy)}${PAC_PATH}`;
}

/**
 * The PAC-mode script. `PROXY …; DIRECT` is the point of PAC mode: when Sluice is not answering
 * (quit, crashed, port moved) clients fall back to going direct instead of losing the network, and
 * when the script itself cannot be fetched they go direct too.
 */
export function pacScript(proxy: HostPort, bypass: readonly string[] = []): string {
  const direct = [...new Set([...LOOPBACK_BYPASS, ...bypass])];
  const patterns = direct.map((h) => JSON.stringify(h.toLowerCase())).join(', ');
  return `// Sluice system proxy (PAC mode). Goes direct when Sluice is not answering.
function FindProxyForURL(url, host) {
  var h = host.toLowerCase();
  if (h.charAt(0) === '[') h = h.slice(1, -1);
  if (isPlainHostName(h) || shExpMatch(h, "127.*")) return "DIRECT";
  var direct = [${patterns}];
  for (var i = 0; i < direct.length; i++) {
    if (h === direct[i] || shExpMatch(h, direct[i]) || shExpMatch(h, "*." + direct[i])) return "DIRECT";
  }
  return ${JSON.stringify(`PROXY ${hostPortText(proxy)}; DIRECT`)};
}
`;
}
