import type { WebSocketMessageEvent } from '../../../app/proxy-events.js';
import { textTest, type RowQuery } from '../live-table/row-filter.js';
import { closeText, hexPreview } from './message-format.js';

/**
 * The messages table's filter: text in a message as the view shows it (a binary payload by the
 * hex in its row or the base64 its detail and copy give), and optionally one direction.
 */

/** The query's `choice`: one direction, or '' for both. */
export type DirectionChoice = '' | WebSocketMessageEvent['direction'];

export const DIRECTION_CHOICES: readonly { readonly value: DirectionChoice; readonly label: string }[] = [
  { value: '', label: 'Both directions' },
  { value: 'request', label: '↑ Sent by the client' },
  { value: 'response', label: '↓ From the server' },
];

/** The test for `query` on one message. */
export function messageTest(query: RowQuery): (message: WebSocketMessageEvent) => boolean {
  const hasText = textTest(query.text);
  const { choice } = query;
  return (message) =>
    (choice === '' || message.direction === choice) && (query.text === '' || searchedTexts(message).some(hasText));
}

/** The texts of a message the filter looks in. */
export function searchedTexts(message: WebSocketMessageEvent): readonly string[] {
  if (message.opcode === 8) return [closeText(message)];
  if (message.compressed) return [message.data];
  if (message.binary) return [hexPreview(message.data), message.data];
  return [message.data];
}
