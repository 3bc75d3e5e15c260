import { randomUUID } from 'node:crypto';
import type { SystemProxyMode, SystemProxyStatus } from '../../app/contract.js';
import { SerialQueue } from '../serial-queue.js';
import { pacUrlFor } from './pac-script.js';
import { OwnerMarkerFile } from './owner-marker.js';
import {
  instanceAnswers,
  recordOwner,
  recoverIfStale,
  switchOff,
  switchOn,
  SwitchRecordStore,
  type OwnerCheck,
} from './switch-record.js';
import type { HostPort, OurProxy, SystemProxyAdapter } from './types.js';

export interface SystemProxySwitchOptions {
  readonly dataDir: string;
  /** Every adapter for this platform; those not available here are left out (and said why). */
  readonly adapters: readonly SystemProxyAdapter<unknown>[];
  /** Whether the Sluice that wrote a record or marker still runs; `instanceAnswers` by default. */
  readonly isOwnerAlive?: OwnerCheck;
  /**
   * Where the one-per-user marker of the Sluice that has the system proxy lives, so Sluices with
   * different data dirs never both apply. The default data dir for the real platform adapters;
   * the data dir itself by default, so a test never writes outside its own folder.
   */
  readonly markerDir?: string;
}

export type SystemProxyListener = (status: SystemProxyStatus) => void;

/**
 * The machine-wide proxy switch of one Sluice: which adapters apply here, the crash record, who
 * owns it (a second Sluice never applies over a live first one) and the status every window, the
 * tray and the CLI show. Changes run one at a time, so a double click cannot interleave two.
 */
export class SystemProxySwitch {
  private readonly store: SwitchRecordStore;
  private readonly listeners = new Set<SystemProxyListener>();
  private current: SystemProxyStatus;
  private readonly queue = new SerialQueue();
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private readonly marker: OwnerMarkerFile;
  private closed = false;

  private constructor(
    private readonly usable: readonly SystemProxyAdapter<unknown>[],
    private readonly options: SystemProxySwitchOptions,
    unsupported: string | undefined,
  ) {
    this.store = new SwitchRecordStore(options.dataDir);
    this.marker = new OwnerMarkerFile(options.markerDir ?? options.dataDir);
    this.current = {
      state: 'off',
      supported: usable.length > 0,
      targets: usable.map((a) => a.name),
      mode: 'manual',
      ...(unsupported !== undefined ? { message: unsupported } : {}),
    };
  }

  /**
   * Finds the adapters that work here and repairs what a crashed Sluice left behind. The notice,
   * when there is one, is for the user (what was restored, or what still needs their attention).
   */
  static async open(
    options: SystemProxySwitchOptions,
  ): Promise<{ proxySwitch: SystemProxySwitch; notice: string | null }> {
    const checks = await Promise.all(
      options.adapters.map(async (a) => ({ adapter: a, availability: await a.available() })),
    );
    const usable = checks.filter((c) => c.availability.ok).map((c) => c.adapter);
    // Adapters may share a reason (no desktop session at all): said once.
    const reasons = [...new Set(checks.flatMap((c) => (c.availability.ok ? [] : [c.availability.reason])))];
    const unsupported =
      usable.length > 0
        ? undefined
        : reasons.length > 0
          ? `The system proxy cannot be changed here: ${reasons.join(' ')}`
          : 'The system proxy cannot be changed on this platform.';
    const proxySwitch = new SystemProxySwitch(usable, options, unsupported);
    let notice: string | null = null;
    try {
      notice = await recoverIfStale(usable, proxySwitch.store, proxySwitch.isAlive);
    } catch (err) {
      notice = `Could not check for system proxy settings left by an earlier Sluice: ${(err as Error).message}`;
    }
    return { proxySwitch, notice };
  }

  status(): SystemProxyStatus {
    return this.current;
  }

  /** This switch's id: in its records, and served by its proxy so others can tell it is alive. */
  get ownerId(): string {
    return this.owner;
  }

