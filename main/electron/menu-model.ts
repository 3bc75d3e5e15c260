import type { MenuAction } from '../../app/contract.js';

/**
 * The app menu as data, so it can be tested without Electron (`menu.ts` turns it into a Menu).
 * Items with an `action` are carried out by the page (they open its dialogs); `role` items are
 * Electron's standard ones.
 */
export type MenuItemModel =
  | { readonly label: string; readonly action: MenuAction; readonly accelerator?: string }
  | { readonly role: MenuRole }
  | { readonly separator: true };

export type MenuRole =
  | 'appMenu'
  | 'quit'
  | 'undo'
  | 'redo'
  | 'cut'
  | 'copy'
  | 'paste'
  | 'selectAll'
  | 'reload'
  | 'togglefullscreen'
  | 'resetZoom'
  | 'zoomIn'
  | 'zoomOut'
  | 'minimize'
  | 'close';

export interface MenuSectionModel {
  readonly label: string;
  /** On macOS the first menu is the app's own (About, Hide, Quit). */
  readonly role?: 'appMenu' | 'fileMenu' | 'editMenu' | 'viewMenu' | 'windowMenu' | 'help';
  readonly items: readonly MenuItemModel[];
}

export function appMenuModel(platform: NodeJS.Platform): MenuSectionModel[] {
  const mac = platform === 'darwin';
  return [
    ...(mac ? [{ label: 'Sluice', role: 'appMenu' as const, items: [{ role: 'appMenu' as const }] }] : []),
    {
      label: 'File',
      items: [
        { label: 'Import HAR…', action: 'har-import', accelerator: 'CmdOrCtrl+O' },
        { label: 'Export HAR…', action: 'har-export', accelerator: 'CmdOrCtrl+S' },
        { separator: true },
        { label: 'Clear Capture', action: 'capture-clear', accelerator: 'CmdOrCtrl+K' },
        { separator: true },
        // macOS quits from the app menu; elsewhere File ends with Quit.
        ...(mac ? [{ role: 'close' as const }] : [{ role: 'quit' as const }]),
      ],
    },
    {
      label: 'Edit',
      items: [
        { role: 'undo' },
        { role: 'redo' },
        { separator: true },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
      ],
    },
    {
      label: 'View',
      items: [
        { role: 'reload' },
        { separator: true },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { separator: true },
        { role: 'togglefullscreen' },
      ],
    },
    { label: 'Window', items: [{ role: 'minimize' }, ...(mac ? [] : [{ role: 'close' as const }])] },
    { label: 'Help', items: [{ label: 'Trust the CA certificate…', action: 'ca-help' }] },
  ];
}
