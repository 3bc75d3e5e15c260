import type { Availability, OurProxy, SystemProxyAdapter } from '../../main/system-proxy/types.js';

export interface MemorySetting {
  proxy: string;
}

/**
 * A desktop's proxy settings held in memory, for what the switch and the host decide (which
 * adapters, order, roll-back, ownership) without touching the machine's own settings; each real
 * adapter has its own tests against the real tool or a fake one.
 */
export class MemoryDesktop implements SystemProxyAdapter<MemorySetting> {
  setting: MemorySetting = { proxy: 'corp:3128' };
  failApply = false;
  failRestore = false;
  readonly log: string[] = [];

  constructor(
    readonly name = 'Memory',
    private readonly availability: Availability = { ok: true },
  ) {}

  available = async (): Promise<Availability> => this.availability;
  read = async (): Promise<MemorySetting> => ({ ...this.setting });
  apply = async (ours: OurProxy): Promise<void> => {
    this.log.push(`apply ${target(ours)}`);
    if (this.failApply) throw new Error(`${this.name} refused`);
    this.setting = { proxy: target(ours) };
  };
  restore = async (previous: MemorySetting): Promise<void> => {
    this.log.push(`restore ${previous.proxy}`);
    if (this.failRestore) throw new Error(`${this.name} would not restore`);
    this.setting = { ...previous };
  };
  pointsAt = (current: MemorySetting, ours: OurProxy): boolean => current.proxy === target(ours);
  isSnapshot = (x: unknown): x is MemorySetting => typeof (x as MemorySetting | null)?.proxy === 'string';
}

function target(ours: OurProxy): string {
  return ours.pacUrl ?? `${ours.host}:${ours.port}`;
}
