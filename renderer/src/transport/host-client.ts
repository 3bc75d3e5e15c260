import type {
  BridgeApi,
  CallFailure,
  CommandName,
  CommandReply,
  CommandRequest,
  EventBatch,
  FileChoice,
  MenuAction,
} from '../../../app/contract.js';
import type { ConnectionAware, ConnectionListener } from '../../../app/transport/connection.js';

/** A command the host refused or could not run; `code` says which kind of failure. */
export class CallError extends Error {
  readonly code: CallFailure['code'];

  constructor(
    failure: CallFailure,
    readonly command: CommandName,
  ) {
    super(failure.message);
    this.name = 'CallError';
    this.code = failure.code;
  }
}

/** Any bridge: the preload's, the WebSocket one, or a test double; those that know their connection say so. */
export type ClientBridge = BridgeApi & Partial<ConnectionAware>;

/**
 * What the UI talks to: the contract's two verbs with their types, over whichever bridge the page
 * got. Errors travel as data across bridges (contextBridge strips an Error's fields); here they
 * become `CallError`s again.
 */
export class HostClient {
  constructor(private readonly bridge: ClientBridge) {}

  async call<C extends CommandName>(command: C, request: CommandRequest<C>): Promise<CommandReply<C>> {
    const outcome = await this.bridge.call(command, request);
    if (outcome.kind === 'error') throw new CallError(outcome.error, command);
    return outcome.reply as CommandReply<C>;
  }

  /** Batches in order; one with seq 0 starts a new feed (see `EventBatch`). Returns the function that stops listening. */
  listen(onBatch: (batch: EventBatch) => void): () => void {
    return this.bridge.listen(onBatch);
  }

  /** Whether this page can show file dialogs (the desktop app); a browser uploads and downloads instead. */
  get canChooseFiles(): boolean {
    return typeof this.bridge.chooseFile === 'function';
  }

  /** The path the user picked in the app's open or save dialog, or null when cancelled. */
  async chooseFile(choice: FileChoice): Promise<string | null> {
    if (typeof this.bridge.chooseFile !== 'function') throw new Error('this window has no file dialogs');
    return this.bridge.chooseFile(choice);
  }

  /** The app menu's items meant for the page (desktop app only); returns the function that stops listening. */
  onMenu(listener: (action: MenuAction) => void): () => void {
    return typeof this.bridge.onMenu === 'function' ? this.bridge.onMenu(listener) : () => undefined;
  }

  /** Hears the current state at once, then each change. A bridge that cannot tell is taken as always open. */
  onConnection(listener: ConnectionListener): () => void {
    if (typeof this.bridge.onConnection === 'function') return this.bridge.onConnection(listener);
    listener('open');
    return () => undefined;
  }
}
