import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { osFromUserAgent, systemTrust, toolTrust, type TrustWay } from '../../app/ca-trust.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp-dir.js';

// A machine may set these already (this one's CI does); each test's command must do the trusting itself.
const TRUST_VARIABLES = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'REQUESTS_CA_BUNDLE',
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
];

function bash(script: string, extra: Record<string, string> = {}): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !TRUST_VARIABLES.includes(name)));
  return new Promise((resolve, reject) => {
    const child = execFile('bash', ['-s'], { timeout: 20_000, env: { ...env, ...extra } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(script);
  });
}

const way = (ways: TrustWay[], label: string): string => {
  const command = ways.find((w) => w.label.startsWith(label))?.command;
  if (!command) throw new Error(`no command for ${label}`);
  return command;
};

describe('the tools settings, run with a CA in a folder whose name a shell would split', () => {
  let authority: UpstreamAuthority;
  let server: TestServer;
  let caPath: string;
  let removeDir: () => Promise<void>;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    server = await startServer((_req, res) => res.end('trusted'), { authority });
    const dir = await tempDir('sluice-ca-trust-');
    removeDir = dir.remove;
    const folder = join(dir.path, `Application Support/it's $HOME`);
    await mkdir(folder, { recursive: true });
    caPath = join(folder, 'ca.pem');
    await writeFile(caPath, authority.ca.certPem);
  });

  afterAll(async () => {
    await server?.close();
    await authority?.remove();
    await removeDir?.();
  });

  it('Node trusts the CA with NODE_EXTRA_CA_CERTS as given', async () => {
    const env = way(toolTrust(caPath, 'linux'), 'Node.js');
    const fetch = `node -e 'fetch("${server.url}/").then((r) => r.text()).then((t) => process.stdout.write(t))'`;
    expect(await bash(`${env}\n${fetch}`)).toBe('trusted');
  });

  it('curl trusts it with --cacert as given', async () => {
    const command = way(toolTrust(caPath, 'linux'), 'curl').replace('https://example.com/', `${server.url}/`);
    expect(await bash(`${command} -sS`)).toBe('trusted');
  });

  it("Python's ssl trusts it with SSL_CERT_FILE as given", async () => {
    const env = way(toolTrust(caPath, 'linux'), 'Python urllib');
    const python = `python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("${server.url}/").read().decode())'`;
    expect(await bash(`${env}\n${python}`)).toBe('trusted');
  });

  it('git trusts it with http.sslCAInfo as given, and with GIT_SSL_CAINFO from the note', async () => {
    const git = toolTrust(caPath, 'linux').find((w) => w.label === 'git');
    const [, forOneShell] = /For one shell: (export GIT_SSL_CAINFO=.*) \(/.exec(git?.note ?? '') ?? [];
    expect(forOneShell).toBeDefined();
    // Not the user's own settings: a global config file of the test's own.
    const config = { GIT_CONFIG_GLOBAL: join(dirname(caPath), 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1' };
    // No git server there: a git past TLS complains about the reply, not the certificate.
    const lsRemote = `git ls-remote ${server.url}/repo.git 2>&1 || true`;
    expect(await bash(lsRemote, config)).toMatch(/certificate/i);
    expect(await bash(`${git?.command}\n${lsRemote}`, config)).not.toMatch(/certificate|SSL/i);
    expect(await bash(`${forOneShell}\n${lsRemote}`)).not.toMatch(/certificate|SSL/i);
  });

  it('every POSIX command names the path as one word', () => {
    const quoted = `'${caPath.replace(/'/g, `'\\''`)}'`;
    for (const w of [...toolTrust(caPath, 'linux'), ...systemTrust(caPath).flatMap((s) => s.ways)]) {
      if (w.command && !w.command.includes('certutil -user')) expect(w.command).toContain(quoted);
    }
  });
});

describe('the OS a browser runs on', () => {
  it('reads it from the user agent and platform', () => {
    expect(
      osFromUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/140.0', 'Linux x86_64'),
    ).toBe('linux');
    expect(osFromUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)', 'MacIntel')).toBe('darwin');
    expect(osFromUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'Win32')).toBe('win32');
    expect(osFromUserAgent('', '')).toBeUndefined();
  });

  it('writes Windows settings for PowerShell', () => {
    const ways = toolTrust('C:\\Users\\me\\AppData\\Roaming\\Sluice\\ca.pem', 'win32');
    expect(way(ways, 'Node.js')).toBe('$env:NODE_EXTRA_CA_CERTS = "C:\\Users\\me\\AppData\\Roaming\\Sluice\\ca.pem"');
    expect(way(ways, 'curl')).toMatch(/^curl\.exe --cacert "C:\\/);
  });
});
