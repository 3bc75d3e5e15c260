import { execFile } from 'node:child_process';
import type { CommandRunner } from './types.js';

const COMMAND_TIMEOUT_MS = 10_000;

/**
 * The real runner: no shell (arguments are never parsed again), and a timeout so a hung bus or a
 * stuck system tool cannot hang Sluice. The error keeps the child's `code` (ENOENT: not installed).
 */
export function execCommand(env: NodeJS.ProcessEnv = process.env): CommandRunner {
  return (file, args) =>
    new Promise((resolve, reject) => {
      execFile(
        file,
        [...args],
        { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1 << 20, windowsHide: true },
        (err, stdout, stderr) => {
          if (err) {
            const detail = String(stderr).trim();
            reject(Object.assign(err, { message: detail ? `${err.message}: ${detail}` : err.message }));
          } else resolve(String(stdout));
        },
      );
    });
}
