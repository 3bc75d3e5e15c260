import { app, clipboard, Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import path from 'node:path';
import type { HostProcess } from './host-connection.js';
import { trayModel, type TrayAction, type TrayItem } from './tray-model.js';

export interface TrayOptions {
  /** The folder of tray images (`ShellPaths.trayIcons`). */
  readonly iconDir: string;
  readonly host: Pick<HostProcess, 'status' | 'onStatus' | 'setSystemProxy'>;
  /** Brings the window up, making a new one if it was closed. */
  readonly showWindow: () => void;
}

/** The tray icon and its menu, rebuilt from `trayModel` on every change of the host's status. */
export function createTray({ iconDir, host, showWindow }: TrayOptions): Tray {
  const platform = process.platform;
  const images = new Map<string, NativeImage>();
  const image = (file: string): NativeImage => {
    let loaded = images.get(file);
    if (!loaded) {
      // Loads the @2x file beside it too, for high-DPI screens.
      loaded = nativeImage.createFromPath(path.join(iconDir, file));
      if (loaded.isEmpty()) console.warn(`sluice: tray icon ${file} is missing from ${iconDir}`);
      if (platform === 'darwin') loaded.setTemplateImage(true);
      images.set(file, loaded);
    }
    return loaded;
  };

  let switching: 'on' | 'off' | undefined;
  const model = () => trayModel({ platform, status: host.status, switching });
  let shownIcon = model().iconFile;
  const tray = new Tray(image(shownIcon));

  const run = (action: TrayAction): void => {
    switch (action.kind) {
      case 'set-system-proxy':
        switching = action.enabled ? 'on' : 'off';
        render();
        // A refusal comes back as a status (and a status event): only a host that went away rejects.
        void host
          // The mode last used, so a PAC choice made in the window holds here too.
          .setSystemProxy(action.enabled, host.status?.systemProxy.mode)
          .catch((err: Error) => console.warn(`sluice: system proxy: ${err.message}`))
          .finally(() => {
            switching = undefined;
            render();
          });
        return;
      case 'show-window':
        return showWindow();
      case 'copy-proxy-address':
        // Through a promise chain: a throw or a rejection alike becomes one warning.
        void Promise.resolve()
          .then(() => clipboard.writeText(action.text))
          .catch((err: Error) => console.warn(`sluice: copy: ${err.message}`));
        return;
      case 'quit':
        // before-quit waits for the host to stop, which restores the user's system proxy.
        return app.quit();
    }
  };
  const menuItem = (item: TrayItem): MenuItemConstructorOptions => {
    if (item.type === 'separator') return { type: 'separator' };
    const { label, enabled, action } = item;
    return { label, enabled, ...(action ? { click: () => run(action) } : {}) };
  };
  const render = (): void => {
    if (tray.isDestroyed()) return;
    const { iconFile, tooltip, items } = model();
    if (iconFile !== shownIcon) {
      tray.setImage(image(iconFile));
      shownIcon = iconFile;
    }
    tray.setToolTip(tooltip);
    // On Linux a changed menu item shows only after another setContextMenu: rebuild it whole.
    tray.setContextMenu(Menu.buildFromTemplate(items.map(menuItem)));
  };

  host.onStatus(render);
  // On Windows the right button opens the menu; the left one is expected to bring the window up.
  if (platform === 'win32') tray.on('click', () => showWindow());
  render();
  return tray;
}
