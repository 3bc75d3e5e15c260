import type { RpcMessageEvent } from '../../../app/proxy-events.js';
import { textTest, type RowQuery } from '../live-table/row-filter.js';
import { directionPasses } from '../messages/message-common.js';
import type { CallSchema } from '../store/schemas.js';
import { searchedText } from './rpc-format.js';

/**
 * The RPC messages table's filter: text in a frame as its row shows it (a protobuf message by its
 * JSON, named by the call's schema or by field number; bytes by their hex or base64), and
 * optionally one direction.
 */
export function rpcMessageTest(query: RowQuery, call?: CallSchema): (message: RpcMessageEvent) => boolean {
  const hasText = textTest(query.text);
  const { choice, text } = query;
  return (message) =>
    directionPasses(choice, message.direction) && (text === '' || hasText(searchedText(message, call)));
}
