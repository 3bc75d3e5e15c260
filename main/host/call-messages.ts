import type { CallFailure, CallMessage, HostMessage } from '../../app/contract.js';
import { CommandError } from './request-checks.js';
import type { SluiceHost } from './sluice-host.js';
import { errorMessage } from '../../app/error-message.js';

/**
 * Reading and answering the contract's `CallMessage`s, shared by every message transport (the
 * headless host's WebSocket, the Electron app's message ports), so each checks calls alike and
 * answers bad ones with the same `bad-message` error instead of dropping them.
 */
export type ErrorMessage = Extract<HostMessage, { kind: 'error' }>;

/** A CallMessage, or the bad-message answer to send back instead. */
export function readCall(value: unknown): CallMessage | ErrorMessage {
  if (typeof value !== 'object' || value === null) return badMessage(-1, 'message must be a JSON object');
  const { kind, id, command } = value as Record<string, unknown>;
  const replyId = typeof id === 'number' && Number.isFinite(id) ? id : -1;
  if (kind !== 'call' || replyId !== id || typeof command !== 'string') {
    return badMessage(replyId, 'expected {"kind":"call","id":<number>,"command":<string>,"request":{...}}');
  }
  return value as CallMessage;
}

/** `readCall` for transports that carry JSON text. */
export function readCallText(text: string): CallMessage | ErrorMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return badMessage(-1, 'message is not valid JSON');
  }
  return readCall(value);
}

/** What to send back for one received message: the command's reply, its error, or bad-message. */
export async function answerCall(host: SluiceHost, received: CallMessage | ErrorMessage): Promise<HostMessage> {
  if (received.kind !== 'call') return received;
  try {
    return { kind: 'reply', id: received.id, reply: await host.call(received.command, received.request) };
  } catch (err) {
    return { kind: 'error', id: received.id, error: failureOf(err) };
  }
}

export function badMessage(id: number, message: string): ErrorMessage {
  return { kind: 'error', id, error: { code: 'bad-message', message } };
}

function failureOf(err: unknown): CallFailure {
  if (err instanceof CommandError) return { code: err.code, message: err.message };
  return { code: 'failed', message: errorMessage(err) };
}
