import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type {
  BodyRange,
  CaInfo,
  CommandName,
  CommandReply,
  CommandRequest,
  EventBatch,
  HarImportReply,
  HostEvent,
  HostNoticeEvent,
  ProxyStatus,
  Settings,
  SystemProxyMode,
  SystemProxyStatus,
} from '../../app/contract.js';
import { IMPORTED_ID_BASE, isCommandName, WINDOW_MAX_EXCHANGES } from '../../app/contract.js';
import type { Direction } from '../../app/proxy-events.js';
import { now } from '../../proxy-core/clock.js';
import { loadOrCreateCa, SluiceProxy, type CaptureOptions, type CertificateAuthority } from '../../proxy-core/index.js';
import type { CapturedBody } from '../har/har-entry.js';
import { writeHarFile } from '../har/har-file.js';
import { importHar, type EntryIssue } from '../har/har-import.js';
import { ImportedBodies } from '../har/imported-bodies.js';
import { writeHar, type HarExportOptions, type HarExportResult, type HarSource } from '../har/har-writer.js';
import { PAC_PATH, pacScript } from '../system-proxy/pac-script.js';
import { INSTANCE_PATH } from '../system-proxy/switch-record.js';
import { platformAdapters } from '../system-proxy/platform-adapters.js';
import { SystemProxySwitch, type SystemProxySwitchOptions } from '../system-proxy/system-proxy-switch.js';
import { reachableAddress, warnOnConsole, type SystemProxyAdapter } from '../system-proxy/types.js';
import { defaultDataDir } from '../data-dir.js';
import { SerialQueue } from '../serial-queue.js';
import { contentEncodingOf, undoEncoding } from './body-decoder.js';
import { searchBodies } from './body-search.js';
import { EventBatcher } from './event-batcher.js';
import { CaptureArchive } from './capture-archive.js';
import { closeRunStore, highestStoredIds, openRunStore, type OpenedRunStore, type RunStore } from './run-store.js';
import { SettingsStore } from './settings-store.js';
import { trustInstructions } from './trust-instructions.js';
import { errorMessage } from '../../app/error-message.js';

export type HostListener = (event: HostEvent) => void;

/** One window or tab receiving batches: how to hand it a batch, and whether it can take one now. */
export interface FeedConsumer {
  readonly send: (batch: EventBatch) => void;
  readonly ready?: () => boolean;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: 'unknown-command' | 'bad-request',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Settings given for this run only (command-line flags): they win over the file and are not saved. */
export type SettingsOverrides = Partial<
  Pick<Settings, 'proxyHost' | 'proxyPort' | 'insecureUpstream' | 'passThroughHosts'>
> & {
  readonly timeouts?: Partial<Settings['timeouts']>;
};

export interface HostOptions {
  readonly dataDir: string;
  /** Extra CA certificates (PEM) trusted for upstream servers, e.g. from --upstream-ca. */
  readonly upstreamCaPems?: readonly string[];
  readonly overrides?: SettingsOverrides;
  /** Body capture limits; the core's defaults when absent (tests use a small per-body cap). */
  readonly capture?: Partial<CaptureOptions>;
  /**
   * The system proxy adapters to use; this platform's when absent. Tests pass adapters bound to a
   * private session bus or fake tools, so they never touch the machine's own settings.
   */
  readonly systemProxyAdapters?: readonly SystemProxyAdapter<unknown>[];
}

/** Issues named one by one in an import's notice; past this only their number is given. */
const NOTICE_ISSUES = 20;

type Handlers = { [C in CommandName]: (request: CommandRequest<C>) => Promise<CommandReply<C>> };

/**
 * Owns the proxy core, the CA and the settings, and answers the contract's commands. It knows no
 * transport: Electron IPC and the headless host's WebSocket both go through `call()` and
 * `subscribe()`, so both carry exactly the same contract.
 */
export class SluiceHost {
  private readonly listeners = new Set<HostListener>();
  private readonly archive: CaptureArchive;
  private status: ProxyStatus;
  private readonly importedBodies: ImportedBodies;
  private imports = 0;
  // Starting, stopping, moving and the system proxy switch (see the handlers).
  private readonly lifecycle = new SerialQueue();
  /**
   * Where the proxy last listened. With port 0 in the settings a restart goes back there rather
   * than to a new free port: every client set up since (and the CLI's `proxy:` line) names it.
   */
  private boundPort: number | undefined;

