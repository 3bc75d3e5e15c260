import { app, shell, type Session, type WebContents } from 'electron';
import { externalTarget, isRendererUrl, withCsp } from './policy.js';

/**
 * Guards every webContents the app ever creates, not only the ones we make: a window stays on our
 * page, opens nothing, attaches no <webview>, and a link the user follows goes to their browser.
 */
export function guardAllContents(rendererUrl: string): void {
  app.on('web-contents-created', (_event, contents) => guardContents(contents, rendererUrl));
}

function guardContents(contents: WebContents, rendererUrl: string): void {
  contents.on('will-navigate', (event) => {
    if (isRendererUrl(event.url, rendererUrl)) return;
    event.preventDefault();
    openOutside(event.url);
  });
  // Frames and redirects are never the user following a link: refuse without opening anything.
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame && !isRendererUrl(event.url, rendererUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isRendererUrl(event.url, rendererUrl)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openOutside(url);
    return { action: 'deny' };
  });
}

/** The page needs no camera, notifications or anything else a site may ask for. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) =>
    callback({ responseHeaders: withCsp(details.responseHeaders) }),
  );
}

function openOutside(url: string): void {
  const target = externalTarget(url);
  if (target) void shell.openExternal(target);
  else console.warn(`sluice: blocked navigation to ${url}`);
}
