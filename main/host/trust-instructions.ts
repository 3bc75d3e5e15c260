import { systemTrust, wayText } from '../../app/ca-trust.js';
import type { TrustInstructions } from '../../app/contract.js';

/**
 * How to trust Sluice's CA, per system and in Firefox, as the contract's plain text: one line per
 * way (they are alternatives), from the same guide the renderer's dialog shows with copy buttons.
 */
export function trustInstructions(caPath: string): TrustInstructions[] {
  return systemTrust(caPath).map((system) => ({
    platform: system.os,
    title: system.title,
    steps: system.ways.map(wayText),
  }));
}
