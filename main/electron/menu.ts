import { Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import { CHANNELS, type MenuAction } from '../../app/contract.js';
import { appMenuModel, type MenuItemModel } from './menu-model.js';

/** Installs the app menu; items meant for the page go to the focused Sluice window. */
export function installAppMenu(currentWindow: () => BrowserWindow | undefined): void {
  const send = (action: MenuAction): void => {
    const window = currentWindow();
    if (window && !window.isDestroyed()) window.webContents.send(CHANNELS.menu, action);
  };
  const item = (model: MenuItemModel): MenuItemConstructorOptions => {
    if ('separator' in model) return { type: 'separator' };
    if ('role' in model) return { role: model.role };
    return {
      label: model.label,
      ...(model.accelerator ? { accelerator: model.accelerator } : {}),
      click: () => send(model.action),
    };
  };
  const template = appMenuModel(process.platform).map((section): MenuItemConstructorOptions =>
    section.role === 'appMenu' ? { role: 'appMenu' } : { label: section.label, submenu: section.items.map(item) },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