  private constructor(
    private readonly proxy: SluiceProxy,
    private readonly ca: CertificateAuthority,
    private readonly settings: SettingsStore,
    private overrides: SettingsOverrides,
    private readonly systemProxy: SystemProxySwitch,
    readonly notices: readonly string[],
    runStore: RunStore,
    private nextImportedId: number,
    capture: Partial<CaptureOptions> = {},
  ) {
    this.importedBodies = new ImportedBodies(capture);
    // An exchange the host no longer holds in memory (in the store now, or forgotten) needs no
    // body copy in the proxy or the imports.
    this.archive = new CaptureArchive(runStore, {
      read: (id, direction, start, end) =>
        id >= IMPORTED_ID_BASE
          ? this.importedBodies.read(id, direction, start, end)
          : this.proxy.readBody(id, direction, start, end),
      forget: (ids) => {
        this.proxy.forgetCaptures(ids);
        this.importedBodies.forget(ids);
      },
    });
    const s = this.effective();
    this.status = {
      state: 'stopped',
      host: s.proxyHost,
      port: s.proxyPort,
      captureEnabled: s.captureEnabled,
      captureKept: s.keepCapture,
    };
    proxy.setCaptureEnabled(s.captureEnabled);
    proxy.subscribe((event) => this.emit(event));
    systemProxy.subscribe((status) => this.emit({ type: 'system-proxy-status', t: now(), status }));
    // Into the log, so every window that opens later is told too (a replaced settings file, ...).
    for (const message of notices) this.notice('warning', message);
  }

  static async create(options: HostOptions): Promise<SluiceHost> {
    const { store, notices } = await SettingsStore.open(options.dataDir);
    let warn: (message: string) => void = warnOnConsole;
    const keep = mergeSettings(store.get(), options.overrides ?? {}).keepCapture;
    // Opened beside the rest of the start-up: its WASM takes a moment to compile.
    const openingStore = openRunStore(options.dataDir, keep, (message) => warn(`capture store: ${message}`));
    let host: SluiceHost;
    try {
      host = await SluiceHost.assemble(options, store, notices, openingStore, (m) => warn(m));
    } catch (err) {
      void openingStore.then((runStore) => closeRunStore(runStore, keep));
      throw err;
    }
    warn = (message) => host.notice('warning', message);
    return host;
  }

  private static async assemble(
    options: HostOptions,
    store: SettingsStore,
    notices: readonly string[],
    openingStore: Promise<OpenedRunStore>,
    warn: (message: string) => void,
  ): Promise<SluiceHost> {
    // The switch opens beside the core, and both are awaited whatever happens to the other: a
    // switch left floating when the CA failed would end the process with an unhandled rejection.
    const [opened, core] = await Promise.allSettled([
      SystemProxySwitch.open(switchOptions(options, warn)),
      SluiceHost.openCore(options, store, openingStore),
    ]);
    if (core.status === 'rejected') {
      // The core's failure (a CA file that cannot be read, ...) is the one the caller reports.
      if (opened.status === 'rejected') {
        warn(`the system proxy switch could not start either: ${errorMessage(opened.reason)}`);
      } else if (opened.value.notice) {
        warn(opened.value.notice);
      }
      throw core.reason;
    }
    const { proxy, ca, runStore, nextImportedId } = core.value;
    if (opened.status === 'rejected') {
      await proxy.close();
      throw opened.reason;
    }
    const { proxySwitch, notice } = opened.value;
    const storeNotice = runStore.store ? runStore.notice : runStore.problem;
    return new SluiceHost(
      proxy,
      ca,
      store,
      options.overrides ?? {},
      proxySwitch,
      [...notices, ...(notice ? [notice] : []), ...(storeNotice ? [storeNotice] : [])],
      runStore,
      nextImportedId,
      options.capture,
    );
  }

