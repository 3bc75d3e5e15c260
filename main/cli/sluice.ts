import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostEvent } from '../../app/contract.js';
import type { EventsDroppedEvent } from '../../app/host-events.js';
import { isProxyEventType, type ProxyEvent } from '../../app/proxy-events.js';
import { parseStreamRules, type StreamRule } from '../../app/stream-rules.js';
import { bracketHost, CaFileError } from '../../proxy-core/index.js';
import { defaultDataDir } from '../data-dir.js';
import { HeadlessServer } from '../headless/headless-server.js';
import { SluiceHost, type SettingsOverrides } from '../host/sluice-host.js';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './args.js';
import { sluiceVersion } from '../version.js';
import { NdjsonWriter } from './ndjson-writer.js';
import { errorMessage } from '../../app/error-message.js';

/** Exit codes scripts can rely on. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;
/** How long a second Ctrl-C waits for the system proxy to be put back before leaving anyway. */
const RESTORE_BOUND_MS = 10_000;

/** Where `npm run build` puts the renderer, seen from dist/main/cli/. */
const RENDERER_DIR = fileURLToPath(new URL('../../renderer/', import.meta.url));

async function main(argv: readonly string[]): Promise<void> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    fail(`${err.message} (see sluice --help)`, EXIT_USAGE);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (options.version) {
    process.stdout.write(`sluice ${sluiceVersion()}\n`);
    return;
  }
  // Checked now, not at exit: a capture must not be lost to a typo noticed only afterwards.
  const harFile = options.har === undefined ? undefined : await checkHarTarget(resolve(options.har));

  const rules = options.rulesFile === undefined ? undefined : await readRulesFile(resolve(options.rulesFile));
  const upstreamCaPems = await Promise.all(options.upstreamCaFiles.map(readUpstreamCa));
  const dataDir = options.dataDir ?? defaultDataDir();
  let host: SluiceHost;
  try {
    host = await SluiceHost.create({ dataDir, upstreamCaPems, overrides: overridesFrom(options) });
  } catch (err) {
    if (err instanceof CaFileError) fail(err.message, EXIT_FAILURE);
    fail(`cannot use data dir ${dataDir}: ${errorMessage(err)}`, EXIT_FAILURE);
  }
  for (const notice of host.notices) process.stderr.write(`WARNING: ${notice}\n`);
  if (options.protoFiles.length > 0) {
    try {
      await host.addSchemaFiles(options.protoFiles, options.protoPaths);
    } catch (err) {
      await host.close();
      fail(`cannot use --proto: ${errorMessage(err)}`, EXIT_FAILURE);
    }
  }
  if (rules) host.useRulesFile(rules, options.rulesFile!);
  const mocked = await serveMockFiles(host, options);
  const ca = await host.call('ca.get', {});
  process.stdout.write(`ca: ${ca.path}\n`);

  if (options.insecureUpstream) {
    process.stderr.write(
      'WARNING: --insecure-upstream: upstream TLS certificates are NOT verified; anyone on the path can read and change this traffic\n',
    );
  }
  if (options.events === 'ndjson') {
    const writer = new NdjsonWriter(process.stdout);
    host.subscribe((event) => {
      if (isCoreEvent(event)) writer.write(event);
    });
  }

  let ui: HeadlessServer | undefined;
  let stopping = false;
  const shutDown = async (): Promise<number> => {
    // Before closing: closing the proxy lets go of the captured bodies.
    const code = harFile === undefined ? 0 : await exportHar(host, harFile, options);
    await Promise.all([ui?.close(), host.close()]);
    return (await reportSystemProxy(host)) ? code : EXIT_FAILURE;
  };
  const stop = (): void => {
    if (stopping) {
      // A second signal while the HAR is being written means "stop now", without it; but the
      // user's system proxy is still put back first (bounded, so a hung tool cannot keep us).
      const bound = new Promise((resolve) => setTimeout(resolve, RESTORE_BOUND_MS).unref());
      void Promise.race([host.restoreSystemProxy().then(() => reportSystemProxy(host)), bound]).finally(() =>
        process.exit(EXIT_FAILURE),
      );
      return;
    }
    stopping = true;
    shutDown().then(
      (code) => process.exit(code),
      () => process.exit(EXIT_FAILURE),
    );
  };
  // Handlers go in before the `proxy:` line: a script may signal us the moment it reads it. SIGHUP
  // is a closed terminal (on Windows, a closed console window): the system proxy must come back then too.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);

  const status = await host.call('proxy.start', {});
  if (status.state !== 'running') {
    await host.close();
    fail(listenFailure(status.errorCode, status.host, status.port, status.error), EXIT_FAILURE);
  }
  process.stdout.write(`proxy: http://${bracketHost(status.host)}:${status.port}\n`);
  if (rules) {
    const on = rules.filter((rule) => rule.enabled).length;
    process.stdout.write(`rules: ${on} on (${options.rulesFile})\n`);
  }
  for (const { file, mocks } of mocked) process.stdout.write(`mocks: ${mocks} (${file})\n`);
  if (!isLoopback(status.host)) {
    process.stderr.write(`WARNING: listening on ${status.host}: other machines can use this proxy\n`);
  }

  if (options.ui) {
    try {
      ui = await HeadlessServer.start(host, { port: options.uiPort ?? 0, rendererDir: RENDERER_DIR });
    } catch (err) {
      await host.close();
      fail(errorMessage(err), EXIT_FAILURE);
    }
    process.stdout.write(`ui: ${ui.url}\n`);
  }

  if (options.systemProxy !== undefined) {
    const sp = await host.call('systemProxy.set', { enabled: true, mode: options.systemProxy });
    if (sp.state === 'on') {
      const where = sp.mode === 'pac' ? `pac ${sp.pacUrl ?? ''}` : `http://${sp.address ?? ''}`;
      process.stdout.write(`system-proxy: ${where} (${sp.targets.join(', ')})\n`);
    } else {
      // The proxy itself works: keep running, and say plainly that the machine is not pointed at it.
      process.stderr.write(`WARNING: system proxy not switched on: ${sp.message ?? sp.state}\n`);
    }
  }
}

