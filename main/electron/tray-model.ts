import type { ProxyStatus, SystemProxyStatus } from '../../app/contract.js';
import { hostPortText, reachableAddress } from '../system-proxy/types.js';
import type { HostStatus } from './host-service.js';

/**
 * The tray as data, so every state can be tested without Electron (`tray.ts` turns it into a Tray
 * and its menu). Linux tray hosts show no tooltip, so what the tooltip says is also in the menu.
 */

export type TrayIcon = 'off' | 'on' | 'error';

export type TrayAction =
  | { readonly kind: 'set-system-proxy'; readonly enabled: boolean }
  | { readonly kind: 'show-window' }
  | { readonly kind: 'copy-proxy-address'; readonly text: string }
  | { readonly kind: 'quit' };

export type TrayItemId =
  'proxy-state' | 'system-proxy' | 'system-proxy-note' | 'show-window' | 'copy-proxy-address' | 'quit';

/** A disabled item has no action; an enabled one always has. */
export type TrayItem =
  | {
      readonly type: 'item';
      readonly id: TrayItemId;
      readonly label: string;
      readonly enabled: boolean;
      readonly action?: TrayAction;
    }
  | { readonly type: 'separator' };

export interface TrayInput {
  readonly platform: NodeJS.Platform;
  /** Undefined until the host is ready, and while it restarts after a crash. */
  readonly status: HostStatus | undefined;
  /** A switch the tray asked for that the host has not answered yet. */
  readonly switching?: 'on' | 'off' | undefined;
}

export interface TrayModel {
  readonly icon: TrayIcon;
  /** The image in the tray icon folder; its `@2x` twin lies beside it. */
  readonly iconFile: string;
  readonly tooltip: string;
  readonly items: readonly TrayItem[];
}

/** Windows cuts a tray tooltip at 127 characters (NOTIFYICONDATA's szTip). */
export const TOOLTIP_MAX = 127;
/** Adapter errors can carry a tool's whole stderr; a menu item that long outgrows the screen. */
export const NOTE_MAX = 100;

/** The tray icon's size in points: its `@2x` file has twice as many pixels. */
export const TRAY_ICON_SIZE = 16;

const ICONS: readonly TrayIcon[] = ['off', 'on', 'error'];

/**
 * The 1x image for a state. macOS gets black-and-alpha template images, which the menu bar tints
 * for light and dark mode (a name ending in `Template` is what tells Electron); elsewhere the
 * icon carries its own colours, since tray backgrounds range from white to black.
 */
export function trayIconFile(icon: TrayIcon, platform: NodeJS.Platform): string {
  return platform === 'darwin' ? `tray-${icon}Template.png` : `tray-${icon}.png`;
}

/** Every tray image the app may load, with its size in pixels. */
export function trayIconFiles(): { readonly file: string; readonly size: number; readonly template: boolean }[] {
  return (['linux', 'darwin'] as const).flatMap((platform) =>
    ICONS.flatMap((icon) => {
      const file = trayIconFile(icon, platform);
      const template = platform === 'darwin';
      return [
        { file, size: TRAY_ICON_SIZE, template },
        { file: file.replace(/\.png$/, '@2x.png'), size: 2 * TRAY_ICON_SIZE, template },
      ];
    }),
  );
}

/**
 * Whether closing the last window quits. With a tray the app lives on in it, as tray users
 * expect, and keeps proxying (the system proxy may point at it); "Quit Sluice" quits, and starting
 * Sluice again brings the window back even where the desktop shows no tray. Without a tray only
 * macOS keeps a windowless app, in its Dock.
 */
export function quitsWhenAllWindowsClose(platform: NodeJS.Platform, hasTray: boolean): boolean {
  return !hasTray && platform !== 'darwin';
}

