import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { headerValue } from '../../app/proxy-events.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  childEnvWithGrpcProxy,
  closedOf,
  describeExchange,
  type EchoHandlers,
  grpcExchanges,
  METHODS,
  pingPong,
  PROXY_ENV_VARS,
  signals,
  startGrpcServer,
} from '../helpers/grpc.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

/**
 * A second gRPC implementation through Sluice: gRPC core, via Debian's python3-grpcio (which is
 * for /usr/bin/python3, not whatever `python3` is first on PATH). It reads `grpc_proxy` as users
 * set it, sends CONNECT, and speaks TLS (ALPN h2) to Sluice's certificate inside.
 *
 * The upstream runs in this process, so Python runs asynchronously (spawn): a blocking call would
 * stop the loop the upstream needs.
 */

const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../fixtures/grpc/echo_client.py', import.meta.url));
const RUN_LIMIT_MS = 25_000;
const MESSAGE_WAIT_MS = 5000;

/** Whether Debian's grpcio can be imported; checked before any upstream exists, so a sync call is fine. */
function pythonGrpc(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import grpc'], { encoding: 'utf8', timeout: 15_000 });
  if (probe.error) return { ok: false, reason: `${PYTHON} could not run: ${probe.error.message}` };
  if (probe.status !== 0) {
    return { ok: false, reason: `${PYTHON} cannot import grpc (install python3-grpcio): ${probe.stderr.trim()}` };
  }
  return { ok: true };
}

const python = pythonGrpc();
const title = python.ok
  ? 'gRPC through Sluice with Python (grpcio, gRPC core) as the client'
  : `gRPC through Sluice with Python as the client (skipped: ${python.reason})`;

interface PythonLine {
  got?: string;
  status?: string;
  error?: string;
  details?: string;
  trailers?: Record<string, string>;
  raw?: string;
}

interface PythonRun {
  readonly code: number | null;
  readonly lines: PythonLine[];
  readonly stderr: string;
}

/**
 * Runs the Python client with `grpc_proxy` pointing at the proxy; `onLine` sees each JSON line as
 * it is printed. Killed after RUN_LIMIT_MS whatever happens.
 */
function runPython(args: string[], proxyPort: number, onLine: (line: PythonLine) => void = () => {}) {
  const child = spawn(PYTHON, [CLIENT, ...args], {
    env: { ...childEnvWithGrpcProxy(proxyPort), GRPC_VERBOSITY: 'ERROR' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: PythonLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    partial += text;
    let newline: number;
    while ((newline = partial.indexOf('\n')) >= 0) {
      const text = partial.slice(0, newline);
      let line: PythonLine;
      try {
        line = JSON.parse(text) as PythonLine;
      } catch {
        line = { raw: text }; // not ours: kept, so the assertion on the lines shows it
      }
      partial = partial.slice(newline + 1);
      lines.push(line);
      onLine(line);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  const done = new Promise<PythonRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stderr });
    });
  });
  return { child, done };
}

let authority: UpstreamAuthority;
beforeAll(async () => {
  if (python.ok) authority = await makeUpstreamAuthority();
});
afterAll(async () => {
  await authority?.remove();
});

const { defer, freshDir } = useCleanup();

interface Rig {
  readonly proxy: TestProxy;
  readonly upstreamPort: number;
  readonly caPath: string;
}

async function rig(handlers: EchoHandlers): Promise<Rig> {
  const proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  defer(() => proxy.close());
  const upstream = await startGrpcServer(handlers, authority);
  defer(() => upstream.close());
  const caPath = join(await freshDir(), 'sluice-ca.pem');
  await writeFile(caPath, proxy.caPem);
  // The child gets our environment with only grpc_proxy set among the proxy variables.
  const env = childEnvWithGrpcProxy(proxy.port);
  for (const name of PROXY_ENV_VARS) if (name !== 'grpc_proxy') expect(env[name]).toBeUndefined();
  return { proxy, upstreamPort: upstream.port, caPath };
}

