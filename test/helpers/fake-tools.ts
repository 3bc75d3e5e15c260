import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './temp-dir.js';

/**
 * Stand-ins for system tools (networksetup, reg, kwriteconfig5, ...): real executables on a private
 * PATH that record every call and answer like the real tool from a JSON state file, so adapters
 * run their real `execFile` path and tests assert the exact commands.
 *
 * A tool's body is JavaScript run as a function of `args` (string[]), `state` (an object saved
 * after the call), `out(text)` (stdout), `err(text)` (stderr) and `exit(code)`.
 */
export interface FakeTools {
  /** The folder holding `bin/`, the state and the call log. */
  readonly dir: string;
  /** PATH is only our `bin/`, so real tools are never found by accident. */
  readonly env: NodeJS.ProcessEnv;
  /** Every call so far, in order: the tool's name and its arguments. */
  calls(): Promise<FakeCall[]>;
  /** Forgets the calls made so far. */
  clearCalls(): Promise<void>;
  state<T = Record<string, unknown>>(): Promise<T>;
  setState(state: unknown): Promise<void>;
  remove(): Promise<void>;
}

export interface FakeCall {
  tool: string;
  args: string[];
}

export async function fakeTools(tools: Record<string, string>, initialState: unknown = {}): Promise<FakeTools> {
  const dir = await tempDir('sluice-fake-tools-');
  const bin = join(dir.path, 'bin');
  const statePath = join(dir.path, 'state.json');
  const callsPath = join(dir.path, 'calls.jsonl');
  await mkdir(bin);
  await writeFile(statePath, JSON.stringify(initialState));
  await writeFile(callsPath, '');
  for (const [name, body] of Object.entries(tools)) {
    const file = join(bin, name);
    await writeFile(file, script(name, body, statePath, callsPath));
    await chmod(file, 0o755);
  }
  return {
    dir: dir.path,
    env: { PATH: bin, HOME: dir.path, LANG: 'C' },
    calls: async () =>
      (await readFile(callsPath, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FakeCall),
    clearCalls: () => writeFile(callsPath, ''),
    state: async <T>() => JSON.parse(await readFile(statePath, 'utf8')) as T,
    setState: (state) => writeFile(statePath, JSON.stringify(state)),
    remove: dir.remove,
  };
}

function script(name: string, body: string, statePath: string, callsPath: string): string {
  // Adapters may run a tool several times at once (macOS: one network service each). Each call
  // reads, changes and writes the state under a lock, and the file is replaced atomically, as the
  // real tools' settings stores apply one change whole.
  return `#!${process.execPath}
'use strict';
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(callsPath)}, JSON.stringify({ tool: ${JSON.stringify(name)}, args }) + '\\n');
const statePath = ${JSON.stringify(statePath)};
const lock = statePath + '.lock';
const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  try { fs.mkdirSync(lock); break; } catch (e) { if (e.code !== 'EEXIST') throw e; Atomics.wait(nap, 0, 0, 2); }
}
let code = 0;
try {
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
  const out = (text) => process.stdout.write(text);
  const err = (text) => process.stderr.write(text);
  const exit = (c) => { code = c; throw { __fakeExit: true }; };
  try {
    (function () {
${body}
    })();
  } catch (e) {
    if (!(e && e.__fakeExit)) { process.stderr.write(String(e && e.stack || e)); code = 99; }
  }
  fs.writeFileSync(statePath + '.tmp', JSON.stringify(state));
  fs.renameSync(statePath + '.tmp', statePath);
} finally {
  fs.rmdirSync(lock);
}
process.exitCode = code;
`;
}
