import type { CallMessage, CallOutcome, CommandName, HostMessage } from '../contract.js';

type Answer = Extract<HostMessage, { kind: 'reply' | 'error' }>;

/**
 * Calls sent (or waiting to be sent) and not yet answered, by id. A transport that loses its
 * connection fails them all at once: their answers can never come, and a caller that waits
 * forever is worse than one told why.
 */
export class PendingCalls {
  private nextId = 1;
  private readonly waiting = new Map<number, { command: CommandName; settle: (outcome: CallOutcome) => void }>();

  get size(): number {
    return this.waiting.size;
  }

  /** A new call's message and the promise its answer (or its failure) settles. */
  open(command: CommandName, request: unknown): { message: CallMessage; outcome: Promise<CallOutcome> } {
    const id = this.nextId++;
    const outcome = new Promise<CallOutcome>((settle) => this.waiting.set(id, { command, settle }));
    return { message: { kind: 'call', id, command, request: request as CallMessage['request'] }, outcome };
  }

  /** Settles the call an answer is for; false when no call is waiting under its id. */
  answer(message: Answer): boolean {
    const call = this.waiting.get(message.id);
    if (!call) return false;
    this.waiting.delete(message.id);
    call.settle(message.kind === 'reply' ? { kind: 'reply', reply: message.reply } : message);
    return true;
  }

  /** Fails every waiting call with `why(command)`, e.g. "the connection closed before proxy.start was answered". */
  failAll(why: (command: CommandName) => string): void {
    const calls = [...this.waiting.values()];
    this.waiting.clear();
    for (const call of calls) call.settle({ kind: 'error', error: { code: 'failed', message: why(call.command) } });
  }
}