/** Most reasons printed for the entries of one `--mock` file that cannot be played. */
const SKIPPED_SHOWN = 5;

/**
 * The `--mock` files imported and served, with how many mocks each gave; exits naming the file
 * when one cannot be read. Entries that cannot be played are named on stderr, and the rest serve.
 */
async function serveMockFiles(
  host: SluiceHost,
  options: CliOptions,
): Promise<{ readonly file: string; readonly mocks: number }[]> {
  if (options.mockFiles.length === 0) return [];
  host.setMockPlayback({ speed: options.mockSpeed ?? 1, jitterMs: options.mockJitterMs ?? 0 });
  const served: { file: string; mocks: number }[] = [];
  for (const file of options.mockFiles) {
    let result: { mocks: number; skipped: string[] };
    try {
      result = await host.mockHarFile(resolve(file));
    } catch (err) {
      await host.close();
      fail(`cannot use --mock ${file}: ${errorMessage(err)}`, EXIT_FAILURE);
    }
    const { skipped } = result;
    for (const why of skipped.slice(0, SKIPPED_SHOWN)) process.stderr.write(`WARNING: --mock ${file}: ${why}\n`);
    if (skipped.length > SKIPPED_SHOWN) {
      process.stderr.write(
        `WARNING: --mock ${file}: ${skipped.length - SKIPPED_SHOWN} more entries cannot be played\n`,
      );
    }
    served.push({ file, mocks: result.mocks });
  }
  return served;
}

/** The rules in a `--rules` file; exits naming the file and the field at fault when it cannot be used. */
async function readRulesFile(path: string): Promise<StreamRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    fail(`cannot read --rules ${path}: ${errorMessage(err)}`, EXIT_FAILURE);
  }
  try {
    return parseStreamRules(JSON.parse(text));
  } catch (err) {
    fail(`cannot use --rules ${path}: ${errorMessage(err)}`, EXIT_FAILURE);
  }
}

