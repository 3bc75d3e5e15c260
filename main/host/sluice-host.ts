import { parseStreamRules, StreamRulesError, type StreamRule } from '../../app/stream-rules.js';
import type { Readable, Writable } from 'node:stream';
import type {
  CaInfo,
  CommandName,
  CommandReply,
  CommandRequest,
  HarImportReply,
  HostEvent,
  HostNoticeEvent,
  ProxyStatus,
  RulesState,
  SchemaList,
  Settings,
  SystemProxyMode,
  SystemProxyStatus,
} from '../../app/contract.js';
import { IMPORTED_ID_BASE } from '../../app/contract.js';
import { errorMessage } from '../../app/error-message.js';
import {
  now,
  type CaptureOptions,
  type CapturedRange,
  type CertificateAuthority,
  type SluiceProxy,
} from '../../proxy-core/index.js';
import type { CapturedBody } from '../har/body-text.js';
import { ImportedBodies } from '../har/imported-bodies.js';
import type { HarExportOptions, HarExportResult } from '../har/har-writer.js';
import { PAC_PATH, pacScript } from '../system-proxy/pac-script.js';
import { INSTANCE_PATH } from '../system-proxy/switch-record.js';
import type { SystemProxySwitch } from '../system-proxy/system-proxy-switch.js';
import { reachableAddress, warnOnConsole } from '../system-proxy/types.js';
import { SerialQueue } from '../serial-queue.js';
import { BodyReader } from './body-reader.js';
import { searchBodies } from './body-search.js';
import { CaptureArchive } from './capture-archive.js';
import { EventFeed, type FeedConsumer, type HostListener } from './event-feed.js';
import { HarCommands } from './har-commands.js';
import { SchemaCommands } from './schema-commands.js';
import { MockCommands } from './mock-commands.js';
import { resendExchange } from './resend-command.js';
import {
  mergeSettings,
  openHostParts,
  type HostOptions,
  type HostParts,
  type SettingsOverrides,
} from './host-startup.js';
import {
  checkBodyRead,
  checkBoolean,
  checkBreakpointDecision,
  checkCall,
  checkExchangeId,
  checkHarExport,
  checkIdList,
  checkMockPlayback,
  checkOptionalText,
  checkImportPath,
  checkPort,
  checkRemovedIds,
  checkSearchText,
  checkSystemProxyMode,
  CommandError,
} from './request-checks.js';
import { DEFAULT_MAX_CHUNKS_PER_BODY_PER_BATCH, thinChunks } from './event-batcher.js';
import type { SettingsStore } from './settings-store.js';
import { trustInstructions } from './trust-instructions.js';

export type { HostOptions, SettingsOverrides } from './host-startup.js';

type Handlers = { [C in CommandName]: (request: CommandRequest<C>) => Promise<CommandReply<C>> };

/**
 * Owns the proxy core, the CA and the settings, and answers the contract's commands. It knows no
 * transport: Electron IPC and the headless host's WebSocket both go through `call()` and
 * `subscribe()`, so both carry exactly the same contract.
 */
export class SluiceHost {
  private readonly proxy: SluiceProxy;
  private readonly ca: CertificateAuthority;
  private readonly settings: SettingsStore;
  private overrides: SettingsOverrides;
  private readonly systemProxy: SystemProxySwitch;
  /** For the user, from the start-up: a replaced settings file, settings restored after a crash, ... */
  readonly notices: readonly string[];
  private readonly archive: CaptureArchive;
  private readonly feed: EventFeed;
  private readonly bodies: BodyReader;
  private readonly har: HarCommands;
  private readonly schemas: SchemaCommands;
  private readonly mocks: MockCommands;
  private status: ProxyStatus;
  private readonly importedBodies: ImportedBodies;
  private rulesRevision = 0;
  /** The `--rules` file whose rules hold for this run, until rules are saved from the UI. */
  private rulesFile: string | undefined;
  // Starting, stopping, moving and the system proxy switch (see the handlers).
  private readonly lifecycle = new SerialQueue();
  /**
   * Where the proxy last listened. With port 0 in the settings a restart goes back there rather
   * than to a new free port: every client set up since (and the CLI's `proxy:` line) names it.
   */
  private boundPort: number | undefined;