  /** The CA, the capture store and the proxy core built on them (not listening yet). */
  private static async openCore(
    options: HostOptions,
    store: SettingsStore,
    openingStore: Promise<OpenedRunStore>,
  ): Promise<{ proxy: SluiceProxy; ca: CertificateAuthority; runStore: OpenedRunStore; nextImportedId: number }> {
    const ca = await loadOrCreateCa(options.dataDir);
    const s = mergeSettings(store.get(), options.overrides ?? {});
    const runStore = await openingStore;
    // A kept capture's exchanges keep their ids; this run's go on past them.
    const highest = await highestStoredIds(runStore, IMPORTED_ID_BASE);
    const proxy = await SluiceProxy.create({
      ca,
      upstreamCaPems: options.upstreamCaPems ?? [],
      insecureUpstream: s.insecureUpstream,
      passThroughHosts: s.passThroughHosts,
      timeouts: s.timeouts,
      firstExchangeId: highest.captured + 1,
      ...(options.capture ? { capture: options.capture } : {}),
    });
    return { proxy, ca, runStore, nextImportedId: Math.max(IMPORTED_ID_BASE, highest.imported + 1) };
  }

  /**
   * Starts feeding one renderer: first what the log holds (so a late window or a reloaded tab
   * sees the capture so far), then live events, batched per frame. Returns the function that stops it.
   */
  openFeed(consumer: FeedConsumer): () => void {
    const batcher = new EventBatcher(consumer);
    batcher.prime(this.archive.history({ newest: WINDOW_MAX_EXCHANGES }));
    const unsubscribe = this.subscribe((event) => batcher.push(event));
    return () => {
      unsubscribe();
      batcher.close();
    };
  }

