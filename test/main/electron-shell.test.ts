import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../../app/contract.js';
import {
  externalTarget,
  ipcProblem,
  isRendererUrl,
  readFileChoice,
  RENDERER_CSP,
  withCsp,
  type IpcSender,
} from '../../main/electron/policy.js';
import { RestartBudget } from '../../main/electron/restart-budget.js';
import { dataDirArg, shellPaths } from '../../main/electron/shell-options.js';
import { trayIconFiles } from '../../main/electron/tray-model.js';

/** The Electron shell's decisions, checked without Electron: its modules only wire these to events. */
const RENDERER = pathToFileURL(path.resolve('/opt/sluice/dist/renderer/index.html')).href;

const fromOurPage: IpcSender = {
  channel: CHANNELS.connect,
  fromOurWindow: true,
  isMainFrame: true,
  frameUrl: RENDERER,
};

describe('IPC validation', () => {
  it('accepts our channel from our window, top frame, showing our page', () => {
    expect(ipcProblem(fromOurPage, RENDERER)).toBeUndefined();
    expect(ipcProblem({ ...fromOurPage, frameUrl: `${RENDERER}#/exchange/3` }, RENDERER)).toBeUndefined();
  });

  it('refuses anything else, saying why', () => {
    expect(ipcProblem({ ...fromOurPage, channel: 'sluice:shell' }, RENDERER)).toMatch(/unknown channel/);
    expect(ipcProblem({ ...fromOurPage, fromOurWindow: false }, RENDERER)).toMatch(/not a Sluice window/);
    expect(ipcProblem({ ...fromOurPage, isMainFrame: false }, RENDERER)).toMatch(/subframe/);
    expect(ipcProblem({ ...fromOurPage, frameUrl: 'https://evil.example/' }, RENDERER)).toMatch(/not ours/);
    expect(ipcProblem({ ...fromOurPage, frameUrl: undefined }, RENDERER)).toMatch(/not ours/);
    const sibling = pathToFileURL(path.resolve('/opt/sluice/dist/renderer/other.html')).href;
    expect(ipcProblem({ ...fromOurPage, frameUrl: sibling }, RENDERER)).toMatch(/not ours/);
  });
});

describe('file dialog requests', () => {
  it('takes only a known purpose and a plain file name', () => {
    expect(readFileChoice({ purpose: 'har-open' })).toEqual({ purpose: 'har-open' });
    expect(readFileChoice({ purpose: 'har-save', suggestedName: 'sluice-2026.har' })).toEqual({
      purpose: 'har-save',
      suggestedName: 'sluice-2026.har',
    });
    expect(readFileChoice({ purpose: 'anything' })).toBeUndefined();
    expect(readFileChoice({ purpose: 'har-save', suggestedName: '../../.bashrc' })).toBeUndefined();
    expect(readFileChoice({ purpose: 'har-save', suggestedName: '/etc/passwd' })).toBeUndefined();
    expect(readFileChoice('har-open')).toBeUndefined();
  });
});

describe('navigation', () => {
  it('keeps a window on the renderer page', () => {
    expect(isRendererUrl(`${RENDERER}?x=1#top`, RENDERER)).toBe(true);
    expect(isRendererUrl('file:///etc/passwd', RENDERER)).toBe(false);
    expect(isRendererUrl('https://example.com/', RENDERER)).toBe(false);
    expect(isRendererUrl('not a url', RENDERER)).toBe(false);
  });

  it('sends only http(s) links to the browser', () => {
    expect(externalTarget('https://example.com/docs')).toBe('https://example.com/docs');
    expect(externalTarget('http://localhost:8080/')).toBe('http://localhost:8080/');
    expect(externalTarget('file:///etc/passwd')).toBeUndefined();
    expect(externalTarget('javascript:alert(1)')).toBeUndefined();
    expect(externalTarget('smb://host/share')).toBeUndefined();
  });

  it('puts our CSP on HTTP responses, replacing theirs', () => {
    const headers = withCsp({ 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] });
    expect(headers).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [RENDERER_CSP] });
    expect(RENDERER_CSP).toContain("script-src 'self'");
    expect(RENDERER_CSP).not.toContain('unsafe-eval');
  });
});

