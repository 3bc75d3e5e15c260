/**
 * Imported before SQLite's WASM module so that it compiles with V8's baseline compiler (Liftoff)
 * only. Measured on the capture store's workload (Node 20): TurboFan's tier-up left the process
 * about 31 MiB larger for good and cost more CPU than it saved (100,000 row inserts: 1.3–1.4 s
 * of CPU with it, 0.9–1.0 s without), since the time goes to the JavaScript glue and file calls
 * rather than to SQLite's own code. V8 flags are per process: SQLite is the only WASM Sluice runs.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