  subscribe(listener: HostListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs one command; rejects with a CommandError that says what was wrong with the call. */
  async call<C extends CommandName>(command: C, request: CommandRequest<C>): Promise<CommandReply<C>> {
    if (!isCommandName(command)) {
      throw new CommandError(`unknown command ${JSON.stringify(command)}`, 'unknown-command');
    }
    if (request !== undefined && (typeof request !== 'object' || request === null)) {
      throw new CommandError(`${command} takes an object`, 'bad-request');
    }
    const handler = this.handlers[command] as (r: CommandRequest<C>) => Promise<CommandReply<C>>;
    return handler(request ?? ({} as CommandRequest<C>));
  }

  /**
   * Writes the kept exchanges (or `options.ids`) as HAR 1.2 to `out`, one entry at a time,
   * waiting for `drain`; exchanges still open are written as far as they got. Does not end `out`.
   */
  writeHar(out: Writable, options: HarExportOptions = {}): Promise<HarExportResult> {
    return writeHar(out, this.harSource(), options);
  }

  /** As `writeHar`, to a file that appears only once complete. */
  writeHarFile(path: string, options: HarExportOptions = {}): Promise<HarExportResult> {
    return writeHarFile(path, this.harSource(), options);
  }

  /**
   * Imports a HAR document as ordinary exchanges with fresh ids (from IMPORTED_ID_BASE): every
   * view shows them as it shows captured ones, and their bodies read through `body.read`.
   * Progress goes to subscribers as `har-import-progress`; entries that could not be imported
   * (and parts left out) are named in one `host-notice`. Rejects with words saying what is wrong
   * with the file and where; entries read before the problem stay imported.
   */
  async importHar(
    source: Readable,
    options: { readonly totalBytes?: number | undefined; readonly name?: string | undefined } = {},
  ): Promise<HarImportReply> {
    const importId = ++this.imports;
    const progress = (bytesRead: number, entries: number, done: boolean, error?: string): void =>
      this.emit({
        type: 'har-import-progress',
        t: now(),
        importId,
        bytesRead,
        ...(options.totalBytes !== undefined ? { totalBytes: options.totalBytes } : {}),
        entries,
        done,
        ...(error !== undefined ? { error } : {}),
      });
    let last = { bytesRead: 0, entries: 0 };
    try {
      const result = await importHar(
        source,
        { nextId: () => this.nextImportedId++, emit: (event) => this.emit(event), bodies: this.importedBodies },
        {
          ...options,
          onProgress: (p) => {
            last = p;
            progress(p.bytesRead, p.entries, false);
          },
        },
      );
      const issues = [...result.skipped, ...result.warnings].sort((a, b) => a.index - b.index);
      if (issues.length > 0) {
        this.notice('warning', importNotice(options.name, issues));
      }
      progress(last.bytesRead, result.entries, true);
      return { importId, entries: result.entries, skipped: result.skipped.length };
    } catch (err) {
      const message = errorMessage(err);
      this.notice('error', message);
      progress(last.bytesRead, last.entries, true, message);
      throw err;
    }
  }

  /** The desktop app's export: checks what the page sent, then writes the file. */
  private async exportHarFile(
    path: unknown,
    ids: unknown,
    redact: unknown,
    redactHeaders: unknown,
  ): Promise<{ path: string; entries: number }> {
    // Only ever a .har file: a page must not be able to overwrite anything else the user owns.
    if (typeof path !== 'string' || !isAbsolute(path) || !/\.har$/i.test(path)) {
      throw new CommandError('har.export needs an absolute path to a .har file', 'bad-request');
    }
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id)))) {
      throw new CommandError('har.export ids must be a list of exchange ids', 'bad-request');
    }
    if (
      redactHeaders !== undefined &&
      (!Array.isArray(redactHeaders) || !redactHeaders.every((h) => typeof h === 'string'))
    ) {
      throw new CommandError('har.export redactHeaders must be a list of header names', 'bad-request');
    }
    const result = await this.writeHarFile(path, {
      ids: ids === undefined ? undefined : new Set(ids as number[]),
      redact: redact === true,
      redactHeaders: (redactHeaders as string[] | undefined) ?? [],
    });
    return { path, entries: result.entries };
  }

  /** `importHar` from a file the host can read. */
  async importHarFile(path: string): Promise<HarImportReply> {
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a file');
      size = info.size;
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CommandError(`cannot open ${path}: ${why}`, 'bad-request');
    }
    return this.importHar(createReadStream(path), { totalBytes: size, name: basename(path) });
  }

  /** Puts back the user's system proxy settings now, e.g. when the CLI must leave at once. */
  restoreSystemProxy(): Promise<SystemProxyStatus> {
    return this.lifecycle.run(() => this.systemProxy.close());
  }

  /**
   * Restores the user's system proxy (if this Sluice changed it), then stops the proxy. A failed
   * restore shows afterwards in `systemProxy.status` (state `error`), for the caller to report.
   */
  async close(): Promise<void> {
    await this.restoreSystemProxy();
    await this.proxy.close();
    // Before the imported bodies go: exchanges still moving to the store read theirs.
    await this.archive.close(this.effective().keepCapture);
    await this.importedBodies.close();
    this.listeners.clear();
  }

  private readonly handlers: Handlers = {
    'proxy.status': async () => this.status,
    // Starting, stopping, moving and the system proxy switch run one at a time: a stop or a port
    // change must never land in the middle of a switch-on that points the machine at us.
    'proxy.start': async () => this.lifecycle.run(() => this.start()),
    'proxy.stop': async () => this.lifecycle.run(() => this.stop()),
    'proxy.setPort': async ({ port }) => this.lifecycle.run(() => this.setPort(port)),
    'capture.setEnabled': async ({ enabled }) => this.setCaptureEnabled(enabled),
    'capture.setKept': async ({ kept }) => {
      if (typeof kept !== 'boolean') throw new CommandError('kept must be true or false', 'bad-request');
      await this.updateSettings({ keepCapture: kept });
      this.setStatus({ captureKept: kept });
      return this.status;
    },
    'capture.clear': async () => {
      this.proxy.clearCaptures();
      this.importedBodies.clear();
      await this.archive.clear();
      this.emit({ type: 'capture-cleared', t: now() });
      return { cleared: true as const };
    },
    'body.read': async ({ id, direction, start, end, decoded }) =>
      this.readBody(id, direction, start, end, decoded === true),
    'bodies.search': async ({ text }) => {
      if (typeof text !== 'string') throw new CommandError('bodies.search needs the text to look for', 'bad-request');
      // Only the part searched is read: a 64 MiB capture is not read and decoded to look at 4 MiB.
      return searchBodies(text, await this.archive.idsNewestFirst(), (id, direction, maxBytes) =>
        this.capturedBody(id, direction, maxBytes),
      );
    },
    'exchanges.remove': async ({ ids }) => {
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'number')) {
        throw new CommandError('exchanges.remove needs a list of numeric ids', 'bad-request');
      }
      const removed = await this.archive.remove(ids);
      if (removed.length > 0) this.emit({ type: 'exchanges-removed', t: now(), ids: removed });
      return { removed: removed.length };
    },
    'ca.get': async () => this.caInfo(),
    'settings.get': async () => this.effective(),
    'systemProxy.status': async () => this.systemProxy.status(),
    'systemProxy.set': async ({ enabled, mode }) => {
      if (typeof enabled !== 'boolean') throw new CommandError('enabled must be true or false', 'bad-request');
      if (mode !== undefined && mode !== 'manual' && mode !== 'pac') {
        throw new CommandError(`mode must be "manual" or "pac", not ${JSON.stringify(mode)}`, 'bad-request');
      }
      return this.lifecycle.run(() =>
        enabled ? this.enableSystemProxy(mode ?? 'manual') : this.systemProxy.disable(),
      );
    },
    'har.export': async ({ path, ids, redact, redactHeaders }) => this.exportHarFile(path, ids, redact, redactHeaders),
    'har.import': async ({ path }) => {
      if (typeof path !== 'string' || path === '')
        throw new CommandError('har.import needs a file path', 'bad-request');
      return this.importHarFile(path);
    },
  };

  private async start(): Promise<ProxyStatus> {
    if (this.status.state === 'running') return this.status;
    const { proxyHost } = this.effective();
    const proxyPort = this.listenPort();
    try {
      const address = await this.proxy.listen(proxyPort, proxyHost);
      this.boundPort = address.port;
      this.proxy.serveLocal(PAC_PATH, {
        contentType: 'application/x-ns-proxy-autoconfig',
        body: pacScript(reachableAddress(proxyHost, address.port)),
      });
      // How another Sluice (or this one after a crash) tells that the switch's owner still runs.
      this.proxy.serveLocal(INSTANCE_PATH, { contentType: 'text/plain', body: this.systemProxy.ownerId });
      this.setStatus({ state: 'running', host: proxyHost, port: address.port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.setStatus({
        state: 'error',
        host: proxyHost,
        port: proxyPort,
        error: listenError(err, proxyHost, proxyPort, this.isRestartPort(proxyPort)),
        ...(code ? { errorCode: code } : {}),
      });
    }
    return this.status;
  }

  private async stop(): Promise<ProxyStatus> {
    // Never leave the machine pointing at a proxy that is not there; if that cannot be undone, a
    // stopped proxy would cut the whole machine off, so it keeps running.
    if (!(await this.systemProxyOff('info', 'the proxy stopped'))) {
      const { message } = this.systemProxy.status();
      this.notice(
        'error',
        `The proxy keeps running: your system proxy settings could not be restored (${message ?? 'unknown error'}).`,
      );
      return this.status;
    }
    await this.unlisten();
    return this.status;
  }

  private async setPort(port: unknown): Promise<ProxyStatus> {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new CommandError(`port must be a whole number from 0 to 65535, not ${JSON.stringify(port)}`, 'bad-request');
    }
    const wasRunning = this.status.state === 'running';
    // The user chose a port in the app: that choice outlives a --port given at start.
    const { proxyPort: _flag, ...rest } = this.overrides;
    this.overrides = rest;
    this.boundPort = undefined;
    await this.updateSettings({ proxyPort: port });
    const systemProxy = this.systemProxy.status();
    await this.unlisten();
    if (!wasRunning) return this.status;
    const status = await this.start();
    // The system proxy follows the move (the user's own settings stay saved from the first switch).
    if (systemProxy.state === 'on') {
      if (status.state === 'running') await this.enableSystemProxy(systemProxy.mode);
      // The new port failed (its error stays in the status); nothing answers at the old one.
      else await this.systemProxyOff('warning', 'the proxy could not listen on the new port');
    }
    return status;
  }

  private async unlisten(): Promise<void> {
    await this.proxy.stopListening();
    this.setStatus({ state: 'stopped', host: this.effective().proxyHost, port: this.listenPort() });
  }

  /** The port the next start listens on: the configured one, or where it was when that is 0. */
  private listenPort(): number {
    const { proxyPort } = this.effective();
    return proxyPort === 0 ? (this.boundPort ?? 0) : proxyPort;
  }

  /** Whether `port` is the one kept from an earlier run rather than one the user configured. */
  private isRestartPort(port: number): boolean {
    return port !== 0 && this.effective().proxyPort === 0;
  }

  /**
   * Switches the system proxy off (when it is not off already) and tells every window why. False
   * when the user's settings could not be restored: the switch's status then says so (`error`).
   */
  private async systemProxyOff(level: 'info' | 'warning', because: string): Promise<boolean> {
    if (this.systemProxy.status().state === 'off') return true;
    if ((await this.systemProxy.disable()).state === 'error') return false;
    this.notice(level, `The system proxy was switched off because ${because}.`);
    return true;
  }

  private notice(level: HostNoticeEvent['level'], message: string): void {
    this.emit({ type: 'host-notice', t: now(), level, message });
  }

  private async enableSystemProxy(mode: SystemProxyMode): Promise<SystemProxyStatus> {
    if (!this.systemProxy.status().supported) return this.systemProxy.status();
    const status = this.status.state === 'running' ? this.status : await this.start();
    if (status.state !== 'running') {
      return this.systemProxy.refuse(
        `The proxy is not running (${status.error ?? status.state}), so the system was not pointed at it.`,
      );
    }
    return this.systemProxy.enable(reachableAddress(status.host, status.port), mode);
  }

  private async setCaptureEnabled(enabled: unknown): Promise<ProxyStatus> {
    if (typeof enabled !== 'boolean') throw new CommandError('enabled must be true or false', 'bad-request');
    this.proxy.setCaptureEnabled(enabled);
    await this.updateSettings({ captureEnabled: enabled });
    this.setStatus({ captureEnabled: enabled });
    return this.status;
  }

  /**
   * `body.read`: bytes as forwarded, or with `decoded` the Content-Encoding undone (gzip, deflate,
   * br), in which case the whole capture is decoded and `start`/`end` slice the decoded bytes.
   */
  private async readBody(
    id: unknown,
    direction: unknown,
    start?: number,
    end?: number,
    decoded = false,
  ): Promise<BodyRange | null> {
    if (typeof id !== 'number' || (direction !== 'request' && direction !== 'response')) {
      throw new CommandError('body.read needs a numeric id and a direction of "request" or "response"', 'bad-request');
    }
    for (const [name, value] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
        throw new CommandError(
          `body.read ${name} must be a whole number of bytes, not ${JSON.stringify(value)}`,
          'bad-request',
        );
      }
    }
    const encoding = decoded ? contentEncodingOf(await this.archive.headersOf(id, direction)) : undefined;
    // Decoding needs the body from its first byte; a plain read only the range asked for.
    const range = await this.archive.readBody(id, direction, encoding ? undefined : start, encoding ? undefined : end);
    if (!range) return null;
    const from = start ?? 0;
    const answer: Omit<BodyRange, 'base64'> = {
      id,
      direction,
      start: from,
      captured: range.captured,
      ...(range.limited ? { limited: range.limited } : {}),
    };
    if (!encoding) return { ...answer, base64: range.bytes.toString('base64') };
    const result = await undoEncoding(range.bytes, encoding);
    const bytes = 'bytes' in result ? result.bytes : Buffer.alloc(0);
    return {
      ...answer,
      base64: bytes.subarray(from, end ?? bytes.length).toString('base64'),
      decoded: { encoding, decodedSize: bytes.length, ...(result.error ? { error: result.error } : {}) },
    };
  }

  private harSource(): HarSource {
    return {
      exchanges: () => this.archive.exchanges(),
      readBody: (id, direction) => this.capturedBody(id, direction),
    };
  }

  /**
   * A captured body with its Content-Encoding undone where possible: whole for export, or its
   * first `upTo` bytes as captured (decoded as far as they go).
   */
  private async capturedBody(id: number, direction: Direction, upTo?: number): Promise<CapturedBody | undefined> {
    const range = await this.archive.readBody(id, direction, undefined, upTo);
    if (!range) return undefined;
    const raw = range.bytes;
    const limited = range.limited ? { limited: range.limited } : {};
    const encoding = contentEncodingOf(await this.archive.headersOf(id, direction));
    if (!encoding || raw.length === 0) return { raw, ...limited };
    const result = await undoEncoding(raw, encoding);
    if (!('bytes' in result) || (result.error && result.bytes.length === 0)) {
      return { raw, decodeError: result.error, ...limited };
    }
    return { raw, decoded: result.bytes, ...(result.error ? { decodeError: result.error } : {}), ...limited };
  }

  private caInfo(): CaInfo {
    return { path: this.ca.certPath, certPem: this.ca.certPem, trust: trustInstructions(this.ca.certPath) };
  }

  private async updateSettings(patch: Partial<Omit<Settings, 'version' | 'timeouts'>>): Promise<void> {
    const { notice } = await this.settings.update(patch);
    if (notice) this.notice('warning', notice);
  }

  private effective(): Settings {
    return mergeSettings(this.settings.get(), this.overrides);
  }

  private setStatus(change: Partial<ProxyStatus>): void {
    // An error belongs to the state it came with; any change of state clears it.
    const { error: _stale, errorCode: _staleCode, ...rest } = this.status;
    this.status = { ...rest, ...change };
    this.emit({ type: 'proxy-status', t: now(), status: this.status });
  }

  private emit(event: HostEvent): void {
    this.archive.append(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // One broken consumer (a tab, a window) must not starve the others or the proxy.
        process.emitWarning(`sluice: host listener threw: ${String(err)}`);
      }
    }
  }
}

