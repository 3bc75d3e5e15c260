import type { Settings } from '../../app/contract.js';
import { IMPORTED_ID_BASE } from '../../app/contract.js';
import { errorMessage } from '../../app/error-message.js';
import { loadOrCreateCa, SluiceProxy, type CaptureOptions, type CertificateAuthority } from '../../proxy-core/index.js';
import { defaultDataDir } from '../data-dir.js';
import { platformAdapters } from '../system-proxy/platform-adapters.js';
import { SystemProxySwitch, type SystemProxySwitchOptions } from '../system-proxy/system-proxy-switch.js';
import type { SystemProxyAdapter } from '../system-proxy/types.js';
import { closeRunStore, highestStoredIds, openRunStore, type OpenedRunStore } from './run-store.js';
import { SettingsStore } from './settings-store.js';

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

/** Everything a host is made of, opened and ready; the proxy is not listening yet. */
export interface HostParts {
  readonly settings: SettingsStore;
  readonly overrides: SettingsOverrides;
  readonly ca: CertificateAuthority;
  readonly proxy: SluiceProxy;
  readonly proxySwitch: SystemProxySwitch;
  readonly runStore: OpenedRunStore;
  /** Past the ids of the imported exchanges a kept capture holds. */
  readonly firstImportedId: number;
  /** Extra CAs trusted for upstreams, for what the host itself asks of them (server reflection). */
  readonly upstreamCaPems: readonly string[];
  /** For the user: a replaced settings file, settings restored after a crash, a store in a temp dir. */
  readonly notices: readonly string[];
}

/**
 * Opens the settings, then the capture store, the CA with the proxy core, and the system proxy
 * switch side by side. `warn` is for what goes wrong later on their own (a store write that
 * failed, a desktop that was not told of a change). Rejects with the first failure that matters.
 */
export async function openHostParts(options: HostOptions, warn: (message: string) => void): Promise<HostParts> {
  const { store: settings, notices } = await SettingsStore.open(options.dataDir);
  const overrides = options.overrides ?? {};
  const keep = mergeSettings(settings.get(), overrides).keepCapture;
  // Opened beside the rest of the start-up: its WASM takes a moment to compile.
  const openingStore = openRunStore(options.dataDir, keep, (message) => warn(`capture store: ${message}`));
  try {
    const { proxySwitch, notice, core } = await openSwitchAndCore(options, settings, openingStore, warn);
    const { runStore } = core;
    const storeNotice = runStore.store ? runStore.notice : runStore.problem;
    return {
      settings,
      overrides,
      proxySwitch,
      ...core,
      upstreamCaPems: options.upstreamCaPems ?? [],
      notices: [...notices, ...(notice ? [notice] : []), ...(storeNotice ? [storeNotice] : [])],
    };
  } catch (err) {
    void openingStore.then((runStore) => closeRunStore(runStore, keep));
    throw err;
  }
}

type Core = Pick<HostParts, 'ca' | 'proxy' | 'runStore' | 'firstImportedId'>;

async function openSwitchAndCore(
  options: HostOptions,
  settings: SettingsStore,
  openingStore: Promise<OpenedRunStore>,
  warn: (message: string) => void,
): Promise<{ proxySwitch: SystemProxySwitch; notice: string | null; core: Core }> {
  // The switch opens beside the core, and both are awaited whatever happens to the other: a
  // switch left floating when the CA failed would end the process with an unhandled rejection.
  const [opened, core] = await Promise.allSettled([
    SystemProxySwitch.open(switchOptions(options, warn)),
    openCore(options, settings, openingStore),
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
  if (opened.status === 'rejected') {
    await core.value.proxy.close();
    throw opened.reason;
  }
  return { ...opened.value, core: core.value };
}

/** The CA, the capture store and the proxy core built on them (not listening yet). */
async function openCore(
  options: HostOptions,
  settings: SettingsStore,
  openingStore: Promise<OpenedRunStore>,
): Promise<Core> {
  const ca = await loadOrCreateCa(options.dataDir);
  const s = mergeSettings(settings.get(), options.overrides ?? {});
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
    rules: s.rules,
    ...(options.capture ? { capture: options.capture } : {}),
  });
  return { ca, proxy, runStore, firstImportedId: Math.max(IMPORTED_ID_BASE, highest.imported + 1) };
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

export function mergeSettings(stored: Settings, overrides: SettingsOverrides): Settings {
  return { ...stored, ...overrides, timeouts: { ...stored.timeouts, ...overrides.timeouts } };
}
