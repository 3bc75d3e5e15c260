#!/usr/bin/env node
// The `sluice` command: runs the built CLI. Build first with `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/sluice.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('sluice: not built yet; run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(entry.href);
