import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { TimeoutOptions } from '../../proxy-core/options.js';
import { CaFileError, loadOrCreateCa, SluiceProxy } from '../../proxy-core/index.js';
import { defaultDataDir } from '../data-dir.js';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './args.js';
import { NdjsonWriter } from './ndjson-writer.js';

/** Exit codes scripts can rely on. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

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
    const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };
    process.stdout.write(`sluice ${pkg.version}\n`);
    return;
  }

  const upstreamCaPems = await Promise.all(
    options.upstreamCaFiles.map(async (file) => {
      try {
        const pem = await readFile(file, 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
        return pem;
      } catch (err) {
        return fail(`cannot use --upstream-ca ${file}: ${describe(err)}`, EXIT_FAILURE);
      }
    }),
  );

  const dataDir = options.dataDir ?? defaultDataDir();
  let ca;
  try {
    ca = await loadOrCreateCa(dataDir);
  } catch (err) {
    if (err instanceof CaFileError) fail(err.message, EXIT_FAILURE);
    fail(`cannot use data dir ${dataDir}: ${describe(err)}`, EXIT_FAILURE);
  }
  process.stdout.write(`ca: ${ca.certPath}\n`);

  if (options.insecureUpstream) {
    process.stderr.write(
      'WARNING: --insecure-upstream: upstream TLS certificates are NOT verified; anyone on the path can read and change this traffic\n',
    );
  }
  const proxy = await SluiceProxy.create({
    ca,
    upstreamCaPems,
    insecureUpstream: options.insecureUpstream,
    passThroughHosts: options.passThrough,
    timeouts: timeoutsFrom(options),
  });
  if (options.events === 'ndjson') proxy.subscribe(new NdjsonWriter(process.stdout).write);
  // Handlers go in before the `proxy:` line: a script may signal us the moment it reads it.
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(EXIT_FAILURE);
    stopping = true;
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(EXIT_FAILURE),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    const address = await proxy.listen(options.port, options.host);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    process.stdout.write(`proxy: http://${host}:${address.port}\n`);
  } catch (err) {
    await proxy.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      fail(`port ${options.port} on ${options.host} is in use; choose another with --port`, EXIT_FAILURE);
    if (code === 'EACCES')
      fail(`no permission to listen on ${options.host}:${options.port}; choose a port above 1023`, EXIT_FAILURE);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      fail(`cannot listen on ${options.host}: no such local address`, EXIT_FAILURE);
    fail(`cannot listen on ${options.host}:${options.port}: ${describe(err)}`, EXIT_FAILURE);
  }
  if (!isLoopback(options.host)) {
    process.stderr.write(`WARNING: listening on ${options.host}: other machines can use this proxy\n`);
  }
}

function timeoutsFrom(options: CliOptions): Partial<TimeoutOptions> {
  const ms = (s: number | undefined): number | undefined => (s === undefined ? undefined : Math.round(s * 1000));
  const entries = Object.entries({
    idleMs: ms(options.idleTimeoutS),
    requestHeaderMs: ms(options.headerTimeoutS),
    upstreamConnectMs: ms(options.connectTimeoutS),
    responseHeaderMs: ms(options.responseTimeoutS),
  }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries) as Partial<TimeoutOptions>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function fail(message: string, code: number): never {
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(code);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

main(process.argv.slice(2)).catch((err: unknown) => fail(describe(err), EXIT_FAILURE));
