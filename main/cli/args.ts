import { parseArgs } from 'node:util';

export interface CliOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string | undefined;
  readonly upstreamCaFiles: readonly string[];
  readonly insecureUpstream: boolean;
  readonly events: 'ndjson' | undefined;
  readonly passThrough: readonly string[];
  readonly idleTimeoutS: number | undefined;
  readonly headerTimeoutS: number | undefined;
  readonly connectTimeoutS: number | undefined;
  readonly responseTimeoutS: number | undefined;
  readonly help: boolean;
  readonly version: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: sluice [options]

Runs the Sluice inspecting proxy.

Options:
  --port N                 proxy port (default 8080; 0 picks a free one)
  --host ADDR              address to listen on (default 127.0.0.1)
  --data-dir DIR           where the CA and settings live (default: your config dir)
  --upstream-ca FILE       also trust this CA (PEM) for upstream servers; may repeat
  --insecure-upstream      do not verify upstream TLS certificates (dangerous)
  --pass-through HOST      tunnel this host's TLS untouched ("*.example.com" ok); may repeat
  --events ndjson          print every proxy event as one JSON line on stdout
  --idle-timeout S         close an exchange after S seconds with no bytes either way (default 600)
  --header-timeout S       time a client has to send a request head (default 30)
  --connect-timeout S      time to connect to an upstream (default 30)
  --response-timeout S     time for an upstream to send its response head (default 300)
  --help                   show this help
  --version                print the version

At start it prints "ca: PATH" (the CA certificate to trust) and "proxy: http://HOST:PORT".`;

export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        'upstream-ca': { type: 'string', multiple: true },
        'insecure-upstream': { type: 'boolean' },
        'pass-through': { type: 'string', multiple: true },
        events: { type: 'string' },
        'idle-timeout': { type: 'string' },
        'header-timeout': { type: 'string' },
        'connect-timeout': { type: 'string' },
        'response-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    // One line: scripts read our errors, and Node's parser writes some over three.
    throw new UsageError((err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' '));
  }
  const v = parsed.values;
  if (v.events !== undefined && v.events !== 'ndjson') {
    throw new UsageError(`--events takes "ndjson", not "${v.events}"`);
  }
  const host = v.host ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host needs an address');
  return {
    port: v.port === undefined ? 8080 : parsePort(v.port),
    host,
    dataDir: v['data-dir'],
    upstreamCaFiles: v['upstream-ca'] ?? [],
    insecureUpstream: v['insecure-upstream'] ?? false,
    events: v.events === 'ndjson' ? 'ndjson' : undefined,
    passThrough: v['pass-through'] ?? [],
    idleTimeoutS: seconds('--idle-timeout', v['idle-timeout']),
    headerTimeoutS: seconds('--header-timeout', v['header-timeout']),
    connectTimeoutS: seconds('--connect-timeout', v['connect-timeout']),
    responseTimeoutS: seconds('--response-timeout', v['response-timeout']),
    help: v.help ?? false,
    version: v.version ?? false,
  };
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port takes a number from 0 to 65535, not "${text}"`);
  return port;
}

function seconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`${flag} takes a positive number of seconds, not "${text}"`);
  return value;
}
