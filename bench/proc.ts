import { readFile } from 'node:fs/promises';

/** A process's resident set size in bytes, from /proc (Linux only). */
export async function readRss(pid: number): Promise<number> {
  return readStatusField(pid, 'VmRSS');
}

/** The most resident memory the process has ever had, as the kernel counts it. */
export async function readPeakRss(pid: number): Promise<number> {
  return readStatusField(pid, 'VmHWM');
}

async function readStatusField(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Samples a process's RSS every `intervalMs` until stopped and keeps the peak. Sampling is a
 * file read in the bench process, so it costs the measured process nothing.
 */
export class RssSampler {
  peak = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;
  private reading = false;

  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    void this.sample();
  }

  /** Stops sampling after one last sample, so a peak at the very end is not missed. */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.sample();
    return this.peak;
  }

  private async sample(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      this.peak = Math.max(this.peak, await readRss(this.pid));
      this.samples++;
    } catch {
      // The process may have exited between samples; the peak so far stands.
    } finally {
      this.reading = false;
    }
  }
}

/** Clock ticks per second for /proc times; 100 on every Linux we run on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export async function readCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields we want are counted after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds this process has used so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The soft limit on open files (ulimit -n) of a process, from /proc/<pid>/limits. */
export async function readOpenFileLimit(pid: number | 'self'): Promise<number> {
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  if (!match?.[1]) throw new Error(`no open-files limit in /proc/${pid}/limits`);
  return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}
