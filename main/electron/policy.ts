import { CHANNELS, type FileChoice } from '../../app/contract.js';

/**
 * The shell's security decisions as plain functions, so Node tests can pin them down; the Electron
 * modules (window.ts, security.ts, ipc.ts) only wire them to events.
 */

/**
 * For responses our session gets over HTTP(S). The page itself comes from file://, where no header
 * is sent: there the same policy is the `<meta>` tag in renderer/index.html.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Response headers with our CSP, replacing any the response had (header names vary in case). */
export function withCsp(headers: Record<string, string[]> | undefined): Record<string, string[]> {
  const kept = Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() !== 'content-security-policy');
  return { ...Object.fromEntries(kept), 'Content-Security-Policy': [RENDERER_CSP] };
}

/** True when `url` is our renderer's page (any query or fragment): the one place a window may be. */
export function isRendererUrl(url: string | undefined, rendererUrl: string): boolean {
  const page = documentOf(url);
  return page !== undefined && page === documentOf(rendererUrl);
}

/** A link the user followed, to open in their browser: only http(s), never file: or custom schemes. */
export function externalTarget(url: string): string | undefined {
  const parsed = parse(url);
  return parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:') ? parsed.href : undefined;
}

/** The channels our windows may use; anything else is not ours, whoever sends it. */
export const OUR_CHANNELS: ReadonlySet<string> = new Set(Object.values(CHANNELS));

export interface IpcSender {
  readonly channel: string;
  /** The sending webContents is one of our windows. */
  readonly fromOurWindow: boolean;
  /** The sending frame is its window's top frame (not an iframe); false when the frame is gone. */
  readonly isMainFrame: boolean;
  readonly frameUrl: string | undefined;
}

/** A `FileChoice` from the page, checked field by field; undefined for anything else. */
export function readFileChoice(value: unknown): FileChoice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { purpose, suggestedName } = value as Record<string, unknown>;
  if (purpose !== 'har-open' && purpose !== 'har-save') return undefined;
  if (suggestedName !== undefined && (typeof suggestedName !== 'string' || !/^[\w .-]{1,100}$/.test(suggestedName))) {
    return undefined;
  }
  return suggestedName === undefined ? { purpose } : { purpose, suggestedName };
}

/** Why an IPC message must be refused, or undefined when it comes from our page on our channel. */
export function ipcProblem(sender: IpcSender, rendererUrl: string): string | undefined {
  if (!OUR_CHANNELS.has(sender.channel)) return `unknown channel ${JSON.stringify(sender.channel)}`;
  if (!sender.fromOurWindow) return 'sent by a webContents that is not a Sluice window';
  if (!sender.isMainFrame) return 'sent by a subframe';
  if (!isRendererUrl(sender.frameUrl, rendererUrl))
    return `sent by a page that is not ours (${sender.frameUrl ?? 'none'})`;
  return undefined;
}

function documentOf(url: string | undefined): string | undefined {
  const parsed = url === undefined ? undefined : parse(url);
  if (!parsed) return undefined;
  parsed.hash = '';
  parsed.search = '';
  return parsed.href;
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
