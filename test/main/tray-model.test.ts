import { describe, expect, it } from 'vitest';
import type { ProxyStatus, SystemProxyStatus } from '../../app/contract.js';
import type { HostStatus } from '../../main/electron/host-service.js';
import {
  NOTE_MAX,
  proxyUrl,
  quitsWhenAllWindowsClose,
  TOOLTIP_MAX,
  trayIconFile,
  trayIconFiles,
  trayModel,
  type TrayInput,
  type TrayItem,
  type TrayItemId,
} from '../../main/electron/tray-model.js';
import { runningProxy as running, systemProxyOff as off } from '../helpers/host-events.js';

const on: SystemProxyStatus = { ...off, state: 'on', address: '127.0.0.1:8080' };

function status(proxy: Partial<ProxyStatus> = {}, systemProxy: Partial<SystemProxyStatus> = {}): HostStatus {
  return { proxy: { ...running, ...proxy }, systemProxy: { ...off, ...systemProxy } };
}

function model(input: Partial<TrayInput> & Pick<TrayInput, 'status'>) {
  return trayModel({ platform: 'linux', ...input });
}

type Item = Extract<TrayItem, { type: 'item' }>;
function item(items: readonly TrayItem[], id: TrayItemId): Item | undefined {
  return items.find((i): i is Item => i.type === 'item' && i.id === id);
}

