import { parseArgs } from 'node:util';
import { errorMessage } from '../../app/error-message.js';
import { parseMockSpeed } from '../../app/mocks.js';

export interface CliOptions {
  /** Undefined when not given: the saved setting (default 8080) applies. */
  readonly port: number | undefined;
  readonly host: string | undefined;
  readonly dataDir: string | undefined;
  readonly upstreamCaFiles: readonly string[];
  readonly insecureUpstream: boolean;
  readonly events: 'ndjson' | undefined;
  readonly passThrough: readonly string[];
  readonly idleTimeoutS: number | undefined;
  readonly headerTimeoutS: number | undefined;
  readonly connectTimeoutS: number | undefined;
  readonly responseTimeoutS: number | undefined;
  readonly uiPort: number | undefined;
  readonly ui: boolean;
  /** Write the capture as HAR to this file on exit. */
  readonly har: string | undefined;
  /** Redact Authorization, Cookie, Set-Cookie and `harRedactHeaders` in the HAR. */
  readonly harRedact: boolean;
  readonly harRedactHeaders: readonly string[];
  /** Schemas for gRPC messages: .proto files, or descriptor sets (any other extension). */
  readonly protoFiles: readonly string[];
  /** Where imports of those .proto files are looked up, after each file's own folder. */
  readonly protoPaths: readonly string[];
  /** A stream rules file (JSON, app/stream-rules.ts) applied from the start. */
  readonly rulesFile: string | undefined;
  /** HAR files whose entries are served as mocks (imported, then played in the upstream's place). */
  readonly mockFiles: readonly string[];
  /** The mocks' speed factor (0: as fast as possible); undefined: as recorded. */
  readonly mockSpeed: number | undefined;
  /** Each mock wait moved by up to this many ms, at random. */
  readonly mockJitterMs: number | undefined;
  /** Point the machine's proxy settings at Sluice while it runs, directly or through a PAC script. */
  readonly systemProxy: 'manual' | 'pac' | undefined;
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
  --ui-port N              port of the browser UI (default: a free one)
  --no-ui                  do not start the browser UI
  --har FILE               on exit (also Ctrl-C, SIGTERM) write every kept exchange to FILE as HAR 1.2
  --har-redact             in the HAR, hide the values of Authorization, Cookie and Set-Cookie,
                           and URL passwords and secret-looking query values (token, key, ...)
  --har-redact-header NAME also hide this header's values (implies --har-redact); may repeat
  --proto FILE             decode gRPC, gRPC-Web and Connect messages with this schema: a .proto
                           file, or a descriptor set (protoc --descriptor_set_out); may repeat
  --proto-path DIR         look up the imports of --proto files here too (as protoc -I); may repeat
  --rules FILE             apply the stream rules in FILE (JSON: slow, stall, cut, reset or answer
                           matching streams; see docs/stream-rules.md); a bad file is refused at start
  --mock FILE.har          serve each entry of this HAR (ours, or a browser's, EventSource
                           messages included) as a mock: a request with the same method and URL
                           gets the recorded response at its recorded pace, no upstream asked;
                           may repeat
  --mock-speed X           play mocks X times as fast (0.5, 2, ...) or "fast" (no waits)
  --mock-jitter MS         move each mock wait by up to MS ms either way, at random
  --system-proxy           while running, point this machine's proxy settings at Sluice; the
                           previous settings come back on exit (and after a crash, at next start)
  --system-proxy-pac       the same through a PAC script that goes direct when Sluice is not answering
  --idle-timeout S         close an exchange after S seconds with no bytes either way (default 600)
  --header-timeout S       time a client has to send a request head (default 30)
  --connect-timeout S      time to connect to an upstream (default 30)
  --response-timeout S     time for an upstream to send its response head (default 300)
  --help                   show this help
  --version                print the version

At start it prints "ca: PATH" (the CA certificate to trust), "proxy: http://HOST:PORT" and, unless
--no-ui, "ui: http://127.0.0.1:PORT/?token=..." (open it in a browser); with --system-proxy,
"system-proxy: http://HOST:PORT (GNOME, KDE)" naming the settings changed; with --rules,
"rules: N on (FILE)"; with --mock, "mocks: N (FILE)" for each file. --port and --host given
here are for this run; the saved settings keep their own.`;

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
        'ui-port': { type: 'string' },
        'no-ui': { type: 'boolean' },
        har: { type: 'string' },
        'har-redact': { type: 'boolean' },
        'har-redact-header': { type: 'string', multiple: true },
        proto: { type: 'string', multiple: true },
        'proto-path': { type: 'string', multiple: true },
        rules: { type: 'string' },
        mock: { type: 'string', multiple: true },
        'mock-speed': { type: 'string' },
        'mock-jitter': { type: 'string' },
        'system-proxy': { type: 'boolean' },
        'system-proxy-pac': { type: 'boolean' },
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
    throw new UsageError(errorMessage(err).replace(/\s*\n\s*/g, ' '));
  }
  const v = parsed.values;
  if (v.events !== undefined && v.events !== 'ndjson') {
    throw new UsageError(`--events takes "ndjson", not "${v.events}"`);
  }
  if (v.host !== undefined && v.host.trim() === '') throw new UsageError('--host needs an address');
  if (v['no-ui'] && v['ui-port'] !== undefined) throw new UsageError('--ui-port and --no-ui do not go together');
  if (v.har !== undefined && v.har.trim() === '') throw new UsageError('--har needs a file name');
  if (v.rules !== undefined && v.rules.trim() === '') throw new UsageError('--rules needs a file name');
  const harRedactHeaders = v['har-redact-header'] ?? [];
  if (harRedactHeaders.some((name) => !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name))) {
    throw new UsageError('--har-redact-header takes a header name, e.g. x-api-key');
  }
  if (v.proto === undefined && v['proto-path'] !== undefined) {
    throw new UsageError('--proto-path goes with --proto FILE');
  }
  if (v.har === undefined && (v['har-redact'] || harRedactHeaders.length > 0)) {
    throw new UsageError('--har-redact and --har-redact-header go with --har FILE');
  }
  const mockFiles = v.mock ?? [];
  if (mockFiles.some((file) => file.trim() === '')) throw new UsageError('--mock needs a HAR file name');
  if (mockFiles.length === 0 && (v['mock-speed'] !== undefined || v['mock-jitter'] !== undefined)) {
    throw new UsageError('--mock-speed and --mock-jitter go with --mock FILE.har');
  }
  const mockSpeed = v['mock-speed'] === undefined ? undefined : parseMockSpeed(v['mock-speed']);
  if (v['mock-speed'] !== undefined && mockSpeed === undefined) {
    throw new UsageError(`--mock-speed takes a factor like 0.5 or 2, or "fast", not "${v['mock-speed']}"`);
  }
  const mockJitter = v['mock-jitter'];
  if (mockJitter !== undefined && !(/^\d+(\.\d+)?$/.test(mockJitter) && Number(mockJitter) <= 60_000)) {
    throw new UsageError(`--mock-jitter takes a number of ms from 0 to 60000, not "${mockJitter}"`);
  }
  return {
    port: v.port === undefined ? undefined : parsePort('--port', v.port),
    host: v.host,
    dataDir: v['data-dir'],
    upstreamCaFiles: v['upstream-ca'] ?? [],
    insecureUpstream: v['insecure-upstream'] ?? false,
    events: v.events === 'ndjson' ? 'ndjson' : undefined,
    passThrough: v['pass-through'] ?? [],
    idleTimeoutS: seconds('--idle-timeout', v['idle-timeout']),
    headerTimeoutS: seconds('--header-timeout', v['header-timeout']),
    connectTimeoutS: seconds('--connect-timeout', v['connect-timeout']),
    responseTimeoutS: seconds('--response-timeout', v['response-timeout']),
    uiPort: v['ui-port'] === undefined ? undefined : parsePort('--ui-port', v['ui-port']),
    ui: !(v['no-ui'] ?? false),
    har: v.har,
    harRedact: (v['har-redact'] ?? false) || harRedactHeaders.length > 0,
    harRedactHeaders,
    protoFiles: v.proto ?? [],
    protoPaths: v['proto-path'] ?? [],
    rulesFile: v.rules,
    mockFiles,
    mockSpeed,
    mockJitterMs: mockJitter === undefined ? undefined : Number(mockJitter),
    systemProxy: v['system-proxy-pac'] ? 'pac' : v['system-proxy'] ? 'manual' : undefined,
    help: v.help ?? false,
    version: v.version ?? false,
  };
}

function parsePort(flag: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new UsageError(`${flag} takes a number from 0 to 65535, not "${text}"`);
  return port;
}

function seconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`${flag} takes a positive number of seconds, not "${text}"`);
  return value;
}