  private constructor(parts: HostParts, capture: Partial<CaptureOptions> = {}) {
    this.proxy = parts.proxy;
    this.ca = parts.ca;
    this.settings = parts.settings;
    this.overrides = parts.overrides;
    this.systemProxy = parts.proxySwitch;
    this.notices = parts.notices;
    this.importedBodies = new ImportedBodies(capture);
    // An exchange the host no longer holds in memory (in the store now, or forgotten) needs no
    // body copy in the proxy or the imports.
    this.archive = new CaptureArchive(parts.runStore, {
      read: (id, direction, start, end) =>
        id >= IMPORTED_ID_BASE
          ? this.importedBodies.read(id, direction, start, end)
          : this.proxy.readBody(id, direction, start, end),
      readHeld: (id, direction, max) =>
        id >= IMPORTED_ID_BASE
          ? this.importedBodies.readHeld(id, direction, max)
          : this.proxy.readHeldBody(id, direction, max),
      forget: (ids) => {
        this.proxy.forgetCaptures(ids);
        this.importedBodies.forget(ids);
      },
    });
    this.feed = new EventFeed(this.archive);
    this.bodies = new BodyReader(this.archive);
    this.har = new HarCommands({
      source: {
        exchanges: () => this.archive.exchanges(),
        readBody: (id, direction) => this.bodies.captured(id, direction),
      },
      bodies: this.importedBodies,
      firstImportedId: parts.firstImportedId,
      emit: (event) => this.emit(event),
      notice: (level, message) => this.notice(level, message),
    });
    this.schemas = new SchemaCommands({
      archive: this.archive,
      trust: () => ({ extraCaPems: parts.upstreamCaPems, insecure: this.effective().insecureUpstream }),
      emit: (event) => this.emit(event),
      changed: (schema) => this.proxy.setRpcSchema(schema),
    });
    this.mocks = new MockCommands({
      archive: this.archive,
      proxy: this.proxy,
      captured: (id) => this.archive.readBody(id, 'response').then((range) => range && capturedOf(range)),
      emit: (event) => this.emit(event),
    });
    const s = this.effective();
    this.status = {
      state: 'stopped',
      host: s.proxyHost,
      port: s.proxyPort,
      captureEnabled: s.captureEnabled,
      captureKept: s.keepCapture,
    };
    this.proxy.setCaptureEnabled(s.captureEnabled);
    this.proxy.subscribe((event) => this.emit(event));
    this.systemProxy.subscribe((status) => this.emit({ type: 'system-proxy-status', t: now(), status }));
    // Into the log, so every window that opens later is told too (a replaced settings file, ...).
    for (const message of this.notices) this.notice('warning', message);
  }

  static async create(options: HostOptions): Promise<SluiceHost> {
    let warn: (message: string) => void = warnOnConsole;
    const host = new SluiceHost(await openHostParts(options, (message) => warn(message)), options.capture);
    // From now on what goes wrong on its own (a store write, a desktop not told) is said in every window.
    warn = (message) => host.notice('warning', message);
    return host;
  }

  /**
   * Starts feeding one renderer: first what the capture holds (so a late window or a reloaded tab
   * sees it so far), then live events, batched per frame. Returns the function that stops it.
   */
  openFeed(consumer: FeedConsumer): () => void {
    return this.feed.open(consumer);
  }

  subscribe(listener: HostListener): () => void {
    return this.feed.subscribe(listener);
  }

