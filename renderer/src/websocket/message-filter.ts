import type { WebSocketMessageEvent } from '../../../app/proxy-events.js';
import { textTest, type RowQuery } from '../live-table/row-filter.js';
import { directionPasses, hexPreview } from '../messages/message-common.js';
import { closeText } from './message-format.js';

/**
 * The messages table's filter: text in a message as the view shows it (a binary payload by the
 * hex in its row or the base64 its detail and copy give), and optionally one direction.
 */

/** The test for `query` on one message. */
export function messageTest(query: RowQuery): (message: WebSocketMessageEvent) => boolean {
  const hasText = textTest(query.text);
  const { choice } = query;
  return (message) =>
    directionPasses(choice, message.direction) && (query.text === '' || searchedTexts(message).some(hasText));
}

/** The texts of a message the filter looks in. */
export function searchedTexts(message: WebSocketMessageEvent): readonly string[] {
  if (message.opcode === 8) return [closeText(message)];
  if (message.compressed) return [message.data];
  if (message.binary) return [hexPreview(message.data), message.data];
  return [message.data];
}
