import type { ExchangeView } from '../model/exchange.js';

/**
 * Says that the host stopped keeping this exchange's messages: a window opened later (or a HAR
 * export) has only the first ones, though this window may have seen them all arrive.
 */
export function MessagesNotKeptNote({ exchange }: { readonly exchange: ExchangeView }) {
  const note = exchange.messageCapNote;
  if (!note) return null;
  return (
    <p className="banner info" role="note" data-testid="messages-not-kept">
      Not every message is kept{note.detail ? `: ${note.detail}` : ''}. The stream itself was forwarded whole.
    </p>
  );
}
