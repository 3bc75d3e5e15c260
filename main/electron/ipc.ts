import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { CHANNELS, type FileChoice } from '../../app/contract.js';
import { ipcProblem, readFileChoice } from './policy.js';

export interface OurPage {
  /** The renderer page's file:// URL. */
  readonly rendererUrl: string;
  readonly isOurWindow: (contents: WebContents) => boolean;
}

export interface ConnectionRequests extends OurPage {
  /** Hands the window its port to the host. */
  readonly connect: (contents: WebContents) => void;
}

export interface FileChoices extends OurPage {
  /** Shows the dialog for the window; resolves with the path chosen, or null when cancelled. */
  readonly choose: (contents: WebContents, choice: FileChoice) => Promise<string | null>;
}

/** Why a message must be refused, or undefined when it comes from our page's top frame. */
function senderProblem(channel: string, event: IpcMainEvent | IpcMainInvokeEvent, page: OurPage): string | undefined {
  const frame = event.senderFrame;
  return ipcProblem(
    {
      channel,
      fromOurWindow: page.isOurWindow(event.sender),
      isMainFrame: frame !== null && frame.parent === null,
      frameUrl: frame?.url,
    },
    page.rendererUrl,
  );
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
    const problem = senderProblem(channel, event, requests);
    if (problem) return console.warn(`sluice: refused IPC on ${channel}: ${problem}`);
    requests.connect(event.sender);
  };
  ipcMain.on(channel, onRequest);
  return () => ipcMain.off(channel, onRequest);
}

/**
 * The other message main takes: our page asking for an open or save dialog (HAR import and
 * export). Main shows it, so the page learns only the path the user picked, and the host then
 * reads or writes that one file.
 */
export function acceptFileChoices(choices: FileChoices): () => void {
  const channel = CHANNELS.chooseFile;
  ipcMain.handle(channel, async (event, request: unknown) => {
    const problem = senderProblem(channel, event, choices);
    if (problem) {
      console.warn(`sluice: refused IPC on ${channel}: ${problem}`);
      return null;
    }
    const choice = readFileChoice(request);
    return choice ? choices.choose(event.sender, choice) : null;
  });
  return () => ipcMain.removeHandler(channel);
}