describe('the tray model', () => {
  it('lists the proxy state, the switch, show, copy, and quit, with separators', () => {
    const { items } = model({ status: status() });
    expect(items.map((i) => (i.type === 'separator' ? '---' : i.id))).toEqual([
      'proxy-state',
      'system-proxy',
      '---',
      'show-window',
      'copy-proxy-address',
      '---',
      'quit',
    ]);
  });

  it('while the host starts or restarts: off icon, switch and copy disabled, show and quit still work', () => {
    const { icon, tooltip, items } = model({ status: undefined });
    expect(icon).toBe('off');
    expect(tooltip).toBe('Sluice: starting');
    expect(item(items, 'proxy-state')).toEqual({
      type: 'item',
      id: 'proxy-state',
      label: 'Sluice is starting…',
      enabled: false,
    });
    expect(item(items, 'system-proxy')).toEqual({
      type: 'item',
      id: 'system-proxy',
      label: 'Enable System Proxy',
      enabled: false,
    });
    expect(item(items, 'system-proxy-note')).toBeUndefined();
    expect(item(items, 'copy-proxy-address')).toMatchObject({ label: 'Copy Proxy Address', enabled: false });
    expect(item(items, 'copy-proxy-address')!.action).toBeUndefined();
    expect(item(items, 'show-window')).toMatchObject({
      label: 'Show Sluice',
      enabled: true,
      action: { kind: 'show-window' },
    });
    expect(item(items, 'quit')).toMatchObject({ label: 'Quit Sluice', enabled: true, action: { kind: 'quit' } });
  });

  it('system proxy off: off icon, "Enable System Proxy" switches it on, no note', () => {
    const { icon, tooltip, items } = model({ status: status() });
    expect(icon).toBe('off');
    expect(tooltip).toBe('Sluice: proxy on 127.0.0.1:8080');
    expect(item(items, 'proxy-state')).toMatchObject({ label: 'Proxy running', enabled: false });
    expect(item(items, 'system-proxy')).toEqual({
      type: 'item',
      id: 'system-proxy',
      label: 'Enable System Proxy',
      enabled: true,
      action: { kind: 'set-system-proxy', enabled: true },
    });
    expect(item(items, 'system-proxy-note')).toBeUndefined();
  });

  it('system proxy on: on icon, the label flips to "Disable System Proxy", the note says where it points', () => {
    const { icon, tooltip, items } = model({ status: status({}, on) });
    expect(icon).toBe('on');
    expect(tooltip).toBe('Sluice: proxy on 127.0.0.1:8080, system proxy on');
    expect(item(items, 'system-proxy')).toMatchObject({
      label: 'Disable System Proxy',
      enabled: true,
      action: { kind: 'set-system-proxy', enabled: false },
    });
    expect(item(items, 'system-proxy-note')).toEqual({
      type: 'item',
      id: 'system-proxy-note',
      label: 'GNOME points at 127.0.0.1:8080',
      enabled: false,
    });
    // The note sits right under the switch.
    const ids = items.map((i) => (i.type === 'item' ? i.id : '---'));
    expect(ids.indexOf('system-proxy-note')).toBe(ids.indexOf('system-proxy') + 1);
  });

  it('system proxy on in PAC mode: the note names the script and every target', () => {
    const pac = status(
      {},
      { ...on, mode: 'pac', targets: ['GNOME', 'KDE'], pacUrl: 'http://127.0.0.1:8080/sluice.pac' },
    );
    expect(item(model({ status: pac }).items, 'system-proxy-note')!.label).toBe(
      'GNOME, KDE uses http://127.0.0.1:8080/sluice.pac',
    );
  });

  it('system proxy in error: error icon, the switch restores the user settings, the note says what failed', () => {
    const failed = status({}, { state: 'error', message: 'gsettings wrote nothing' });
    const { icon, tooltip, items } = model({ status: failed });
    expect(icon).toBe('error');
    expect(tooltip).toBe('Sluice: system proxy failed: gsettings wrote nothing');
    expect(item(items, 'system-proxy')).toMatchObject({
      label: 'Restore My Proxy Settings',
      enabled: true,
      action: { kind: 'set-system-proxy', enabled: false },
    });
    expect(item(items, 'system-proxy-note')).toMatchObject({
      label: 'System proxy failed: gsettings wrote nothing',
      enabled: false,
    });
    expect(item(model({ status: status({}, { state: 'error' }) }).items, 'system-proxy-note')!.label).toBe(
      'System proxy failed: unknown error',
    );
  });

  it('unsupported here: the switch is disabled and the note gives the reason', () => {
    const message = 'The system proxy cannot be changed here: gsettings is not installed.';
    const { icon, items } = model({ status: status({}, { supported: false, targets: [], message }) });
    expect(icon).toBe('off');
    expect(item(items, 'system-proxy')).toEqual({
      type: 'item',
      id: 'system-proxy',
      label: 'Enable System Proxy',
      enabled: false,
    });
    expect(item(items, 'system-proxy-note')).toMatchObject({ label: message, enabled: false });
    const silent = model({ status: status({}, { supported: false, targets: [] }) });
    expect(item(silent.items, 'system-proxy-note')!.label).toBe('The system proxy cannot be changed here.');
  });

  it('off with a message (another Sluice has it, or a refused switch): the switch stays usable, the note says why', () => {
    const message =
      'Another Sluice (process 42) has the system proxy pointed at 127.0.0.1:9090; switch it off there first.';
    const { items } = model({ status: status({}, { message }) });
    expect(item(items, 'system-proxy')).toMatchObject({ label: 'Enable System Proxy', enabled: true });
    const note = item(items, 'system-proxy-note')!.label;
    expect(note.length).toBe(NOTE_MAX);
    expect(note).toBe(`${message.slice(0, NOTE_MAX - 1)}…`);
  });

  it('while a switch the tray asked for is under way: the switch is disabled and says what it is doing', () => {
    expect(item(model({ status: status(), switching: 'on' }).items, 'system-proxy')).toEqual({
      type: 'item',
      id: 'system-proxy',
      label: 'Enabling System Proxy…',
      enabled: false,
    });
    expect(item(model({ status: status({}, on), switching: 'off' }).items, 'system-proxy')).toMatchObject({
      label: 'Disabling System Proxy…',
      enabled: false,
    });
    expect(item(model({ status: undefined, switching: 'on' }).items, 'system-proxy')!.enabled).toBe(false);
  });

  it('proxy running: "Copy Proxy Address" shows and copies the address', () => {
    expect(item(model({ status: status() }).items, 'copy-proxy-address')).toEqual({
      type: 'item',
      id: 'copy-proxy-address',
      label: 'Copy Proxy Address (http://127.0.0.1:8080)',
      enabled: true,
      action: { kind: 'copy-proxy-address', text: 'http://127.0.0.1:8080' },
    });
  });

  it('copies an address a client here can use: loopback for a wildcard listener, brackets for IPv6', () => {
    expect(proxyUrl({ host: '0.0.0.0', port: 8080 })).toBe('http://127.0.0.1:8080');
    expect(proxyUrl({ host: '::', port: 8080 })).toBe('http://127.0.0.1:8080');
    expect(proxyUrl({ host: '', port: 8080 })).toBe('http://127.0.0.1:8080');
    expect(proxyUrl({ host: '::1', port: 9000 })).toBe('http://[::1]:9000');
    expect(proxyUrl({ host: '192.168.1.5', port: 3128 })).toBe('http://192.168.1.5:3128');
    const wildcard = model({ status: status({ host: '0.0.0.0' }) });
    expect(item(wildcard.items, 'copy-proxy-address')!.action).toEqual({
      kind: 'copy-proxy-address',
      text: 'http://127.0.0.1:8080',
    });
  });

  it('proxy stopped: off icon, copy disabled, the switch still offered (switching on starts the proxy)', () => {
    const { icon, tooltip, items } = model({ status: status({ state: 'stopped' }) });
    expect(icon).toBe('off');
    expect(tooltip).toBe('Sluice: proxy stopped');
    expect(item(items, 'proxy-state')!.label).toBe('Proxy stopped');
    expect(item(items, 'copy-proxy-address')).toEqual({
      type: 'item',
      id: 'copy-proxy-address',
      label: 'Copy Proxy Address',
      enabled: false,
    });
    expect(item(items, 'system-proxy')).toMatchObject({ label: 'Enable System Proxy', enabled: true });
  });

  it('proxy in error: error icon whatever the switch says, the error in the menu and tooltip, copy disabled', () => {
    const error = 'port 8080 on 127.0.0.1 is in use; choose another port';
    for (const systemProxy of [off, on]) {
      const { icon, tooltip, items } = model({ status: status({ state: 'error', error }, systemProxy) });
      expect(icon).toBe('error');
      expect(tooltip).toBe(`Sluice: proxy error: ${error}`);
      expect(item(items, 'proxy-state')).toMatchObject({ label: `Proxy error: ${error}`, enabled: false });
      expect(item(items, 'copy-proxy-address')!.enabled).toBe(false);
    }
    expect(item(model({ status: status({ state: 'error' }) }).items, 'proxy-state')!.label).toBe(
      'Proxy error: unknown error',
    );
  });

  it('keeps the tooltip within what Windows shows and every line on one line', () => {
    const long = `gsettings failed:\n${'x'.repeat(300)}`;
    const { tooltip, items } = model({ status: status({}, { state: 'error', message: long }) });
    expect(tooltip.length).toBe(TOOLTIP_MAX);
    expect(tooltip.endsWith('…')).toBe(true);
    for (const i of items) {
      if (i.type !== 'item') continue;
      expect(i.label).not.toMatch(/\n/);
      expect(i.label.length).toBeLessThanOrEqual(NOTE_MAX);
    }
  });

  it('gives every enabled item an action and no disabled one', () => {
    const inputs: TrayInput[] = [undefined, status(), status({}, on), status({ state: 'stopped' })].flatMap((s) =>
      (['linux', 'darwin', 'win32'] as const).map((platform) => ({ platform, status: s })),
    );
    for (const input of inputs) {
      for (const i of trayModel(input).items) {
        if (i.type === 'item') expect(i.action !== undefined).toBe(i.enabled);
      }
    }
  });
});