/** The one HTTP/2 exchange Sluice recorded for `path`, intercepted, closed. */
async function throughSluice(r: Rig, path: string) {
  const opened = grpcExchanges(r.proxy.events, path);
  expect(opened, JSON.stringify(r.proxy.events.filter((e) => e.type !== 'chunk'))).toHaveLength(1);
  const [exchange] = opened as [ExchangeOpenedEvent];
  expect(exchange.request.httpVersion).toBe('2');
  expect(exchange.streamId).toBeGreaterThan(0);
  expect(exchange.intercepted).toBe(true);
  expect(exchange.request.url).toBe(`https://localhost:${r.upstreamPort}${path}`);
  // gRPC core, not grpc-js, was on the other end.
  expect(headerValue(exchange.request.headers, 'user-agent')).toMatch(/grpc-python/);
  await r.proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === exchange.id);
  return { opened: exchange, closed: closedOf(r.proxy.events, exchange.id)! };
}

describe.skipIf(!python.ok)(title, () => {
  it('server streaming: each message reaches Python before the server sends the next', async () => {
    const count = 15;
    const received = signals(count);
    let sent = 0;
    const sentWhenPrinted: number[] = [];
    const r = await rig({
      serverStream: (call) => {
        const n = Number(call.request.toString());
        void (async () => {
          for (let i = 0; i < n && i < count; i++) {
            call.write(Buffer.from(`message ${i}`));
            sent += 1;
            await received[i]!.wait(MESSAGE_WAIT_MS, `Python to print message ${i}`);
          }
          const trailer = new grpc.Metadata();
          trailer.set('x-sent', String(sent));
          call.end(trailer);
        })().catch((err: Error) => call.emit('error', { code: grpc.status.INTERNAL, details: err.message }));
      },
    });
    let printed = 0;
    const { done } = runPython(
      ['server-stream', `localhost:${r.upstreamPort}`, r.caPath, String(count)],
      r.proxy.port,
      (line) => {
        if (line.got === undefined) return;
        sentWhenPrinted.push(sent);
        received[printed]?.fire();
        printed += 1;
      },
    );
    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    const messages = Array.from({ length: count }, (_, i) => ({ got: `message ${i}` }));
    expect(run.lines).toEqual([...messages, { status: 'OK', trailers: { 'x-sent': String(count) } }]);
    expect(sentWhenPrinted).toEqual(Array.from({ length: count }, (_, i) => i + 1));

    const { opened, closed } = await throughSluice(r, METHODS.serverStream);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });

  it('bidi ping-pong: Python sends each ping only after the previous pong came back', async () => {
    const rounds = 10;
    const log: string[] = [];
    const r = await rig({ bidi: pingPong(log) });
    const { done } = runPython(
      ['bidi', `localhost:${r.upstreamPort}`, r.caPath, String(rounds)],
      r.proxy.port,
      (line) => {
        if (line.got !== undefined) log.push(`python got ${line.got}`);
      },
    );
    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    const pongs = Array.from({ length: rounds }, (_, i) => ({ got: `pong ${i}` }));
    expect(run.lines).toEqual([...pongs, { status: 'OK', trailers: {} }]);
    // Strictly alternating: ping i reached the server only after pong i - 1 reached Python.
    expect(log).toEqual(
      Array.from({ length: rounds }, (_, i) => [`server got ping ${i}`, `python got pong ${i}`]).flat(),
    );

    const { opened, closed } = await throughSluice(r, METHODS.bidi);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });

  it('an error status with details and trailer metadata reaches Python exactly', async () => {
    const r = await rig({
      unary: (call, callback) => {
        const trailer = new grpc.Metadata();
        trailer.set('x-reason', `refused ${call.request.toString()}`);
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'the bucket is frozen', metadata: trailer });
      },
    });
    const run = await runPython(['unary', `localhost:${r.upstreamPort}`, r.caPath], r.proxy.port).done;
    expect(run.code, run.stderr).toBe(0);
    // A trailers-only answer: its one header block is the trailers, so the `date` Node's HTTP/2
    // server adds to it shows among them (it does without Sluice too).
    const { date, ...trailers } = run.lines[0]?.trailers ?? {};
    expect(date).toMatch(/GMT$/);
    expect({ ...run.lines[0], trailers }).toEqual({
      error: 'FAILED_PRECONDITION',
      details: 'the bucket is frozen',
      trailers: { 'x-reason': 'refused hello from python' },
    });
    expect(run.lines).toHaveLength(1);
    const { opened, closed } = await throughSluice(r, METHODS.unary);
    expect(closed.outcome, describeExchange(r.proxy.events, opened.id)).toBe('completed');
  });
});
