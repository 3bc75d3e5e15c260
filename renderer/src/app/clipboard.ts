/**
 * Puts text on the clipboard. The async Clipboard API first; where it is refused (the desktop app
 * denies every permission request, `clipboard-sanitized-write` among them) the older copy command,
 * which needs only the click that called us.
 */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch (err) {
    if (copyWithCommand(text)) return;
    throw err instanceof Error ? err : new Error(String(err));
  }
}

function copyWithCommand(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  const focused = document.activeElement;
  document.body.append(area);
  area.select();
  try {
    // Deprecated, but the only copy that needs no permission; kept as the fallback only.
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
    if (focused instanceof HTMLElement) focused.focus();
  }
}
