/**
 * The one contract between the host (main/) and any renderer, whatever carries it: Electron IPC
 * or the headless host's WebSocket. Two verbs only: `call` a command (one request, one typed
 * reply) and `listen` to batches of events. Pure types and constants.
 */
import type { StreamRule } from './stream-rules.js';
import type { MockPlayback, MocksState } from './mocks.js';
import type { EventsDroppedEvent, ExchangeHeldEvent } from './host-events.js';
import type { Direction, ProxyEvent } from './proxy-events.js';

/**
 * Electron IPC channel names, in one place. The window asks the main process for its connection
 * on `connect`; main answers on the same channel with a MessagePort to the host's utility process
 * (or, without a port, a `HostStopped` notice). Calls and batches then travel over that port in the
 * envelope below (`CallMessage`, `BatchAck` in; `HostMessage` out), as they do over the headless
 * host's WebSocket.
 */
export const CHANNELS = {
  connect: 'sluice:connect',
  /** Window → main (invoke): show an open or save dialog for a `FileChoice`; answers a path or null. */
  chooseFile: 'sluice:choose-file',
  /** Main → window: the user picked an app menu item that the page carries out (a `MenuAction`). */
  menu: 'sluice:menu',
} as const;

/** App menu items the page carries out, because they open its dialogs. */
export type MenuAction = 'har-import' | 'har-export' | 'ca-help' | 'capture-clear';

export const MENU_ACTIONS: readonly MenuAction[] = ['har-import', 'har-export', 'ca-help', 'capture-clear'];

/** What a file dialog is for; main picks the title, the filters and the buttons. */
export interface FileChoice {
  readonly purpose: 'har-open' | 'har-save';
  /** For a save dialog: the file name to offer. */
  readonly suggestedName?: string;
}

/** Main → window on `CHANNELS.connect` with no port: the host process went away (it is restarted). */
export interface HostStopped {
  readonly kind: 'host-stopped';
  readonly detail: string;
}

export type ProxyState = 'stopped' | 'running' | 'error';

export interface ProxyStatus {
  readonly state: ProxyState;
  /** Where the proxy listens (or would listen when started). */
  readonly host: string;
  readonly port: number;
  readonly captureEnabled: boolean;
  /** Whether this capture is kept on disk for the next start (the `keepCapture` setting). */
  readonly captureKept: boolean;
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
  /** Keep the capture on disk when Sluice stops, and show it again at the next start. */
  readonly keepCapture: boolean;
  readonly passThroughHosts: readonly string[];
  readonly insecureUpstream: boolean;
  readonly timeouts: TimeoutSettings;
  /** Stream rules (app/stream-rules.ts), in order. */
  readonly rules: readonly StreamRule[];
}

export interface BodyRange {
  readonly id: number;
  readonly direction: Direction;
  readonly start: number;
  /** The bytes, base64-encoded so the reply survives any transport. */
  readonly base64: string;
  /** Bytes captured so far for this body, as forwarded (still content-encoded). */
  readonly captured: number;
  /** Why capture stopped early, when it did. */
  readonly limited?: string;
  /**
   * Present when the read asked for `decoded` bytes of a body with a Content-Encoding the host
   * can undo (gzip, deflate, br): `start`/`base64` then refer to the decoded bytes.
   */
  readonly decoded?: DecodedInfo;
}

