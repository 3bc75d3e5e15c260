import { statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fetchViaProxy } from '../helpers/client.js';
import { LAUNCHER, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { startServer } from '../helpers/servers.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir: dataDir } = useCleanup();

async function started(args: string[], entry?: string): Promise<RunningCli> {
  const cli = await startCli(args, entry);
  defer(() => cli.stop('SIGKILL'));
  return cli;
}

describe('the sluice command', () => {
  it('prints ca: and proxy: lines, writes the CA first with a 0600 key, and proxies', async () => {
    const dir = await dataDir();
    const cli = await started(['--port', '0', '--data-dir', dir]);
    expect(cli.stdoutLines[0]).toBe(`ca: ${join(dir, 'ca.pem')}`);
    expect(cli.stdoutLines[1]).toBe(`proxy: http://127.0.0.1:${cli.port}`);
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(await readFile(cli.caPath, 'utf8')).toContain('BEGIN CERTIFICATE');

    const upstream = await startServer((_req, res) => res.end('through'));
    defer(() => upstream.close());
    const res = await fetchViaProxy(cli.port, `${upstream.url}/`);
    expect(res.body.toString()).toBe('through');
  });

  it('exits cleanly on SIGINT and SIGTERM', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const cli = await started(['--port', '0', '--data-dir', await dataDir()]);
      expect(await cli.stop(signal)).toBe(0);
    }
  });

  it('keeps the same CA across runs', async () => {
    const dir = await dataDir();
    const first = await started(['--port', '0', '--data-dir', dir]);
    const pem = await readFile(first.caPath, 'utf8');
    await first.stop();
    const second = await started(['--port', '0', '--data-dir', dir]);
    expect(await readFile(second.caPath, 'utf8')).toBe(pem);
  });

  it('says a port is in use in one line and exits non-zero', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    const result = await runCli(['--port', String(port), '--data-dir', await dataDir()]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `sluice: port ${port} on 127.0.0.1 is in use; choose another with --port`,
    ]);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port', 'eighty'], /--port takes a number/],
    [['--port', '70000'], /--port takes a number/],
    [['--events', 'xml'], /--events takes "ndjson"/],
    [['--idle-timeout=-5'], /--idle-timeout takes a positive number/],
    [['--idle-timeout', 'soon'], /--idle-timeout takes a positive number/],
  ])('rejects bad flags %j with one line and exit 2', async (args, message) => {
    const result = await runCli([...args, '--data-dir', await dataDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('refuses an unreadable or corrupt CA without replacing it', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'ca.pem'), 'not a certificate');
    await writeFile(join(dir, 'ca-key.pem'), 'not a key', { mode: 0o600 });
    const result = await runCli(['--port', '0', '--data-dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CA certificate .*ca\.pem cannot be parsed/);
    expect(await readFile(join(dir, 'ca.pem'), 'utf8')).toBe('not a certificate');
  });

  it('reports an upstream CA file it cannot use', async () => {
    const result = await runCli(['--port', '0', '--data-dir', await dataDir(), '--upstream-ca', '/nonexistent/ca.pem']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot use --upstream-ca \/nonexistent\/ca\.pem/);
  });

  it('reports a data dir it cannot write', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions; a path under a regular file fails for everyone.
      const dir = await dataDir();
      await writeFile(join(dir, 'file'), '');
      const result = await runCli(['--port', '0', '--data-dir', join(dir, 'file', 'sub')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^sluice: /);
      return;
    }
    const dir = await dataDir();
    await mkdir(join(dir, 'locked'));
    await chmod(join(dir, 'locked'), 0o500);
    const result = await runCli(['--port', '0', '--data-dir', join(dir, 'locked', 'sub')]);
    expect(result.code).toBe(1);
  });

  it('warns loudly about --insecure-upstream', async () => {
    const cli = await started(['--port', '0', '--data-dir', await dataDir(), '--insecure-upstream']);
    // stderr is its own pipe: it may arrive a moment after the stdout line we waited for.
    await vi.waitFor(() => expect(cli.stderr()).toMatch(/^WARNING: --insecure-upstream/), { timeout: 3000 });
  });

  it('--events ndjson prints each event as one JSON line', async () => {
    const cli = await started(['--port', '0', '--data-dir', await dataDir(), '--events', 'ndjson']);
    const upstream = await startServer((_req, res) => res.end('x'));
    defer(() => upstream.close());
    await fetchViaProxy(cli.port, `${upstream.url}/ndjson`);
    const deadline = Date.now() + 5000;
    while (!cli.events.some((e) => e.type === 'exchange-closed') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(cli.events.map((e) => e.type)).toEqual(['exchange-opened', 'response-head', 'chunk', 'exchange-closed']);
  });

  it('starts the browser UI guarded by a token and prints its address', async () => {
    const cli = await started(['--port', '0', '--data-dir', await dataDir()]);
    const line = await cli.line('ui: ');
    expect(line).toMatch(/^ui: http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/);
    const url = new URL(line.slice(4));
    expect((await fetch(`${url.origin}/`)).status).toBe(401);
    expect((await fetch(`${url.origin}/?token=wrong`)).status).toBe(401);
    // `npm test` builds the renderer before the tests run: the page is the app.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  });

  it('--no-ui starts no UI; a --ui-port in use is one line and exit 1', async () => {
    const quiet = await started(['--port', '0', '--data-dir', await dataDir(), '--no-ui']);
    await new Promise((r) => setTimeout(r, 200));
    expect(quiet.stdoutLines.some((l) => l.startsWith('ui: '))).toBe(false);

    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    const result = await runCli(['--port', '0', '--ui-port', String(port), '--data-dir', await dataDir()]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([`sluice: ui port ${port} on 127.0.0.1 is in use`]);
  });

  it('flags hold for the run only: --port does not change the saved settings', async () => {
    const dir = await dataDir();
    const cli = await started(['--port', '0', '--data-dir', dir]);
    await cli.stop();
    const saved = await readFile(join(dir, 'settings.json'), 'utf8').catch(() => '{}');
    expect(JSON.parse(saved).proxyPort ?? 8080).toBe(8080);
  });

  it('npm start falls back to the headless host when Electron cannot run, saying so in one line', async () => {
    const cli = await started(['--port', '0', '--data-dir', await dataDir()], LAUNCHER);
    expect(await cli.line('ui: ')).toMatch(/token=/);
    await vi.waitFor(() => expect(cli.stderr()).toContain('starting the headless host'), { timeout: 3000 });
    const reason = cli.stderr().trim().split('\n');
    // Electron's binary cannot be downloaded on this machine; where it can, the shell is not built yet.
    expect(reason).toHaveLength(1);
    expect(reason[0]).toMatch(
      /^sluice: (Electron's binary is not installed here|the Electron shell is not built yet); starting the headless host/,
    );
  });
});
