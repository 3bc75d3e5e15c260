/** Whether a transport can carry calls and batches right now. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** `detail` says why, for people: "Sluice is shutting down", "retrying in 2 s". */
export type ConnectionListener = (state: ConnectionState, detail?: string) => void;

/** A bridge that can say whether it is connected; both of ours can, a test double need not. */
export interface ConnectionAware {
  onConnection(listener: ConnectionListener): () => void;
}

/** The current state and who wants to hear of changes; a new listener hears the current state at once. */
export class ConnectionStatus implements ConnectionAware {
  private current: ConnectionState = 'connecting';
  private detail: string | undefined;
  private readonly listeners = new Set<ConnectionListener>();

  get state(): ConnectionState {
    return this.current;
  }

  set(state: ConnectionState, detail?: string): void {
    if (state === this.current && detail === this.detail) return;
    this.current = state;
    this.detail = detail;
    for (const listener of [...this.listeners]) notify(listener, state, detail);
  }

  onConnection(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    notify(listener, this.current, this.detail);
    return () => this.listeners.delete(listener);
  }
}

function notify(listener: ConnectionListener, state: ConnectionState, detail: string | undefined): void {
  try {
    listener(state, detail);
  } catch (err) {
    // One broken view must not keep the others from hearing that the host went away.
    console.error('sluice: a connection listener threw', err);
  }
}
