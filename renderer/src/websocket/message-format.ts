import type { WebSocketMessageEvent } from '../../../app/proxy-events.js';
import { formatBytes, formatCount } from '../format.js';
import { bytesFromBase64 } from '../base64.js';
import { plural } from '../sse/sse-format.js';

/** The message types as the table names them. */
export type MessageKind = 'text' | 'binary' | 'close' | 'ping' | 'pong' | 'other';

export function messageKind(message: WebSocketMessageEvent): MessageKind {
  switch (message.opcode) {
    case 1:
      return 'text';
    case 2:
      return 'binary';
    case 8:
      return 'close';
    case 9:
      return 'ping';
    case 10:
      return 'pong';
    default:
      return 'other';
  }
}

/** ↑ for what the client sent, ↓ for what it received. */
export function directionArrow(message: WebSocketMessageEvent): string {
  return message.direction === 'request' ? '↑' : '↓';
}

/** What a close frame said: "1000 bye", "4001", or "" when it carried nothing. */
export function closeText(message: WebSocketMessageEvent): string {
  return [message.closeCode, message.data].filter((part) => part !== undefined && part !== '').join(' ');
}

/** Longest preview a one-line cell gets; the cell clips it anyway. */
const PREVIEW_CHARS = 200;

/** One line for the data column. */
export function messagePreview(message: WebSocketMessageEvent): string {
  if (message.opcode === 8) return closeText(message);
  if (message.compressed) return `compressed, ${formatBytes(message.size)} (could not be inflated)`;
  if (message.binary) return `${formatBytes(message.size)} binary: ${hexPreview(message.data)}`;
  const head = message.data.length > PREVIEW_CHARS ? `${message.data.slice(0, PREVIEW_CHARS)}…` : message.data;
  return head.replace(/\r?\n/g, ' ⏎ ');
}

/** The first bytes of a base64 payload as hex: "de ad be ef …". */
export function hexPreview(base64: string, bytes = 16): string {
  const decoded = decodeBase64(base64.slice(0, Math.ceil((bytes + 1) / 3) * 4));
  const hex = [...decoded.slice(0, bytes)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return decoded.length > bytes || base64.length > Math.ceil((bytes + 1) / 3) * 4 ? `${hex} …` : hex;
}

/** A preview of a damaged payload is empty rather than an error. */
function decodeBase64(base64: string): Uint8Array {
  try {
    return bytesFromBase64(base64);
  } catch {
    return new Uint8Array();
  }
}

export interface MessageCounts {
  readonly sent: number;
  readonly received: number;
  readonly sentBytes: number;
  readonly receivedBytes: number;
}

/** Counts both ways; O(messages), called once per revision. */
export function countMessages(messages: readonly WebSocketMessageEvent[]): MessageCounts {
  let sent = 0;
  let received = 0;
  let sentBytes = 0;
  let receivedBytes = 0;
  for (const m of messages) {
    if (m.direction === 'request') {
      sent++;
      sentBytes += m.size;
    } else {
      received++;
      receivedBytes += m.size;
    }
  }
  return { sent, received, sentBytes, receivedBytes };
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
