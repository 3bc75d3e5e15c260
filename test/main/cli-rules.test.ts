import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchViaProxy } from '../helpers/client.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();

describe('sluice --rules', () => {
  it('refuses a rules file with an error at start, naming the field', async () => {
    const dir = await freshDir();
    const file = join(dir, 'faults.json');
    await writeFile(file, JSON.stringify({ rules: [{ name: 'slow', actions: [{ type: 'latency', ms: 'lots' }] }] }));
    const bad = await runCli(['--port', '0', '--no-ui', '--data-dir', dir, '--rules', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      `sluice: cannot use --rules ${file}: rules[0].actions[0].ms: must be a number of milliseconds from 0 to 86400000`,
    );
    expect(bad.stdout).not.toMatch(/^proxy: /m);
    await writeFile(file, '{"rules": [');
    expect((await runCli(['--port', '0', '--no-ui', '--data-dir', dir, '--rules', file])).stderr).toMatch(
      /^sluice: cannot use --rules .*faults\.json: .*JSON/,
    );
  });

  it('applies the file from the start and says how many rules are on', async () => {
    const upstream = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(Array.from({ length: 10 }, (_, i) => `data: ${i}\n\n`).join(''));
    });
    defer(() => upstream.close());
    const dir = await freshDir();
    const file = join(dir, 'faults.json');
    await writeFile(
      file,
      JSON.stringify({
        rules: [
          {
            name: 'cut after 3',
            match: { contentType: 'text/event-stream' },
            actions: [{ type: 'end', afterEvents: 3 }],
          },
          { name: 'off for now', enabled: false, actions: [{ type: 'latency', ms: 1000 }] },
        ],
      }),
    );
    const cli = await startCli(['--port', '0', '--no-ui', '--data-dir', dir, '--rules', file]);
    defer(() => cli.stop('SIGKILL'));
    expect(await cli.line('rules: ')).toBe(`rules: 1 on (${file})`);
    const res = await fetchViaProxy(cli.port, `${upstream.url}/stream`);
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\n');
  });
});
