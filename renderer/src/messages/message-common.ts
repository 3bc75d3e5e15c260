import type { Direction } from '../../../app/proxy-events.js';
import { bytesFromBase64 } from '../base64.js';
import { formatBytes, formatCount } from '../format.js';
import { plural } from '../sse/sse-format.js';

/**
 * What the messages views (WebSocket, gRPC and Connect) share: directions, counts, and a binary
 * payload's first bytes. Pure, so it is tested without a DOM.
 */

/** ↑ for what the client sent, ↓ for what it received. */
export function directionArrow(direction: Direction): string {
  return direction === 'request' ? '↑' : '↓';
}

/** A messages table's direction choice (the `choice` of its `RowQuery`): one direction, or '' for both. */
export type DirectionChoice = '' | Direction;

export const DIRECTION_CHOICES: readonly { readonly value: DirectionChoice; readonly label: string }[] = [
  { value: '', label: 'Both directions' },
  { value: 'request', label: '↑ Sent by the client' },
  { value: 'response', label: '↓ From the server' },
];

/** Whether a message going `direction` passes the direction `choice`. */
export function directionPasses(choice: string, direction: Direction): boolean {
  return choice === '' || choice === direction;
}

export interface MessageCounts {
  readonly sent: number;
  readonly received: number;
  readonly sentBytes: number;
  readonly receivedBytes: number;
}

/**
 * "2 sent (10 B) · 3 received (1.2 KiB)", and how many older ones were dropped; while the table's
 * filter is on, first how many of the messages it lets through (`shown`): "1 of 5 messages".
 */
export function describeCounts(counts: MessageCounts, dropped: number, shown?: number): string {
  const sent = `${formatCount(counts.sent)} sent (${formatBytes(counts.sentBytes)})`;
  const received = `${formatCount(counts.received)} received (${formatBytes(counts.receivedBytes)})`;
  const filtered =
    shown === undefined ? '' : `${formatCount(shown)} of ${plural(counts.sent + counts.received, 'message')} · `;
  return `${filtered}${sent} · ${received}${dropped > 0 ? ` · ${formatCount(dropped)} older not shown` : ''}`;
}

/** The first bytes of a base64 payload as hex: "de ad be ef …". Only the start is decoded. */
export function hexPreview(base64: string, bytes = 16): string {
  const head = Math.ceil((bytes + 1) / 3) * 4;
  const decoded = decodeBase64(base64.slice(0, head));
  const hex = [...decoded.slice(0, bytes)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return decoded.length > bytes || base64.length > head ? `${hex} …` : hex;
}

/** A damaged payload is no bytes rather than an error. */
export function decodeBase64(base64: string): Uint8Array {
  try {
    return bytesFromBase64(base64);
  } catch {
    return new Uint8Array();
  }
}
