import { ipcMain, type IpcMainEvent, type WebContents } from 'electron';
import { CHANNELS } from '../../app/contract.js';
import { ipcProblem } from './policy.js';

export interface ConnectionRequests {
  /** The renderer page's file:// URL. */
  readonly rendererUrl: string;
  readonly isOurWindow: (contents: WebContents) => boolean;
  /** Hands the window its port to the host. */
  readonly connect: (contents: WebContents) => void;
}

/**
 * The one IPC message the main process takes: a window asking for its port to the host, on
 * `CHANNELS.connect` (the port then carries the events, and the calls too). Only our window's top
 * frame, showing our page, gets one; anything else is refused with a warning, since it means a
 * page we did not load is trying to reach the host.
 */
export function acceptConnectionRequests(requests: ConnectionRequests): () => void {
  const channel = CHANNELS.connect;
  const onRequest = (event: IpcMainEvent): void => {
    const frame = event.senderFrame;
    const problem = ipcProblem(
      {
        channel,
        fromOurWindow: requests.isOurWindow(event.sender),
        isMainFrame: frame !== null && frame.parent === null,
        frameUrl: frame?.url,
      },
      requests.rendererUrl,
    );
    if (problem) return console.warn(`sluice: refused IPC on ${channel}: ${problem}`);
    requests.connect(event.sender);
  };
  ipcMain.on(channel, onRequest);
  return () => ipcMain.off(channel, onRequest);
}
