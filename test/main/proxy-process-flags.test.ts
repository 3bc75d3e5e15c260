import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_PLATFORM_FLAGS, PROXY_PROCESS_NODE_FLAGS } from '../../main/proxy-process-flags.js';
import { CLI } from '../helpers/cli.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();
const PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));
/** What the `node` binary is given when it runs the proxy: the V8 flags, then the platform's. */
const NODE_BINARY_FLAGS = [...PROXY_PROCESS_NODE_FLAGS, ...NODE_PLATFORM_FLAGS];

describe("the proxy process's node flags", () => {
  it("are on the sluice command's first line and in npm start", () => {
    const shebang = readFileSync(CLI, 'utf8').split('\n')[0]!;
    expect(shebang.split(/\s+/).filter((word) => word.startsWith('--'))).toEqual(NODE_BINARY_FLAGS);
    const start = (JSON.parse(readFileSync(PACKAGE, 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(start).toContain(`node ${NODE_BINARY_FLAGS.join(' ')} `);
  });

  it('reach the process when the command is run as itself', async () => {
    const child = spawn(CLI, ['--port', '0', '--no-ui', '--data-dir', await freshDir()], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    defer(async () => {
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line.startsWith('proxy: ') && resolve());
      child.once('exit', (code) => reject(new Error(`sluice exited with ${code}`)));
    });
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of NODE_BINARY_FLAGS) expect(argv).toContain(flag);
  });
});