export function trayModel({ platform, status, switching }: TrayInput): TrayModel {
  const icon = iconFor(status);
  const address = status && status.proxy.state === 'running' ? proxyUrl(status.proxy) : undefined;
  const note = status ? systemProxyNote(status.systemProxy) : undefined;
  const items: TrayItem[] = [
    info('proxy-state', proxyLine(status?.proxy)),
    systemProxyItem(status?.systemProxy, switching),
    ...(note ? [info('system-proxy-note', clip(note, NOTE_MAX))] : []),
    { type: 'separator' },
    action('show-window', 'Show Sluice', { kind: 'show-window' }),
    address
      ? action('copy-proxy-address', `Copy Proxy Address (${address})`, { kind: 'copy-proxy-address', text: address })
      : info('copy-proxy-address', 'Copy Proxy Address'),
    { type: 'separator' },
    action('quit', 'Quit Sluice', { kind: 'quit' }),
  ];
  return { icon, iconFile: trayIconFile(icon, platform), tooltip: clip(tooltip(status), TOOLTIP_MAX), items };
}

function iconFor(status: HostStatus | undefined): TrayIcon {
  if (!status) return 'off';
  if (status.proxy.state === 'error' || status.systemProxy.state === 'error') return 'error';
  return status.systemProxy.state === 'on' ? 'on' : 'off';
}

function systemProxyItem(systemProxy: SystemProxyStatus | undefined, switching: 'on' | 'off' | undefined): TrayItem {
  if (switching) return info('system-proxy', switching === 'on' ? 'Enabling System Proxy…' : 'Disabling System Proxy…');
  if (!systemProxy || !systemProxy.supported) return info('system-proxy', 'Enable System Proxy');
  switch (systemProxy.state) {
    case 'off':
      // Enabling starts a stopped proxy, so a stopped (or failed) proxy does not disable this.
      return action('system-proxy', 'Enable System Proxy', { kind: 'set-system-proxy', enabled: true });
    case 'on':
      return action('system-proxy', 'Disable System Proxy', { kind: 'set-system-proxy', enabled: false });
    case 'error':
      // Whether enabling or restoring failed, switching off is the safe way out: it puts back what
      // the user had (or just clears the error when nothing was changed), and from off they can retry.
      return action('system-proxy', 'Restore My Proxy Settings', { kind: 'set-system-proxy', enabled: false });
  }
}

/** The line under the switch: why it cannot be used, what failed, or where the system points. */
function systemProxyNote(systemProxy: SystemProxyStatus): string | undefined {
  if (!systemProxy.supported) return systemProxy.message ?? 'The system proxy cannot be changed here.';
  if (systemProxy.state === 'error') return `System proxy failed: ${systemProxy.message ?? 'unknown error'}`;
  if (systemProxy.message) return systemProxy.message;
  if (systemProxy.state !== 'on') return undefined;
  const where = systemProxy.targets.join(', ');
  return systemProxy.mode === 'pac' && systemProxy.pacUrl
    ? `${where} uses ${systemProxy.pacUrl}`
    : `${where} points at ${systemProxy.address ?? 'Sluice'}`;
}

function proxyLine(proxy: ProxyStatus | undefined): string {
  if (!proxy) return 'Sluice is starting…';
  if (proxy.state === 'running') return 'Proxy running';
  if (proxy.state === 'stopped') return 'Proxy stopped';
  return clip(`Proxy error: ${proxy.error ?? 'unknown error'}`, NOTE_MAX);
}

function tooltip(status: HostStatus | undefined): string {
  if (!status) return 'Sluice: starting';
  const { proxy, systemProxy } = status;
  if (proxy.state === 'error') return `Sluice: proxy error: ${proxy.error ?? 'unknown error'}`;
  if (systemProxy.state === 'error') return `Sluice: system proxy failed: ${systemProxy.message ?? 'unknown error'}`;
  if (proxy.state === 'stopped') return 'Sluice: proxy stopped';
  const where = `proxy on ${hostPort(proxy)}`;
  return systemProxy.state === 'on' ? `Sluice: ${where}, system proxy on` : `Sluice: ${where}`;
}

/** The address a client on this machine uses, as the host points the system proxy. */
export function proxyUrl(proxy: Pick<ProxyStatus, 'host' | 'port'>): string {
  return `http://${hostPort(proxy)}`;
}

function hostPort({ host, port }: Pick<ProxyStatus, 'host' | 'port'>): string {
  return hostPortText(reachableAddress(host, port));
}

function info(id: TrayItemId, label: string): TrayItem {
  return { type: 'item', id, label, enabled: false };
}

function action(id: TrayItemId, label: string, run: TrayAction): TrayItem {
  return { type: 'item', id, label, enabled: true, action: run };
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