describe('tray icon files', () => {
  it('are template images on macOS and coloured ones elsewhere, one per state', () => {
    expect(model({ status: status() }).iconFile).toBe('tray-off.png');
    expect(model({ status: status({}, on) }).iconFile).toBe('tray-on.png');
    expect(trayModel({ platform: 'win32', status: status({ state: 'error' }) }).iconFile).toBe('tray-error.png');
    expect(trayModel({ platform: 'darwin', status: status({}, on) }).iconFile).toBe('tray-onTemplate.png');
    expect(trayIconFile('error', 'darwin')).toBe('tray-errorTemplate.png');
  });

  it('lists every file the model can name, each with its @2x twin at twice the size', () => {
    const files = trayIconFiles();
    expect(files).toHaveLength(12);
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      for (const icon of ['off', 'on', 'error'] as const) {
        const file = trayIconFile(icon, platform);
        expect(files).toContainEqual({ file, size: 16, template: platform === 'darwin' });
        expect(files).toContainEqual({
          file: file.replace('.png', '@2x.png'),
          size: 32,
          template: platform === 'darwin',
        });
      }
    }
  });
});

describe('closing the last window', () => {
  it('keeps the app in its tray everywhere, and without one only on macOS', () => {
    for (const platform of ['linux', 'win32', 'darwin'] as const)
      expect(quitsWhenAllWindowsClose(platform, true)).toBe(false);
    expect(quitsWhenAllWindowsClose('linux', false)).toBe(true);
    expect(quitsWhenAllWindowsClose('win32', false)).toBe(true);
    expect(quitsWhenAllWindowsClose('darwin', false)).toBe(false);
  });
});
