import { bracketHost } from '../../proxy-core/index.js';

/**
 * Everything GNOME keeps under `org.gnome.system.proxy` and its children, so a restore can write
 * back exactly what the user had (a PAC URL, another manual proxy, its bypass list, credentials),
 * not merely "proxy off". Credentials are kept because dropping them would break the user's proxy
 * on restore; the crash record holding them is written 0600.
 */
export type GnomeProxyMode = 'none' | 'manual' | 'auto';

export interface HostPort {
  host: string;
  port: number;
}

export interface GnomeProxySnapshot {
  mode: GnomeProxyMode;
  autoconfigUrl: string;
  ignoreHosts: string[];
  useSameProxy: boolean;
  http: HostPort & {
    /** Deprecated by GNOME but still stored; restored for exactness. */
    enabled: boolean;
    useAuthentication: boolean;
    authenticationUser: string;
    authenticationPassword: string;
  };
  https: HostPort;
  ftp: HostPort;
  socks: HostPort;
}

/** What we set: our proxy for http and https, and hosts that must bypass it. */
export interface OurProxy {
  host: string;
  port: number;
  /** Extra hosts to bypass; loopback names are always added. */
  bypass?: string[];
  /**
   * PAC mode: point the system at this proxy auto-config URL instead of a manual proxy. Its script
   * answers `PROXY host:port; DIRECT`, so clients go direct when Sluice is not answering.
   */
  pacUrl?: string;
}

/** Where programs on this machine reach a proxy listening on `host`: a wildcard is reached on loopback. */
export function reachableAddress(host: string, port: number): HostPort {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  return { host: wildcard ? '127.0.0.1' : host, port };
}

/** `host:port` as it goes in a URL or a PAC directive: an IPv6 host in brackets. */
export function hostPortText({ host, port }: HostPort): string {
  return `${bracketHost(host)}:${port}`;
}

/** Loopback must never go through the proxy: it would loop back into Sluice itself. */
export const LOOPBACK_BYPASS = ['localhost', '127.0.0.1', '::1'] as const;

/** Why an adapter cannot work here, in words for the user; `ok` when it can. */
export type Availability = { ok: true } | { ok: false; reason: string };

/**
 * One OS or desktop's proxy settings. `S` is everything the adapter reads, so `restore` can put
 * back exactly what was there (a PAC URL, another manual proxy and its bypass list), not merely
 * "proxy off". Adapters are driven by the switch record (`switch-record.ts`), never directly.
 */
export interface SystemProxyAdapter<S> {
  /** Shown to the user ("GNOME", "KDE", "macOS", "Windows") and stored in the crash record. */
  readonly name: string;
  /** Whether this machine has what the adapter needs; never throws. */
  available(): Promise<Availability>;
  read(): Promise<S>;
  /** Points the system at our proxy (or our PAC URL), keeping the user's bypass list plus loopback. */
  apply(ours: OurProxy): Promise<void>;
  /**
   * Writes back exactly the snapshot. With `onlyWhereOurs`, an adapter whose settings have parts
   * (macOS: one per network service) writes back only the parts that still point at us, so a
   * part the user changed meanwhile keeps their change; single-part adapters may ignore it (the
   * switch asks `pointsAt` first).
   */
  restore(previous: S, onlyWhereOurs?: OurProxy): Promise<void>;
  /**
   * Whether these settings still send traffic to us (our host:port, or our PAC URL in PAC mode);
   * for an adapter with parts, whether any part does.
   */
  pointsAt(current: S, ours: OurProxy): boolean;
  /** Shape check for a snapshot read back from disk, so a damaged crash record is refused. */
  isSnapshot(x: unknown): x is S;
}

/** Runs a program (no shell) and resolves with its stdout; rejects with stderr in the message. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

/** A system proxy change that failed, with words a user can act on. */
export class SystemProxyError extends Error {
  override name = 'SystemProxyError';
}

/** Where adapters say what went wrong after a change that worked, when no one else listens. */
export function warnOnConsole(message: string): void {
  console.warn(`sluice: ${message}`);
}
