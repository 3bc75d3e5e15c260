import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ProxyEvent } from '../../app/proxy-events.js';

export const CLI = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/main/cli/sluice.js', import.meta.url));

export interface RunningCli {
  readonly child: ChildProcess;
  readonly port: number;
  readonly caPath: string;
  readonly stdoutLines: string[];
  readonly events: ProxyEvent[];
  stderr(): string;
  /** The first stdout line starting with `prefix`, waiting for it up to `ms`. */
  line(prefix: string, ms?: number): Promise<string>;
  /** Resident memory of the proxy process now, in bytes (Linux). */
  rss(): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const LAUNCHER = fileURLToPath(new URL('../../dist/main/launch.js', import.meta.url));

/** Starts the real `sluice` command (or another entry, e.g. the npm start launcher) and waits for its `proxy:` line. */
export async function startCli(args: string[], entry = CLI, env: NodeJS.ProcessEnv = process.env): Promise<RunningCli> {
  if (!existsSync(BUILT)) throw new Error('the CLI is not built: run `npm run build` (npm test does)');
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const stdoutLines: string[] = [];
  const events: ProxyEvent[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const started = new Promise<{ port: number; caPath: string }>((resolve, reject) => {
    let caPath = '';
    lines.on('line', (line) => {
      stdoutLines.push(line);
      if (line.startsWith('{')) events.push(JSON.parse(line) as ProxyEvent);
      else if (line.startsWith('ca: ')) caPath = line.slice(4);
      else if (line.startsWith('proxy: ')) resolve({ port: Number(new URL(line.slice(7)).port), caPath });
    });
    child.once('exit', (code) => reject(new Error(`sluice exited with ${code} before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`sluice did not start within 10 s: ${stderr}`)), 10_000).unref();
  });
  // A start that failed or took too long must not leave the process running after the test.
  started.catch(() => child.kill('SIGKILL'));
  const { port, caPath } = await started;
  return {
    child,
    port,
    caPath,
    stdoutLines,
    events,
    stderr: () => stderr,
    line: async (prefix, ms = 5000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = stdoutLines.find((l) => l.startsWith(prefix));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no "${prefix}" line within ${ms} ms: ${stdoutLines.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        // A child killed by a signal has no exit code, only a signal code.
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve(child.exitCode);
          return;
        }
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Runs the CLI to completion (for commands that exit), with a time bound. */
export function runCli(args: string[], ms = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
