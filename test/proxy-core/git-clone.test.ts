import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeClosedEvent, ExchangeOpenedEvent, ProxyEvent } from '../../app/proxy-events.js';
import { git, gitEnv, gitHttpBackend, type GitHttpBackend } from '../helpers/git-http-backend.js';
import type { TestProxy } from '../helpers/proxy.js';
import { SCHEMES, useRig, type Scheme } from '../helpers/schemes.js';
import { tempDir } from '../helpers/temp-dir.js';

// Incompressible content, so the packfile is as large as the data and its sideband packets
// must span many TCP reads on the way through the proxy.
const COMMITS = 4;
const FILES_PER_COMMIT = 3;
const FILE_BYTES = 2_500_000;
const SOURCE_BYTES = COMMITS * FILES_PER_COMMIT * FILE_BYTES;

type TempDir = Awaited<ReturnType<typeof tempDir>>;

let home: TempDir;
let projectRoot: TempDir;
let env: NodeJS.ProcessEnv;
let sourceHead: string;
let backend: GitHttpBackend;
const removeAfterEach: TempDir[] = [];

// The rigs' servers exist before the repository does, so they reach the backend through this.
const serveGit: http.RequestListener = (req, res) => backend.handler(req, res);

beforeAll(async () => {
  home = await tempDir('sluice-git-home-');
  projectRoot = await tempDir('sluice-git-root-');
  env = gitEnv(home.path);
  sourceHead = await makeSourceRepository(join(projectRoot.path, 'repo.git'));
  backend = gitHttpBackend(projectRoot.path, env);
});

afterEach(async () => {
  await Promise.all(removeAfterEach.splice(0).map((dir) => dir.remove()));
});

afterAll(async () => {
  backend?.killAll();
  await home?.remove();
  await projectRoot?.remove();
});

describe.each(SCHEMES)('git clone over %s through the proxy', (scheme) => {
  const rig = useRig(scheme, serveGit);

  it('completes, passes fsck and checks out the source HEAD', async () => {
    const work = await tempDir('sluice-git-clone-');
    removeAfterEach.push(work);
    const clone = join(work.path, 'clone');
    const caFile = join(work.path, 'proxy-ca.pem');
    await writeFile(caFile, rig.proxy.caPem);

    await cloneThroughProxy(rig.proxy, caFile, `${rig.upstream.url}/repo.git`, clone);
    await git(['fsck', '--full'], { cwd: clone, env });
    expect(await revParseHead(clone)).toBe(sourceHead);
    await expectUploadPackCarried(rig.proxy, scheme);
  });
});

/** A bare repository of a few commits of random files; returns its HEAD commit id. */
async function makeSourceRepository(bare: string): Promise<string> {
  const workTree = await tempDir('sluice-git-work-');
  try {
    await git(['init', '--quiet', '--bare', '--initial-branch=main', bare], { env });
    const inRepo = ['--git-dir', bare, '--work-tree', workTree.path, '-c', 'user.name=Sluice', '-c', 'user.email=t@t'];
    for (let commit = 0; commit < COMMITS; commit++) {
      const dir = join(workTree.path, `c${commit}`);
      await mkdir(dir);
      for (let file = 0; file < FILES_PER_COMMIT; file++) {
        await writeFile(join(dir, `blob-${file}.bin`), randomBytes(FILE_BYTES));
      }
      await git([...inRepo, 'add', '--all'], { env });
      await git([...inRepo, 'commit', '--quiet', '-m', `random data ${commit}`], { env });
    }
    return (await git(['--git-dir', bare, 'rev-parse', 'HEAD'], { env })).stdout.trim();
  } finally {
    await workTree.remove();
  }
}

async function cloneThroughProxy(proxy: TestProxy, caFile: string, url: string, into: string): Promise<void> {
  const args = [
    '-c',
    `http.proxy=http://127.0.0.1:${proxy.port}`,
    '-c',
    `http.sslCAInfo=${caFile}`,
    'clone',
    url,
    into,
  ];
  try {
    await git(args, { env });
  } catch (err) {
    // git alone only says "early EOF" or times out; what the proxy saw tells where it broke.
    throw new Error(`${(err as Error).message}\nproxy events:\n${describeEvents(proxy.events)}`, { cause: err });
  }
}

function describeEvents(events: readonly ProxyEvent[]): string {
  const lines: string[] = [];
  for (const e of events) {
    if (e.type === 'exchange-opened') {
      lines.push(`#${e.id} opened ${e.request.method} ${e.request.url} intercepted=${e.intercepted}`);
    } else if (e.type === 'response-head') {
      lines.push(`#${e.id} response ${e.response.status}`);
    } else if (e.type === 'exchange-closed') {
      lines.push(`#${e.id} closed ${e.outcome} ${e.reason ?? ''} ${e.detail ?? ''} (${e.responseBytes} bytes)`);
    } else if (e.type === 'client-error') {
      lines.push(`client-error ${e.code}: ${e.detail}`);
    }
  }
  return lines.length > 0 ? lines.join('\n') : '(none)';
}

async function revParseHead(repo: string): Promise<string> {
  return (await git(['rev-parse', 'HEAD'], { cwd: repo, env })).stdout.trim();
}

/**
 * Proves the clone went through Sluice and not around it: every upload-pack exchange completed,
 * was intercepted exactly when the client used https, and one of them carried the whole pack.
 */
async function expectUploadPackCarried(proxy: TestProxy, scheme: Scheme): Promise<void> {
  const opened = proxy.events.filter(
    (e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.includes('git-upload-pack'),
  );
  expect(opened.length).toBeGreaterThan(0);
  const closed: ExchangeClosedEvent[] = [];
  for (const exchange of opened) {
    expect(exchange.intercepted).toBe(scheme === 'https');
    closed.push(await proxy.waitFor((e: ProxyEvent): e is ExchangeClosedEvent => isClosedEvent(e, exchange.id)));
  }
  expect(closed.map((e) => [e.id, e.outcome, e.reason])).toEqual(opened.map((e) => [e.id, 'completed', undefined]));

  const pack = closed.reduce((a, b) => (b.responseBytes > a.responseBytes ? b : a));
  expect(pack.responseBytes).toBeGreaterThan(SOURCE_BYTES);
  const packChunks = proxy.events.filter((e) => e.type === 'chunk' && e.id === pack.id && e.direction === 'response');
  expect(packChunks.length).toBeGreaterThan(100);
}

function isClosedEvent(e: ProxyEvent, id: number): e is ExchangeClosedEvent {
  return e.type === 'exchange-closed' && e.id === id;
}
