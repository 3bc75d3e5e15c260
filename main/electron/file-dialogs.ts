import { dialog, type BrowserWindow } from 'electron';
import type { FileChoice } from '../../app/contract.js';

const HAR_FILTERS = [
  { name: 'HAR files', extensions: ['har'] },
  { name: 'All files', extensions: ['*'] },
];

/** The open or save dialog a `FileChoice` asks for, attached to the window; null when cancelled. */
export async function showFileDialog(window: BrowserWindow | undefined, choice: FileChoice): Promise<string | null> {
  if (choice.purpose === 'har-open') {
    const options = { title: 'Import HAR', properties: ['openFile' as const], filters: HAR_FILTERS };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  }
  const options = {
    title: 'Export HAR',
    defaultPath: choice.suggestedName ?? 'sluice.har',
    filters: HAR_FILTERS.slice(0, 1),
  };
  const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
  if (result.canceled || !result.filePath) return null;
  // The host writes only .har files; a name typed without the extension gets it.
  return /\.har$/i.test(result.filePath) ? result.filePath : `${result.filePath}.har`;
}
