import { BrowserWindow } from 'electron';
import type { ShellPaths } from './shell-options.js';

/**
 * The app's window. The page gets no Node and runs sandboxed in its own world; all it has of the
 * host is the preload's one bridge object.
 */
export function createMainWindow(paths: ShellPaths): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 860,
    minWidth: 720,
    minHeight: 480,
    title: 'Sluice',
    // Shown once painted, so the user never sees a blank frame.
    show: false,
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadFile(paths.rendererIndex);
  return window;
}

/** Brings the window to the front, e.g. when the user starts Sluice a second time. */
export function showWindow(window: BrowserWindow): void {
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}