export interface DecodedInfo {
  /** The Content-Encoding that was undone, e.g. `gzip`. */
  readonly encoding: string;
  /** Decoded size of everything captured so far. */
  readonly decodedSize: number;
  /** Why decoding stopped early (corrupt data); the bytes before that point are still given. */
  readonly error?: string;
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

export type SystemProxyMode = 'manual' | 'pac';

/**
 * The machine-wide proxy switch. `on`: the system's proxy settings point at Sluice (`targets` says
 * which settings were changed); `off`: they are the user's own; `error`: the last switch failed
 * (or the settings could not be restored), and `message` says what happened.
 */
export interface SystemProxyStatus {
  readonly state: 'off' | 'on' | 'error';
  /** Whether this machine has proxy settings Sluice can change; `message` says why not. */
  readonly supported: boolean;
  /** Which settings Sluice changes here, e.g. `GNOME`, `KDE`, `macOS`, `Windows`. */
  readonly targets: readonly string[];
  readonly mode: SystemProxyMode;
  /** When on: the proxy address the system points at (`host:port`). */
  readonly address?: string;
  /** When on in PAC mode: the script URL the system uses. */
  readonly pacUrl?: string;
  /** Why it is unsupported, off against the user's wish (another Sluice has it on), or in error. */
  readonly message?: string;
}

/** Every command with its request and reply. */
/** A schema Sluice decodes RPC messages with: files the user gave, or what a server's reflection sent. */
export interface SchemaSource {
  readonly id: number;
  readonly kind: 'proto-files' | 'descriptor-set' | 'reflection';
  /** The file names given, or the server asked (and the reflection version that answered). */
  readonly label: string;
  /** The services it defines, by full name. */
  readonly services: readonly string[];
  /** How many .proto files it holds, imports included. */
  readonly files: number;
}

/** Every schema the host holds, as one FileDescriptorSet: see docs/adr/0004-protobuf-schemas.md. */
export interface SchemaList {
  /** Bumped on each change; a `schemas-changed` event carries it. */
  readonly revision: number;
  readonly sources: readonly SchemaSource[];
  /** All sources' files as one serialized FileDescriptorSet, base64; '' when there are none. */
  readonly descriptorSet: string;
}

/** A file chosen in the UI: a .proto file or a descriptor set (protoc's --descriptor_set_out). */
export interface SchemaFile {
  readonly name: string;
  /** The file's bytes, base64. */
  readonly data: string;
}

/** The stream rules in effect, and what each has matched. */
export interface RulesState {
  /** Bumped on each change; a `rules-changed` event carries the new state. */
  readonly revision: number;
  readonly rules: readonly StreamRule[];
  /** Exchanges each rule (same index) matched since the rules were last set. */
  readonly matched: readonly number[];
  /** Set while the rules are the `--rules` file's (this run only); saving rules from the UI ends that. */
  readonly file?: string;
}

export interface Commands {
  'proxy.status': { request: Record<string, never>; reply: ProxyStatus };
  'proxy.start': { request: Record<string, never>; reply: ProxyStatus };
  'proxy.stop': { request: Record<string, never>; reply: ProxyStatus };
  'proxy.setPort': { request: { port: number }; reply: ProxyStatus };
  'capture.setEnabled': { request: { enabled: boolean }; reply: ProxyStatus };
  /** Whether the capture is kept for the next start; applies to what was captured already too. */
  'capture.setKept': { request: { kept: boolean }; reply: ProxyStatus };
  'capture.clear': { request: Record<string, never>; reply: { cleared: true } };
  'body.read': {
    /** `start`/`end` (exclusive) in bytes; with `decoded`, in decoded bytes. */
    request: { id: number; direction: Direction; start?: number; end?: number; decoded?: boolean };
    reply: BodyRange | null;
  };
  /**
   * The exchanges, newest first, whose request or response body holds `text` (case-insensitively,
   * Content-Encoding undone). Bounded in time and bytes per body: `complete` says whether every
   * kept body was looked at.
   */
  'bodies.search': { request: { text: string }; reply: BodySearchReply };
  /**
   * Forgets these exchanges and their bodies (an imported file the user is done with, say); every
   * window hears `exchanges-removed`. Exchanges still open are forgotten too: their traffic goes on.
   */
  'exchanges.remove': { request: { ids: number[] }; reply: { removed: number } };
  /**
   * One kept exchange's events in order (chunks thinned to 500 a body, byte ranges exact): what
   * a window's replay held back (`exchange-held`). Empty when the exchange is not kept.
   */
  'exchange.events': { request: { id: number }; reply: { events: HostEvent[] } };
  'ca.get': { request: Record<string, never>; reply: CaInfo };
  'settings.get': { request: Record<string, never>; reply: Settings };
  'systemProxy.status': { request: Record<string, never>; reply: SystemProxyStatus };
  /**
   * Points the machine's proxy settings at Sluice (starting the proxy when it is stopped) or puts
   * back the user's own. Never rejects for a refusal the user can act on: the reply's `state` and
   * `message` say what happened.
   */
  'systemProxy.set': { request: { enabled: boolean; mode?: SystemProxyMode }; reply: SystemProxyStatus };
  /**
   * Imports a HAR file the host can read (a local path) as ordinary exchanges; progress comes as
   * `har-import-progress` events. Rejects with words saying what is wrong and where.
   */
  'har.import': { request: { path: string }; reply: HarImportReply };
  'schemas.get': { request: Record<string, never>; reply: SchemaList };
  /** Adds the chosen files as one source: the .proto files together (they may import each other), or descriptor sets. */
  'schemas.add': { request: { files: SchemaFile[] }; reply: SchemaList };
  /** Asks the server of exchange `id` (a gRPC call) for its schema by server reflection. */
  'schemas.reflect': { request: { id: number }; reply: SchemaList };
  'schemas.remove': { request: { sourceId: number }; reply: SchemaList };
  'rules.get': { request: Record<string, never>; reply: RulesState };
  /**
   * Replaces the stream rules, in order, and saves them in the settings; exchanges under way keep
   * theirs. Rejects (`bad-request`) naming the first field that is wrong, and changes nothing then.
   */
  'rules.set': { request: { rules: unknown }; reply: RulesState };
  /**
   * The user's decision on a stream a breakpoint holds (`breakpoint-held`): let the event go (as
   * `text` when given: the event edited), drop it, or let it and the rest of the stream go.
   * `resolved` is false when nothing is held there any more (decided in another window, or ended).
   */
  'breakpoint.resolve': {
    request: { breakpoint: number; outcome: 'released' | 'dropped' | 'released-all'; text?: string };
    reply: { resolved: boolean };
  };
  /**
   * Writes the capture (or the `ids` given) as HAR to a local `.har` path the user chose in a
   * save dialog: the desktop app's export. Browsers download `/har` from the headless host instead.
   */
  'har.export': {
    request: { path: string; ids?: number[]; redact?: boolean; redactHeaders?: string[] };
    reply: { path: string; entries: number };
  };
  /**
   * Sends a kept request again to its upstream (through the proxy, so it is recorded as a new
   * exchange whose `resentFrom` names this one): as captured, or with `head` (the request head as
   * text, `METHOD URL HTTP/x` then fields, the origin unchanged) and `body` (text) as edited.
   * Replies with the new exchange's id once it has opened; rejects saying why it cannot go.
   */
  'exchange.resend': { request: { id: number; head?: string; body?: string }; reply: { id: number } };
  /**
   * Stops an exchange under way (a stream that never ends, a resend of one): both sides are cut
   * and it ends as `client-closed`, reason `stopped`. `stopped` is false when it was not open.
   */
  'exchange.stop': { request: { id: number }; reply: { stopped: boolean } };
  'mocks.get': { request: Record<string, never>; reply: MocksState };
  /**
   * Serves these kept exchanges (captured or imported) as mocks: a request with the same method
   * and URL is answered with the recorded response at its recorded pace, the upstream never
   * asked. Rejects (`bad-request`) saying why an exchange cannot be one (still open, a
   * WebSocket, no response), and adds none then.
   */
  'mocks.add': { request: { ids: number[] }; reply: MocksState };
  'mocks.remove': { request: { mockIds: number[] }; reply: MocksState };
  /** How every mock plays from now on: speed factor (0: as fast as possible) and jitter in ms. */
  'mocks.setPlayback': { request: MockPlayback; reply: MocksState };
}

/**
 * Imported exchanges are numbered from here. The proxy numbers its exchanges 1, 2, 3, ... per
 * run; it would need 2^40 (about 10^12) of them to get here, which at 100,000 a second takes
 * four months. Below 2^53, so every id stays an exact number in JSON and JavaScript.
 */
export const IMPORTED_ID_BASE = 2 ** 40;

/**
 * Most exchanges a window keeps (past it, its oldest finished ones go). A window that opens on a
 * longer capture is sent the newest this many, and told so: the rest stay in the capture (export
 * writes them), but sending what the window would drop again only delays the rows it shows.
 */
export const WINDOW_MAX_EXCHANGES = 200_000;

/** How an exchange's id reads to a person: imported ones as i1, i2, ... */
export function displayId(id: number): string {
  return id >= IMPORTED_ID_BASE ? `i${id - IMPORTED_ID_BASE + 1}` : String(id);
}

export interface BodySearchReply {
  readonly ids: readonly number[];
  /** Exchanges whose bodies were looked through. */
  readonly searched: number;
  /** False when the search stopped at its time or match budget before the oldest exchange. */
  readonly complete: boolean;
}

export interface HarImportReply {
  /** The id in this import's `har-import-progress` events. */
  readonly importId: number;
  /** Entries imported as exchanges. */
  readonly entries: number;
  /** Entries that could not be imported; a `host-notice` names each with its index and why. */
  readonly skipped: number;
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
  'capture.setKept',
  'capture.clear',
  'body.read',
  'bodies.search',
  'exchanges.remove',
  'exchange.events',
  'ca.get',
  'settings.get',
  'systemProxy.status',
  'systemProxy.set',
  'har.import',
  'har.export',
  'schemas.get',
  'schemas.add',
  'schemas.reflect',
  'schemas.remove',
  'rules.get',
  'rules.set',
  'breakpoint.resolve',
  'exchange.resend',
  'exchange.stop',
  'mocks.get',
  'mocks.add',
  'mocks.remove',
  'mocks.setPlayback',
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

/** The system proxy switch changed (on, off, failed), from any window, the tray or the CLI. */
export interface SystemProxyStatusEvent {
  readonly type: 'system-proxy-status';
  readonly t: number;
  readonly status: SystemProxyStatus;
}

/** Something the user should know that is not an exchange: a corrupt settings file replaced, ... */
export interface HostNoticeEvent {
  readonly type: 'host-notice';
  readonly t: number;
  readonly level: 'info' | 'warning' | 'error';
  readonly message: string;
}

/** The capture was cleared, from any window or tab: every view empties. */
export interface CaptureClearedEvent {
  readonly type: 'capture-cleared';
  readonly t: number;
}

/** How far a HAR import has got; sent live only (a window that opens later sees the exchanges). */
export interface HarImportProgressEvent {
  readonly type: 'har-import-progress';
  readonly t: number;
  readonly importId: number;
  readonly bytesRead: number;
  /** The file's size when known. */
  readonly totalBytes?: number;
  /** Entries imported so far. */
  readonly entries: number;
  readonly done: boolean;
  /** Why the import stopped, when it failed; entries imported before the problem stay. */
  readonly error?: string;
}

/** The schemas changed (added, asked of a server, removed); `schemas.get` gives them. */
export interface SchemasChangedEvent {
  readonly type: 'schemas-changed';
  readonly t: number;
  readonly revision: number;
}

/** The stream rules changed (from any window, or a file at start). */
export interface RulesChangedEvent {
  readonly type: 'rules-changed';
  readonly t: number;
  readonly state: RulesState;
}

/** The mocks or their playback changed (from any window, or `--mock` at start). */
export interface MocksChangedEvent {
  readonly type: 'mocks-changed';
  readonly t: number;
  readonly state: MocksState;
}

/** Exchanges the user removed (`exchanges.remove`), from any window. */
export interface ExchangesRemovedEvent {
  readonly type: 'exchanges-removed';
  readonly t: number;
  readonly ids: readonly number[];
}

export type HostEvent =
  | ProxyEvent
  | EventsDroppedEvent
  | ExchangeHeldEvent
  | ProxyStatusEvent
  | SystemProxyStatusEvent
  | HostNoticeEvent
  | CaptureClearedEvent
  | ExchangesRemovedEvent
  | SchemasChangedEvent
  | RulesChangedEvent
  | MocksChangedEvent
  | HarImportProgressEvent;

/**
 * What a renderer receives: events in order, at most one batch per frame. A feed starts with
 * `seq` 0 (sent at once, even when empty) and the host's log of what happened before the consumer
 * connected, then live events. A batch with `seq` 0 therefore means "start from scratch": after a
 * reconnect or a reload the consumer drops what it knew and rebuilds from the replay.
 */
export interface EventBatch {
  /** 0 for the first batch of a feed, then increments by one per batch sent to this consumer. */
  readonly seq: number;
  readonly events: readonly HostEvent[];
}

/** Renderer → host over a message transport (the headless host's WebSocket, a window's port). */
export interface CallMessage<C extends CommandName = CommandName> {
  readonly kind: 'call';
  /** Chosen by the caller; echoed in the answer. */
  readonly id: number;
  readonly command: C;
  readonly request: CommandRequest<C>;
}

/**
 * Renderer → host over a port: the batch `seq` was handed to the page's listeners. A port has no
 * `bufferedAmount` to tell a busy page from an idle one, so receipts are its flow control (the
 * WebSocket needs none).
 */
export interface BatchAck {
  readonly kind: 'ack';
  readonly seq: number;
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

/** What a transport's call resolves to; errors travel as data because IPC and contextBridge strip Error fields. */
export type CallOutcome =
  { readonly kind: 'reply'; readonly reply: unknown } | { readonly kind: 'error'; readonly error: CallFailure };

/**
 * The one small API a renderer gets from its transport. The Electron preload exposes exactly this
 * as `window[BRIDGE_KEY]` through contextBridge; in a browser the renderer builds the same object
 * over the headless host's WebSocket. `listen` returns a function that stops listening.
 */
export interface BridgeApi {
  call(command: CommandName, request: unknown): Promise<CallOutcome>;
  listen(onBatch: (batch: EventBatch) => void): () => void;
  /** The desktop app's file dialogs; a browser has none (it uploads and downloads instead). */
  chooseFile?(choice: FileChoice): Promise<string | null>;
  /** The desktop app's menu items meant for the page; returns the function that stops listening. */
  onMenu?(listener: (action: MenuAction) => void): () => void;
}

export const BRIDGE_KEY = 'sluice';
