#!/usr/bin/env -S node --initial-old-space-size=32 --max-semi-space-size=4 --v8-pool-size=1
// The `sluice` command: runs the built CLI. Build first with `npm run build`. The flags on the
// first line are the proxy process's (main/proxy-process-flags.ts says why); run it as `sluice` or
// `./bin/sluice.js` to have them (`node bin/sluice.js` works too, without them).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/sluice.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('sluice: not built yet; run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(entry.href);
