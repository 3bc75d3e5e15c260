import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { BodyCapture, CaptureBudget, DEFAULT_CAPTURE } from '../proxy-core/index.js';

/** What capturing a GiB costs when it goes to spill files: HTTP/2's 16 KiB DATA frames, interleaved. */
export interface SpillShape {
  readonly bodies: number;
  readonly partBytes: number;
  readonly totalBytes: number;
}

export interface SpillCost {
  readonly shape: SpillShape;
  /** This process's CPU seconds (all threads: the writes run on libuv's) per GiB captured. */
  readonly cpuSecondsPerGiB: number;
  readonly seconds: number;
  /** Bodies whose capture gave way (the disk fell behind): the figure then covers less. */
  readonly limited: number;
}

/**
 * Past this many bytes on their way to disk the feeding waits, as a network's pace would let the
 * disk keep up: under the capture's own limit (16 MiB), above what a hundred bodies gather before
 * a block of theirs is full (6.4 MiB), which waiting would only let out on the flush timer.
 */
const FEED_BACKLOG_BYTES = 12 << 20;
const FINISH_TIMEOUT_MS = 60_000;

/**
 * Appends `totalBytes` round-robin to `bodies` captures, `partBytes` at a time, and waits until
 * the spill files have every byte. In this process, with nothing else running: the proxy's
 * rows cannot isolate the capture's share from the machine's noise.
 */
export async function measureSpillCost(tmpDir: string, shape: SpillShape): Promise<SpillCost> {
  const dir = await mkdtemp(join(tmpDir, 'spill-cost-'));
  // Every byte captured, so the figure is per GiB spilled: no body reaches the per-body cap.
  const budget = new CaptureBudget({ ...DEFAULT_CAPTURE, maxBytesPerBody: shape.totalBytes }, dir);
  let limited = 0;
  const bodies = Array.from(
    { length: shape.bodies },
    (_, i) => new BodyCapture(budget, `${i}.bin`, () => (limited += 1)),
  );
  const part = Buffer.alloc(shape.partBytes, 0x5a);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  try {
    let sent = 0;
    for (let i = 0; sent < shape.totalBytes; i++) {
      if (budget.spillBacklogBytes >= FEED_BACKLOG_BYTES) await sleep(1);
      else if (i % 64 === 0) await turn();
      bodies[i % bodies.length]!.append(part);
      sent += part.length;
    }
    for (const body of bodies) body.finish();
    const deadline = performance.now() + FINISH_TIMEOUT_MS;
    while (budget.spillBacklogBytes > 0) {
      if (performance.now() > deadline) throw new Error('spill files did not catch up within 60 s');
      await sleep(2);
    }
    const cpu = process.cpuUsage(cpuBefore);
    return {
      shape,
      cpuSecondsPerGiB: (cpu.user + cpu.system) / 1e6 / (shape.totalBytes / 2 ** 30),
      seconds: (performance.now() - started) / 1000,
      limited,
    };
  } finally {
    for (const body of bodies) body.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
