import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Reads the file a URL path names inside `root`, or undefined when there is none. The path is the
 * raw one from the request line (HTTP clients need not normalise `..`), so the resolved path, and
 * after symlinks the real one, must stay inside the real root.
 */
export async function readStaticFile(root: string, urlPath: string): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0')) return undefined;
  try {
    const realRoot = await realpath(root);
    const file = await realpath(path.join(realRoot, decoded));
    if (!file.startsWith(realRoot + path.sep)) return undefined;
    if (!(await stat(file)).isFile()) return undefined;
    return { body: await readFile(file), contentType: contentTypeOf(file) };
  } catch {
    // Missing, unreadable, or the root itself is not there yet: all simply "not found".
    return undefined;
  }
}

/** What `/` shows until the renderer has been built: says so, and pretends nothing. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sluice: UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>The Sluice UI has not been built yet</h1>
<p>The headless host is running, but there is no renderer to serve: its folder has no
<code>index.html</code>. Once the renderer exists, <code>npm run build</code> builds it; then reload this page.</p>
</body>
</html>
`;
