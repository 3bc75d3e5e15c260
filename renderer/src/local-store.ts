/**
 * The page's localStorage, for what the user arranged (the split, column widths) to outlast a
 * visit; undefined where the browser refuses it, and the arrangement then lasts this visit only.
 */
export function localStore(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