  subscribe(listener: SystemProxyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Points the system at `proxy` (again, when it moved); the user's settings from the first time are kept. */
  enable(proxy: HostPort, mode: SystemProxyMode = 'manual'): Promise<SystemProxyStatus> {
    return this.queue.run(async () => {
      if (!this.current.supported) return this.current;
      if (this.closed) return this.set({ state: 'off', message: 'Sluice is quitting.' });
      const owner = await recordOwner(this.store, this.isAlive, this.owner);
      if (owner.kind === 'other') {
        return this.set({ state: 'off', message: otherInstance(owner.record) });
      }
      const marker = await this.marker.read();
      if (marker && marker.owner !== this.owner && (await this.isAlive(marker))) {
        return this.set({ state: 'off', message: otherInstance(marker) });
      }
      const ours: OurProxy = {
        host: proxy.host,
        port: proxy.port,
        ...(mode === 'pac' ? { pacUrl: pacUrlFor(proxy) } : {}),
      };
      try {
        const targets = await switchOn(this.usable, this.store, ours, this.owner);
        // Best effort: the crash record already protects the user; the marker only keeps a Sluice
        // with another data dir from applying over this one.
        await this.marker
          .write({ owner: this.owner, pid: process.pid, proxy, dataDir: this.options.dataDir })
          .catch(() => undefined);
        return this.set({
          state: 'on',
          targets,
          mode,
          address: `${proxy.host}:${proxy.port}`,
          ...(ours.pacUrl !== undefined ? { pacUrl: ours.pacUrl } : {}),
        });
      } catch (err) {
        return this.set({ state: 'error', mode, message: (err as Error).message });
      }
    });
  }

  /** Puts back the user's own settings; leaves another Sluice's switch alone. */
  disable(): Promise<SystemProxyStatus> {
    return this.queue.run(async () => {
      if (!this.current.supported) return this.current;
      const owner = await recordOwner(this.store, this.isAlive, this.owner);
      if (owner.kind === 'other') return this.set({ state: 'off', message: otherInstance(owner.record) });
      try {
        const result = owner.kind === 'self' ? await switchOff(this.usable, this.store) : null;
        await this.marker.removeIfOwnedBy(this.owner).catch(() => undefined);
        const kept = result?.leftAlone ?? [];
        return this.set({
          state: 'off',
          ...(kept.length > 0
            ? {
                message:
                  `Your ${kept.join(' and ')} proxy settings were changed while Sluice had them, ` +
                  'so they were left as you set them.',
              }
            : {}),
        });
      } catch (err) {
        return this.set({ state: 'error', message: (err as Error).message });
      }
    });
  }

  /** Says why a switch did not happen, keeping the state as it is. */
  refuse(message: string): SystemProxyStatus {
    const { address, pacUrl, state } = this.current;
    return this.set({ state, message, ...(address ? { address } : {}), ...(pacUrl ? { pacUrl } : {}) });
  }

  /**
   * On quit: restores the user's settings if this Sluice changed them; no switch-on after this.
   * Resolves with the final status, `error` when the settings could not be restored.
   */
  async close(): Promise<SystemProxyStatus> {
    this.closed = true;
    await this.queue.idle();
    const final = this.current.state !== 'off' ? await this.disable() : this.current;
    this.listeners.clear();
    return final;
  }

  private readonly isAlive: OwnerCheck = (holder) => (this.options.isOwnerAlive ?? instanceAnswers)(holder);

  private set(change: Partial<Omit<SystemProxyStatus, 'supported'>>): SystemProxyStatus {
    // address, pacUrl and message describe one state; a new state starts without the old ones.
    const { address: _a, pacUrl: _p, message: _m, ...rest } = this.current;
    this.current = { ...rest, ...change };
    for (const listener of this.listeners) listener(this.current);
    return this.current;
  }
}

function otherInstance(holder: { pid: number; proxy: HostPort; dataDir?: string }): string {
  const where = holder.dataDir ? `, data folder ${holder.dataDir}` : '';
  return (
    `Another Sluice (process ${holder.pid}${where}) has the system proxy pointed at ` +
    `${holder.proxy.host}:${holder.proxy.port}; switch it off there first.`
  );
}
