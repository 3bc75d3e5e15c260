import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type http from 'node:http';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Bound on any one git command in tests, so a stuck clone fails the test instead of hanging it. */
export const GIT_TIMEOUT_MS = 20_000;

/**
 * The environment git runs with in tests: nothing inherited that could change its behaviour
 * (GIT_DIR from a hook, a user's config, proxies or no_proxy lists that would bypass Sluice).
 */
export function gitEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('GIT_') || /^(no|http|https|all)_proxy$/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', ...extra };
}

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs git with a time limit; rejects with git's stderr in the message when it fails. */
export async function git(
  args: readonly string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
): Promise<GitResult> {
  try {
    const { stdout, stderr } = await execFileAsync('git', [...args], {
      cwd: options.cwd,
      env: options.env,
      timeout: GIT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: 64 << 20,
    });
    return { stdout, stderr };
  } catch (err) {
    const failed = err as Error & { stderr?: string; code?: number | string; signal?: string };
    throw new Error(
      `git ${args.join(' ')} failed (${failed.signal ?? failed.code ?? '?'}): ${failed.stderr ?? failed.message}`,
      { cause: err },
    );
  }
}

export interface GitHttpBackend {
  readonly handler: http.RequestListener;
  /** Kills any CGI process still running, for teardown after a failed test. */
  killAll(): void;
}

/**
 * Serves the repositories under `projectRoot` over smart HTTP by running `git http-backend` as
 * a CGI per request. The CGI's stdout is streamed to the client as it comes, so a packfile
 * reaches the proxy in many chunks, the way a real git server sends it.
 */
export function gitHttpBackend(projectRoot: string, env: NodeJS.ProcessEnv): GitHttpBackend {
  const running = new Set<ChildProcess>();
  const handler: http.RequestListener = (req, res) => {
    const child = spawn('git', ['http-backend'], {
      env: { ...env, ...cgiEnv(projectRoot, req) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    child.on('close', () => running.delete(child));
    // The client may leave mid-pack; an orphaned upload-pack would outlive the test.
    res.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => answerFailure(res, `could not run git http-backend: ${err.message}`));
    req.pipe(child.stdin);
    relayCgiResponse(child, res, () => Buffer.concat(stderr).toString());
  };
  return {
    handler,
    killAll: () => {
      for (const child of running) child.kill('SIGKILL');
    },
  };
}

function cgiEnv(projectRoot: string, req: http.IncomingMessage): NodeJS.ProcessEnv {
  const url = new URL(req.url ?? '/', 'http://cgi.invalid');
  const env: NodeJS.ProcessEnv = {
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
  };
  const optional: [string, string][] = [
    ['CONTENT_TYPE', 'content-type'],
    // Absent for chunked bodies (git's large POSTs): http-backend then reads stdin to EOF.
    ['CONTENT_LENGTH', 'content-length'],
    // http-backend inflates gzip request bodies itself when told the encoding.
    ['HTTP_CONTENT_ENCODING', 'content-encoding'],
    // Carries protocol v2 negotiation through to upload-pack.
    ['HTTP_GIT_PROTOCOL', 'git-protocol'],
  ];
  for (const [variable, header] of optional) {
    const value = req.headers[header];
    if (typeof value === 'string') env[variable] = value;
  }
  return env;
}

/**
 * Reads the CGI header block from the child's stdout, answers with it, then pipes the rest of
 * stdout as the body without buffering it.
 */
function relayCgiResponse(child: ChildProcess, res: http.ServerResponse, stderr: () => string): void {
  const stdout = child.stdout;
  if (!stdout) throw new Error('git http-backend has no stdout');
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (!end) return;
    stdout.off('data', onData);
    stdout.off('end', onEndBeforeHeaders);
    stdout.pause();
    const { status, headers } = parseCgiHeaders(head.subarray(0, end.at).toString('latin1'));
    res.writeHead(status, headers);
    const rest = head.subarray(end.at + end.length);
    if (rest.length > 0) res.write(rest);
    stdout.pipe(res);
  };
  const onEndBeforeHeaders = (): void => {
    answerFailure(res, `git http-backend ended without a response head: ${stderr()}`);
  };
  stdout.on('data', onData);
  stdout.on('end', onEndBeforeHeaders);
}

function headerEnd(buffer: Buffer): { at: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { status: number; headers: http.OutgoingHttpHeaders } {
  let status = 200;
  const headers: Record<string, string[]> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      status = Number.parseInt(value, 10) || 500;
      continue;
    }
    (headers[name] ??= []).push(value);
  }
  return { status, headers };
}

function answerFailure(res: http.ServerResponse, detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { 'Content-Type': 'text/plain' });
  res.end(`${detail}\n`);
}