  /** Runs one command; rejects with a CommandError that says what was wrong with the call. */
  async call<C extends CommandName>(command: C, request: CommandRequest<C>): Promise<CommandReply<C>> {
    checkCall(command, request);
    const handler = this.handlers[command] as (r: CommandRequest<C>) => Promise<CommandReply<C>>;
    return handler(request ?? ({} as CommandRequest<C>));
  }

  /**
   * Writes the kept exchanges (or `options.ids`) as HAR 1.2 to `out`, one entry at a time,
   * waiting for `drain`; exchanges still open are written as far as they got. Does not end `out`.
   */
  writeHar(out: Writable, options: HarExportOptions = {}): Promise<HarExportResult> {
    return this.har.writeHar(out, options);
  }

  /** As `writeHar`, to a file that appears only once complete. */
  writeHarFile(path: string, options: HarExportOptions = {}): Promise<HarExportResult> {
    return this.har.writeHarFile(path, options);
  }

  /** Imports a HAR document as ordinary exchanges: see `HarCommands.importHar`. */
  importHar(
    source: Readable,
    options: { readonly totalBytes?: number | undefined; readonly name?: string | undefined } = {},
  ): Promise<HarImportReply> {
    return this.har.importHar(source, options);
  }

  /** Adds schemas from files on this machine (the CLI's --proto); rejects with a SchemaError saying why not. */
  addSchemaFiles(paths: readonly string[], includeDirs: readonly string[] = []): Promise<SchemaList> {
    return this.schemas.addPaths(paths, includeDirs);
  }

  /**
   * The CLI's `--mock FILE.har`: imports the file (its exchanges show as any import's) and serves
   * each entry that can be played as a mock; says which cannot. Rejects when the file cannot be read.
   */
  async mockHarFile(path: string): Promise<{ mocks: number; skipped: string[] }> {
    const { ids } = await this.har.importHarFile(path);
    const { added, skipped } = await this.mocks.addPlayable(ids);
    return { mocks: added, skipped };
  }

  /** How mocks play (the CLI's `--mock-speed` and `--mock-jitter`). */
  setMockPlayback(playback: import('../../app/mocks.js').MockPlayback): void {
    this.mocks.setPlayback(checkMockPlayback(playback));
  }

  /**
   * The CLI's `--rules FILE`: these rules hold for this run, instead of the saved ones, until
   * rules are saved from the UI. Exchanges under way keep theirs.
   */
  useRulesFile(rules: readonly StreamRule[], file: string): void {
    this.rulesFile = file;
    this.applyRules(rules);
  }

  private rulesState(): RulesState {
    return {
      revision: this.rulesRevision,
      rules: this.proxy.rules,
      matched: this.proxy.ruleMatches(),
      ...(this.rulesFile === undefined ? {} : { file: this.rulesFile }),
    };
  }

