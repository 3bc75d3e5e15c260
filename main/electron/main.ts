/**
 * The Electron app's main process: one instance, one window, and the host in a utility process
 * (docs/adr/0002-host-in-utility-process.md). It stays thin; what can be decided without Electron
 * lives in plain modules beside it.
 */
import { app, BrowserWindow, dialog, powerMonitor, session, type Tray } from 'electron';
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultDataDir } from '../data-dir.js';
import { HostProcess } from './host-connection.js';
import { acceptConnectionRequests, acceptFileChoices } from './ipc.js';
import { showFileDialog } from './file-dialogs.js';
import { installAppMenu } from './menu.js';
import { guardAllContents, hardenSession } from './security.js';
import { dataDirArg, shellPaths } from './shell-options.js';
import { createTray } from './tray.js';
import { quitsWhenAllWindowsClose } from './tray-model.js';
import { createMainWindow, showWindow } from './window.js';
import { errorMessage } from '../../app/error-message.js';

const paths = shellPaths(fileURLToPath(new URL('.', import.meta.url)));
const rendererUrl = pathToFileURL(paths.rendererIndex).href;
const dataDir = dataDirArg(process.argv) ?? defaultDataDir();
// Chromium's profile and the single-instance lock go beside the CA and settings: the default would
// be the same folder (see data-dir.ts), and a --data-dir must move the lock too, or an app under
// test would find the user's own instance and quit.
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
app.setPath('userData', dataDir);

if (app.requestSingleInstanceLock()) run();
else app.quit();

function run(): void {
  let window: BrowserWindow | undefined;
  let host: HostProcess | undefined;
  // Held here so the tray is not garbage-collected, which would take the icon away.
  let tray: Tray | undefined;

  const openWindow = (): void => {
    window = createMainWindow(paths);
    window.on('closed', () => (window = undefined));
    // Windows sends no quit events at log-off or shutdown, only this: start restoring at once.
    window.on('session-end', () => void host?.stop());
  };
  const bringUpWindow = (): void => {
    if (window) showWindow(window);
    else if (app.isReady()) openWindow();
  };

  app.on('second-instance', bringUpWindow);
  guardAllContents(rendererUrl);

  void app.whenReady().then(() => {
    hardenSession(session.defaultSession);
    host = new HostProcess({
      modulePath: paths.hostProcess,
      dataDir,
      onFatal: (message) => {
        dialog.showErrorBox('Sluice cannot run its proxy', message);
        app.quit();
      },
    });
    const isOurWindow = (contents: Electron.WebContents): boolean =>
      window !== undefined && !window.isDestroyed() && window.webContents === contents;
    acceptConnectionRequests({ rendererUrl, isOurWindow, connect: (contents) => host?.connect(contents) });
    acceptFileChoices({ rendererUrl, isOurWindow, choose: (_contents, choice) => showFileDialog(window, choice) });
    installAppMenu(() => window);
    try {
      tray = createTray({ iconDir: paths.trayIcons, host, showWindow: bringUpWindow });
    } catch (err) {
      // Without a tray the app still works; closing its window quits it as before.
      console.warn(`sluice: no tray icon: ${errorMessage(err)}`);
    }
    openWindow();
  });

  app.on('activate', () => {
    if (app.isReady() && !window) openWindow();
  });
  // With a tray the app lives on in it, proxying; without one only macOS keeps a windowless app.
  // Electron quits here by default when nobody listens, so the listener must stay.
  app.on('window-all-closed', () => {
    if (quitsWhenAllWindowsClose(process.platform, tray !== undefined)) app.quit();
  });

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    // Hold the quit until the proxy has stopped, so its port is free and no client is cut mid-write
    // by a killed process; then leave without another round of quit events.
    event.preventDefault();
    void (host?.stop() ?? Promise.resolve()).finally(() => app.exit(0));
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => app.quit());
  void app.whenReady().then(() => {
    // Linux and macOS: hold a shutdown or reboot until the quit has restored the system proxy.
    // Electron's types omit the event argument its docs give this handler.
    const onShutdown = (...args: unknown[]): void => {
      (args[0] as { preventDefault?: () => void } | undefined)?.preventDefault?.();
      app.quit();
    };
    powerMonitor.on('shutdown', onShutdown);
  });
}
