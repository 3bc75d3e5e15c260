import { execFile, type ExecFileException } from 'node:child_process';
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
          if (err) reject(Object.assign(err, { message: failureMessage(file, err, String(stderr), String(stdout)) }));
          else resolve(String(stdout));
        },
      );
    });
}

/**
 * What a user needs from a failed tool: its own words (stderr, else stdout: networksetup prints
 * its errors there), not execFile's echo of the whole command line (for PowerShell, a script).
 */
function failureMessage(file: string, err: ExecFileException, stderr: string, stdout: string): string {
  if (err.code === 'ENOENT') return `${file} was not found`;
  const said = (stderr.trim() || stdout.trim()).split('\n').slice(-5).join(' ').slice(0, 1000);
  if (said) return said;
  return err.killed
    ? `${file} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s`
    : typeof err.code === 'number'
      ? `${file} exited with code ${err.code}`
      : `${file} failed (${err.signal ?? err.message})`;
}
