import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
    });
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