  private applyRules(rules: readonly StreamRule[]): RulesState {
    this.proxy.setRules(rules);
    this.rulesRevision++;
    const state = this.rulesState();
    this.emit({ type: 'rules-changed', t: now(), state });
    return state;
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
    this.feed.close();
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
      checkBoolean(kept, 'kept');
      await this.updateSettings({ keepCapture: kept });
      await this.archive.keep(kept);
      this.setStatus({ captureKept: kept });
      return this.status;
    },
    'capture.clear': async () => {
      // A held stream whose exchange leaves every view could never be released: it goes on.
      this.proxy.releaseBreakpoints();
      this.proxy.clearCaptures();
      this.importedBodies.clear();
      await this.archive.clear();
      this.emit({ type: 'capture-cleared', t: now() });
      return { cleared: true as const };
    },
    'body.read': async (request) => this.bodies.read(checkBodyRead(request)),
    'bodies.search': async ({ text }) => {
      checkSearchText(text);
      // Only the part searched is read: a 64 MiB capture is not read and decoded to look at 4 MiB.
      return searchBodies(text, await this.archive.idsNewestFirst(), (id, direction, maxBytes) =>
        this.bodies.captured(id, direction, maxBytes),
      );
    },
    'exchanges.remove': async ({ ids }) => {
      checkRemovedIds(ids);
      const removed = await this.archive.remove(ids);
      if (removed.length > 0) this.emit({ type: 'exchanges-removed', t: now(), ids: removed });
      return { removed: removed.length };
    },
    'exchange.events': async ({ id }) => {
      checkExchangeId(id);
      const events = (await this.archive.eventsOf(id)) ?? [];
      // As a window is sent a live body: at most 500 chunk events, byte ranges exact.
      thinChunks(events, DEFAULT_MAX_CHUNKS_PER_BODY_PER_BATCH);
      return { events };
    },
    'ca.get': async () => this.caInfo(),
    'settings.get': async () => this.effective(),
    'systemProxy.status': async () => this.systemProxy.status(),
    'systemProxy.set': async ({ enabled, mode }) => {
      checkBoolean(enabled, 'enabled');
      checkSystemProxyMode(mode);
      return this.lifecycle.run(() =>
        enabled ? this.enableSystemProxy(mode ?? 'manual') : this.systemProxy.disable(),
      );
    },
    'har.export': async (request) => {
      const { path, options } = checkHarExport(request);
      return this.har.exportHarFile(path, options);
    },
    'schemas.get': async () => this.schemas.list(),
    'schemas.add': async ({ files }) => this.schemas.add(files),
    'schemas.reflect': async ({ id }) => this.schemas.reflect(id),
    'schemas.remove': async ({ sourceId }) => this.schemas.remove(sourceId),
    'rules.get': async () => this.rulesState(),
    'breakpoint.resolve': async (request) => {
      const { breakpoint, outcome, text } = checkBreakpointDecision(request);
      const decision =
        text !== undefined && outcome === 'released'
          ? { outcome: 'edited' as const, bytes: Buffer.from(text, 'utf8') }
          : { outcome };
      return { resolved: this.proxy.resolveBreakpoint(breakpoint, decision) };
    },
    'rules.set': async ({ rules }) => {
      let parsed: StreamRule[];
      try {
        parsed = parseStreamRules({ rules });
      } catch (err) {
        if (err instanceof StreamRulesError) throw new CommandError(err.message, 'bad-request');
        throw err;
      }
      await this.updateSettings({ rules: parsed });
      this.rulesFile = undefined;
      return this.applyRules(parsed);
    },
    'exchange.resend': async ({ id, head, body }) => {
      checkExchangeId(id);
      checkOptionalText(head, 'head');
      checkOptionalText(body, 'body');
      return resendExchange(this.archive, this.proxy, { id, head, body });
    },
    'exchange.stop': async ({ id }) => {
      checkExchangeId(id);
      return { stopped: this.proxy.stopExchange(id) };
    },
    'mocks.get': async () => this.mocks.state(),
    'mocks.add': async ({ ids }) => {
      checkIdList(ids, 'mocks.add');
      return this.mocks.add(ids);
    },
    'mocks.remove': async ({ mockIds }) => {
      checkIdList(mockIds, 'mocks.remove');
      return this.mocks.remove(mockIds);
    },
    'mocks.setPlayback': async (request) => this.mocks.setPlayback(checkMockPlayback(request)),
    'har.import': async ({ path }) => {
      checkImportPath(path);
      const { importId, entries, skipped } = await this.har.importHarFile(path);
      return { importId, entries, skipped };
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
    checkPort(port);
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
    checkBoolean(enabled, 'enabled');
    this.proxy.setCaptureEnabled(enabled);
    await this.updateSettings({ captureEnabled: enabled });
    this.setStatus({ captureEnabled: enabled });
    return this.status;
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
    this.feed.emit(event);
  }
}

function capturedOf(range: CapturedRange): CapturedBody {
  return { raw: range.bytes, ...(range.limited ? { limited: range.limited } : {}) };
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
