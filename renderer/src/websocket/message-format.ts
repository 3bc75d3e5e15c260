import type { WebSocketMessageEvent } from '../../../app/proxy-events.js';
import { formatBytes } from '../format.js';
import { hexPreview, type MessageCounts } from '../messages/message-common.js';

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
