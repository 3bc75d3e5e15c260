import { describe, expect, it } from 'vitest';
import { MENU_ACTIONS } from '../../app/contract.js';
import { appMenuModel, type MenuItemModel } from '../../main/electron/menu-model.js';

const items = (platform: NodeJS.Platform): MenuItemModel[] => appMenuModel(platform).flatMap((s) => s.items);
const labelled = (platform: NodeJS.Platform) =>
  items(platform).flatMap((i) => ('action' in i ? [{ label: i.label, action: i.action, key: i.accelerator }] : []));

describe('the app menu', () => {
  it('offers every page action once, HAR import and export under File with their shortcuts', () => {
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      expect(
        labelled(platform)
          .map((i) => i.action)
          .sort(),
      ).toEqual([...MENU_ACTIONS].sort());
    }
    const file = appMenuModel('linux').find((s) => s.label === 'File')!;
    expect(file.items.slice(0, 2)).toEqual([
      { label: 'Import HAR…', action: 'har-import', accelerator: 'CmdOrCtrl+O' },
      { label: 'Export HAR…', action: 'har-export', accelerator: 'CmdOrCtrl+S' },
    ]);
  });

  it('follows each platform: the app menu and Quit on macOS, Quit at the end of File elsewhere', () => {
    expect(appMenuModel('darwin')[0]).toMatchObject({ label: 'Sluice', role: 'appMenu' });
    expect(appMenuModel('linux')[0]!.label).toBe('File');
    expect(
      appMenuModel('win32')
        .find((s) => s.label === 'File')!
        .items.at(-1),
    ).toEqual({ role: 'quit' });
    expect(items('darwin')).not.toContainEqual({ role: 'quit' });
  });
});
