/**
 * The one contract between the host (main/) and any renderer, whatever carries it: Electron IPC
 * or the headless host's WebSocket. Two verbs only: `call` a command (one request, one typed
 * reply) and `listen` to batches of events. Pure types and constants.
 */
import type { EventsDroppedEvent } from './host-events.js';
import type { Direction, ProxyEvent } from './proxy-events.js';

/** Channel names, in one place for every transport. */
export const CHANNELS = {
  /** Renderer → host: `{ id, command, request }`; host → renderer: `{ id, reply }` or `{ id, error }`. */
  command: 'sluice:command',
  /** Host → renderer: `EventBatch`. */
  events: 'sluice:events',
} as const;

export type ProxyState = 'stopped' | 'running' | 'error';

export interface ProxyStatus {
  readonly state: ProxyState;
  /** Where the proxy listens (or would listen when started). */
  readonly host: string;
  readonly port: number;
  readonly captureEnabled: boolean;
  /** Why the proxy is in `error` (e.g. the port is in use). */
  readonly error?: string;
  /** The system's code for that error, e.g. `EADDRINUSE`, for callers that act on it. */
  readonly errorCode?: string;
}

export interface TimeoutSettings {
  readonly requestHeaderMs: number;
  readonly idleMs: number;
  readonly keepAliveIdleMs: number;
  readonly upstreamConnectMs: number;
  readonly responseHeaderMs: number;
}

/** What the user can set; persisted in the data dir as settings.json. */
export interface Settings {
  readonly version: 1;
  readonly proxyHost: string;
  readonly proxyPort: number;
  readonly captureEnabled: boolean;
  readonly passThroughHosts: readonly string[];
  readonly insecureUpstream: boolean;
  readonly timeouts: TimeoutSettings;
}

export interface BodyRange {
  readonly id: number;
  readonly direction: Direction;
  readonly start: number;
  /** The bytes, base64-encoded so the reply survives any transport. */
  readonly base64: string;
  /** Bytes captured so far for this body. */
  readonly captured: number;
  /** Why capture stopped early, when it did. */
  readonly limited?: string;
}

export interface TrustInstructions {
  readonly platform: 'linux' | 'darwin' | 'win32' | 'firefox';
  readonly title: string;
  readonly steps: readonly string[];
}

export interface CaInfo {
  readonly path: string;
  readonly certPem: string;
  readonly trust: readonly TrustInstructions[];
}

/** Every command with its request and reply. */
export interface Commands {
  'proxy.status': { request: Record<string, never>; reply: ProxyStatus };
  'proxy.start': { request: Record<string, never>; reply: ProxyStatus };
  'proxy.stop': { request: Record<string, never>; reply: ProxyStatus };
  'proxy.setPort': { request: { port: number }; reply: ProxyStatus };
  'capture.setEnabled': { request: { enabled: boolean }; reply: ProxyStatus };
  'capture.clear': { request: Record<string, never>; reply: { cleared: true } };
  'body.read': {
    request: { id: number; direction: Direction; start?: number; end?: number };
    reply: BodyRange | null;
  };
  'ca.get': { request: Record<string, never>; reply: CaInfo };
  'settings.get': { request: Record<string, never>; reply: Settings };
}

export type CommandName = keyof Commands;
export type CommandRequest<C extends CommandName> = Commands[C]['request'];
export type CommandReply<C extends CommandName> = Commands[C]['reply'];

export const COMMAND_NAMES: readonly CommandName[] = [
  'proxy.status',
  'proxy.start',
  'proxy.stop',
  'proxy.setPort',
  'capture.setEnabled',
  'capture.clear',
  'body.read',
  'ca.get',
  'settings.get',
];

export function isCommandName(value: unknown): value is CommandName {
  return typeof value === 'string' && (COMMAND_NAMES as readonly string[]).includes(value);
}

/** The proxy's state changed (started, stopped, port moved, failed). */
export interface ProxyStatusEvent {
  readonly type: 'proxy-status';
  readonly t: number;
  readonly status: ProxyStatus;
}

/** Something the user should know that is not an exchange: a corrupt settings file replaced, ... */
export interface HostNoticeEvent {
  readonly type: 'host-notice';
  readonly t: number;
  readonly level: 'info' | 'warning' | 'error';
  readonly message: string;
}

export type HostEvent = ProxyEvent | EventsDroppedEvent | ProxyStatusEvent | HostNoticeEvent;

/** What a renderer receives: events in order, at most one batch per frame. */
export interface EventBatch {
  /** Increments by one per batch sent to this consumer. */
  readonly seq: number;
  readonly events: readonly HostEvent[];
}

/** Renderer → host over a message transport (the headless host's WebSocket). */
export interface CallMessage<C extends CommandName = CommandName> {
  readonly kind: 'call';
  /** Chosen by the caller; echoed in the answer. */
  readonly id: number;
  readonly command: C;
  readonly request: CommandRequest<C>;
}

export interface CallFailure {
  readonly code: 'unknown-command' | 'bad-request' | 'bad-message' | 'failed';
  readonly message: string;
}

/** Host → renderer over a message transport. */
export type HostMessage =
  | { readonly kind: 'reply'; readonly id: number; readonly reply: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly error: CallFailure }
  | { readonly kind: 'batch'; readonly batch: EventBatch };
