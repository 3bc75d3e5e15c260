import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
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
