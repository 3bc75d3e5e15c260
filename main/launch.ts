import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from './electron-binary.js';

/**
 * What `npm start` runs: the Electron app where Electron can run, else the headless host (the
 * `sluice` command, which prints the UI address). It says in one line which, and why.
 */
const ELECTRON_MAIN = fileURLToPath(new URL('./electron/main.js', import.meta.url));

async function launch(args: readonly string[]): Promise<void> {
  const binary = findElectronBinary();
  if (binary && existsSync(ELECTRON_MAIN)) {
    const child = spawn(binary, [ELECTRON_MAIN, ...args], { stdio: 'inherit' });
    child.on('exit', (code) => process.exit(code ?? 1));
    return;
  }
  const why = binary ? 'the Electron shell is not built yet' : "Electron's binary is not installed here";
  process.stderr.write(`sluice: ${why}; starting the headless host instead (open the ui: address in a browser)\n`);
  await import('./cli/sluice.js');
}

await launch(process.argv.slice(2));