function listenError(err: unknown, host: string, port: number, restart: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  // Said plainly rather than moving to a free port: clients set up for this one would silently miss.
  if (code === 'EADDRINUSE' && restart) {
    return `port ${port} on ${host} (where the proxy was) is in use now; free it or choose another port`;
  }
  if (code === 'EADDRINUSE') return `port ${port} on ${host} is in use; choose another port`;
  if (code === 'EACCES') return `no permission to listen on ${host}:${port}; choose a port above 1023`;
  return `cannot listen on ${host}:${port}: ${errorMessage(err)}`;
}

function importNotice(name: string | undefined, issues: readonly EntryIssue[]): string {
  const named = issues.slice(0, NOTICE_ISSUES).map((issue) => issue.message);
  const more = issues.length > NOTICE_ISSUES ? `; and ${issues.length - NOTICE_ISSUES} more` : '';
  return `HAR import${name ? ` of ${name}` : ''}: ${named.join('; ')}${more}`;
}

/**
 * Before our proxy listens: a record left by a crash is judged by whether its proxy answers.
 * Adapters warn after a change that worked (running programs not told); the host shows it.
 * The machine's real settings: one marker per user (in the default data dir), so Sluices with
 * different data dirs never both apply. Injected adapters (tests) keep it in their data dir.
 */
function switchOptions(options: HostOptions, warn: (message: string) => void): SystemProxySwitchOptions {
  return {
    dataDir: options.dataDir,
    ...(options.systemProxyAdapters
      ? { adapters: options.systemProxyAdapters }
      : { adapters: platformAdapters(process.platform, process.env, warn), markerDir: defaultDataDir() }),
  };
}

function mergeSettings(stored: Settings, overrides: SettingsOverrides): Settings {
  return { ...stored, ...overrides, timeouts: { ...stored.timeouts, ...overrides.timeouts } };
}