/** Says on stderr when the user's system proxy could not be restored; false then. */
async function reportSystemProxy(host: SluiceHost): Promise<boolean> {
  const status = await host.call('systemProxy.status', {});
  if (status.state !== 'error') return true;
  process.stderr.write(
    `WARNING: your system proxy settings could not be restored: ${status.message ?? 'unknown error'}; ` +
      'they are saved in the data folder and the next start tries again\n',
  );
  return false;
}

/** Writes the HAR for `--har`; says what it wrote, or why it could not, in one line on stderr. */
async function exportHar(host: SluiceHost, file: string, options: CliOptions): Promise<number> {
  try {
    const { entries, incomplete } = await host.writeHarFile(file, {
      redact: options.harRedact,
      redactHeaders: options.harRedactHeaders,
      creator: { name: 'Sluice', version: sluiceVersion() },
    });
    const open = incomplete > 0 ? ` (${incomplete} still open, marked incomplete)` : '';
    process.stderr.write(`sluice: wrote ${entries} exchange${entries === 1 ? '' : 's'}${open} to ${file}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`sluice: cannot write --har ${file}: ${errorMessage(err)}\n`);
    return EXIT_FAILURE;
  }
}

/** The `--har` path when its folder exists and can be written; otherwise exits with one line. */
async function checkHarTarget(file: string): Promise<string> {
  try {
    const folder = await stat(dirname(file));
    if (!folder.isDirectory()) throw new Error(`${dirname(file)} is not a folder`);
    await access(dirname(file), constants.W_OK);
    const existing = await stat(file).catch(() => undefined);
    if (existing?.isDirectory()) throw new Error('it is a folder');
  } catch (err) {
    fail(`cannot write --har ${file}: ${errorMessage(err)}`, EXIT_FAILURE);
  }
  return file;
}

async function readUpstreamCa(file: string): Promise<string> {
  try {
    const pem = await readFile(file, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (err) {
    return fail(`cannot use --upstream-ca ${file}: ${errorMessage(err)}`, EXIT_FAILURE);
  }
}

/** Flags given on the command line hold for this run only; absent ones leave the saved settings be. */
function overridesFrom(options: CliOptions): SettingsOverrides {
  const ms = (s: number | undefined): number | undefined => (s === undefined ? undefined : Math.round(s * 1000));
  const timeouts = defined({
    idleMs: ms(options.idleTimeoutS),
    requestHeaderMs: ms(options.headerTimeoutS),
    upstreamConnectMs: ms(options.connectTimeoutS),
    responseHeaderMs: ms(options.responseTimeoutS),
  });
  return defined({
    proxyHost: options.host,
    proxyPort: options.port,
    insecureUpstream: options.insecureUpstream ? true : undefined,
    passThroughHosts: options.passThrough.length > 0 ? options.passThrough : undefined,
    timeouts: Object.keys(timeouts).length > 0 ? timeouts : undefined,
  }) as SettingsOverrides;
}

function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** `--events ndjson` is the core's event stream: host bookkeeping events stay out of it. */
function isCoreEvent(event: HostEvent): event is ProxyEvent | EventsDroppedEvent {
  return isProxyEventType(event.type) || event.type === 'events-dropped';
}

function listenFailure(code: string | undefined, host: string, port: number, error: string | undefined): string {
  if (code === 'EADDRINUSE') return `port ${port} on ${host} is in use; choose another with --port`;
  if (code === 'EACCES') return `no permission to listen on ${host}:${port}; choose a port above 1023`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return `cannot listen on ${host}: no such local address`;
  return error ?? `cannot listen on ${host}:${port}`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function fail(message: string, code: number): never {
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(code);
}

main(process.argv.slice(2)).catch((err: unknown) => fail(errorMessage(err), EXIT_FAILURE));
