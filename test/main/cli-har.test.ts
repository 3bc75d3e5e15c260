import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Har } from '../../main/har/har-types.js';
import { fetchViaProxy } from '../helpers/client.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { useCleanup } from '../helpers/cleanup.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();
const validate = harValidator();

async function started(args: string[]): Promise<RunningCli> {
  const cli = await startCli(args);
  defer(() => cli.stop('SIGKILL'));
  return cli;
}

describe('sluice --har', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('writes a valid HAR on %s and says so', async (signal) => {
    const server = await startServer((_req, res) => res.end('through'));
    defer(() => server.close());
    const dir = await freshDir();
    const file = join(dir, 'out.har');
    const cli = await started(['--port', '0', '--no-ui', '--data-dir', await freshDir(), '--har', file]);
    await fetchViaProxy(cli.port, `${server.url}/a`, { headers: { authorization: 'Bearer sk-live' } });
    await fetchViaProxy(cli.port, `${server.url}/b`);

    expect(await cli.stop(signal)).toBe(0);
    expect(cli.stderr()).toBe(`sluice: wrote 2 exchanges to ${file}\n`);
    const har = JSON.parse(await readFile(file, 'utf8')) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    expect(har.log.creator.name).toBe('Sluice');
    expect(har.log.entries.map((e) => e.response.content.text)).toEqual(['through', 'through']);
    expect(JSON.stringify(har)).toContain('sk-live');
    expect(await readdir(dir)).toEqual(['out.har']);
  });

  it('redacts with --har-redact and --har-redact-header', async () => {
    const server = await startServer((_req, res) => res.end('ok'));
    defer(() => server.close());
    const file = join(await freshDir(), 'out.har');
    const cli = await started([
      ...['--port', '0', '--no-ui', '--data-dir', await freshDir()],
      ...['--har', file, '--har-redact', '--har-redact-header', 'X-Api-Key'],
    ]);
    await fetchViaProxy(cli.port, `${server.url}/`, {
      headers: { authorization: 'Bearer sk-live', cookie: 'session=s3cret', 'x-api-key': 'k-123' },
    });
    expect(await cli.stop('SIGTERM')).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(validate(JSON.parse(text)), harErrors(validate)).toBe(true);
    for (const secret of ['sk-live', 's3cret', 'k-123']) expect(text).not.toContain(secret);
  });

  it('refuses at start, in one line, a --har file that could not be written', async () => {
    const file = join(await freshDir(), 'missing', 'out.har');
    const result = await runCli(['--port', '0', '--no-ui', '--data-dir', await freshDir(), '--har', file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^sluice: cannot write --har .*out\.har: .*ENOENT/);
  });

  it('says in one line and exits 1 when the file cannot be written at exit', async () => {
    const dir = await freshDir();
    const folder = join(dir, 'gone');
    await mkdir(folder);
    const file = join(folder, 'out.har');
    const cli = await started(['--port', '0', '--no-ui', '--data-dir', await freshDir(), '--har', file]);
    await rm(folder, { recursive: true });
    expect(await cli.stop('SIGINT')).toBe(1);
    expect(cli.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^sluice: cannot write --har .*ENOENT/)]);
  });

  it('a kept capture outlives a crash of Sluice; one that is not kept starts anew after one', async () => {
    const server = await startServer((req, res) => res.end(`answer to ${req.url}`));
    defer(() => server.close());
    const dataDir = await freshDir();
    const settings = (keepCapture: boolean): Promise<void> =>
      writeFile(join(dataDir, 'settings.json'), JSON.stringify({ version: 1, keepCapture }));
    /** Runs Sluice, fetches `path` through it, and kills it once the exchange is in the capture's files. */
    const crashAfter = async (path: string): Promise<void> => {
      const cli = await started(['--port', '0', '--no-ui', '--data-dir', dataDir]);
      const folder = join(dataDir, 'capture');
      let last = await filesIn(folder);
      await fetchViaProxy(cli.port, `${server.url}${path}`);
      // Written, then quiet for 100 ms: the kill comes after the store's write, not in its middle.
      let changed = false;
      for (let i = 0; ; i++) {
        if (i === 50) throw new Error(`${path} was not written to the capture's files within 5 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const now = await filesIn(folder);
        if (changed && now === last) break;
        changed ||= now !== last;
        last = now;
      }
      await cli.stop('SIGKILL');
    };
    /** What the next start shows, as its HAR on exit says. */
    const shownNext = async (): Promise<(string | undefined)[]> => {
      const file = join(await freshDir(), 'out.har');
      const cli = await started(['--port', '0', '--no-ui', '--data-dir', dataDir, '--har', file]);
      expect((await fetchViaProxy(cli.port, `${server.url}/still-proxies`)).body.toString()).toBe(
        'answer to /still-proxies',
      );
      expect(await cli.stop('SIGTERM')).toBe(0);
      const har = JSON.parse(await readFile(file, 'utf8')) as Har;
      return har.log.entries.map((e) => e.response.content.text);
    };

    await settings(true);
    await crashAfter('/kept');
    expect(await shownNext()).toEqual(['answer to /kept', 'answer to /still-proxies']);

    await settings(false);
    await crashAfter('/not-kept');
    expect(await shownNext()).toEqual(['answer to /still-proxies']);
  });

  it.each([
    [['--har-redact'], /--har-redact and --har-redact-header go with --har FILE/],
    [['--har', ''], /--har needs a file name/],
    [['--har', 'x.har', '--har-redact-header', 'bad name'], /--har-redact-header takes a header name/],
  ])('rejects %j with one line and exit 2', async (args, message) => {
    const result = await runCli([...args, '--data-dir', await freshDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});

/** The names, sizes and change times of the files in `dir`: any write changes it. */
async function filesIn(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => []);
  const files = await Promise.all(
    names.map(async (name) => {
      const info = await stat(join(dir, name)).catch(() => undefined);
      return `${name}:${info?.size}:${info?.mtimeMs}`;
    }),
  );
  return files.sort().join(' ');
}
