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
}

/** Loopback must never go through the proxy: it would loop back into Sluice itself. */
export const LOOPBACK_BYPASS = ['localhost', '127.0.0.1', '::1'] as const;

/** Why an adapter cannot work here, in words for the user; `ok` when it can. */
export type Availability = { ok: true } | { ok: false; reason: string };
