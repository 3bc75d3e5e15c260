import type { HostMessage } from '../contract.js';
import type { BatchFanout } from './batch-fanout.js';
import type { PendingCalls } from './pending-calls.js';

/**
 * What both bridges do with a message from the host: a batch goes to the page's listeners, a reply
 * or an error to the call it answers. The bridges differ only in how the envelope travels (JSON
 * text over the WebSocket, structured clones over a port), so this is their one receiver.
 */
export function receiveHostMessage(value: unknown, calls: PendingCalls, fanout: BatchFanout): void {
  const message = readHostMessage(value);
  if (!message) return console.warn('sluice: ignored a message from the host that is not part of the contract');
  if (message.kind === 'batch') return fanout.deliver(message.batch);
  // An error that answers no waiting call is the host refusing something; a stray reply is harmless.
  if (!calls.answer(message) && message.kind === 'error') {
    console.warn(`sluice: the host refused a message: ${message.error.message}`);
  }
}

/** A HostMessage, or undefined for anything else a transport delivers. */
export function readHostMessage(value: unknown): HostMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Partial<Record<string, unknown>>;
  if (message['kind'] === 'batch') return isBatch(message['batch']) ? (value as HostMessage) : undefined;
  if (message['kind'] !== 'reply' && message['kind'] !== 'error') return undefined;
  return typeof message['id'] === 'number' ? (value as HostMessage) : undefined;
}

function isBatch(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const batch = value as Partial<Record<string, unknown>>;
  return typeof batch['seq'] === 'number' && Array.isArray(batch['events']);
}