describe('shell options', () => {
  it('finds the renderer, preload and host process beside the built main', () => {
    const paths = shellPaths(path.join('/app', 'dist', 'main', 'electron'));
    expect(paths).toEqual({
      rendererIndex: path.join('/app', 'dist', 'renderer', 'index.html'),
      preload: path.join('/app', 'dist', 'main', 'electron', 'preload.cjs'),
      hostProcess: path.join('/app', 'dist', 'main', 'electron', 'host-process.js'),
      // Beside dist/ both in the repository and inside app.asar (electron-builder.yml `files`).
      trayIcons: path.join('/app', 'build', 'tray'),
    });
  });

  it('finds every tray icon the tray can ask for, a valid PNG of its size', () => {
    const builtMain = fileURLToPath(new URL('../../dist/main/electron/', import.meta.url));
    const { trayIcons } = shellPaths(builtMain);
    for (const { file, size, template } of trayIconFiles()) {
      const image = readPng(readFileSync(path.join(trayIcons, file)));
      expect({ file, width: image.width, height: image.height }).toEqual({ file, width: size, height: size });
      const opaque = image.pixels.filter((_, i) => i % 4 === 3 && image.pixels[i]! > 0).length;
      expect(opaque, `${file} draws something`).toBeGreaterThan(size);
      // A template image is black and alpha only: macOS tints it, and any colour would show as grey.
      const coloured = image.pixels.some(
        (value, i) => i % 4 !== 3 && value !== 0 && image.pixels[i - (i % 4) + 3]! > 0,
      );
      expect(coloured, `${file} has colour`).toBe(!template);
    }
  });

  it('reads --data-dir in either form', () => {
    expect(dataDirArg(['electron', 'main.js', '--data-dir', '/tmp/a'])).toBe('/tmp/a');
    expect(dataDirArg(['electron', 'main.js', '--data-dir=/tmp/b'])).toBe('/tmp/b');
    expect(dataDirArg(['electron', 'main.js', '--data-dir'])).toBeUndefined();
    expect(dataDirArg(['electron', 'main.js'])).toBeUndefined();
  });
});

describe('RestartBudget', () => {
  it('allows a few restarts a minute, then refuses until the crashes age out', () => {
    const budget = new RestartBudget(3, 60_000);
    expect([0, 1000, 2000].map((t) => budget.allow(t))).toEqual([true, true, true]);
    expect(budget.allow(3000)).toBe(false);
    expect(budget.allow(61_500)).toBe(true);
  });
});

/** Decodes an 8-bit RGBA PNG, checking its signature, every chunk's CRC and the pixel data's size. */
function readPng(bytes: Buffer): { width: number; height: number; pixels: Uint8Array } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('ascii', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(bytes.readUInt32BE(at + 8 + length), `${type} CRC`).toBe(crc32(bytes.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(chunks[0]!.type).toBe('IHDR');
  expect(chunks.at(-1)!.type).toBe('IEND');
  const header = chunks[0]!.data;
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  expect([...header.subarray(8, 13)], 'RGBA, 8 bits, no interlace').toEqual([8, 6, 0, 0, 0]);
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = width * 4;
  expect(raw.length).toBe(height * (stride + 1));
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    expect(filter, 'filter type').toBeLessThanOrEqual(4);
    for (let x = 0; x < stride; x++) {
      const a = x >= 4 ? pixels[y * stride + x - 4]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? pixels[(y - 1) * stride + x - 4]! : 0;
      const paeth = (): number => {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      };
      const predictor = [0, a, b, (a + b) >> 1, filter === 4 ? paeth() : 0][filter]!;
      pixels[y * stride + x] = (raw[y * (stride + 1) + 1 + x]! + predictor) & 0xff;
    }
  }
  return { width, height, pixels };
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
