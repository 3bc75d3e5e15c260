import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { connectThroughProxy } from '../test/helpers/client.js';
import { startCli } from '../test/helpers/cli.js';
import { makeUpstreamAuthority } from '../test/helpers/servers.js';
import { tempDir } from '../test/helpers/temp-dir.js';
import { expect, readAll, requestViaProxy, screenshot, test } from './fixtures.js';

test('HTTP/2 streams show as HTTP/2 with their connection and stream; the protocol filter tells them from HTTP/1.1', async ({
  page,
  upstream,
}) => {
  // An HTTP/2 upstream over TLS, trusted by this Sluice through --upstream-ca.
  const authority = await makeUpstreamAuthority();
  const h2 = http2.createSecureServer(authority.issue('localhost'));
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => sessions.add(session));
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(`h2 ${String(headers[':path'])}`);
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  const dir = await tempDir('sluice-e2e-');
  const upstreamCa = path.join(dir.path, 'upstream-ca.pem');
  await writeFile(upstreamCa, authority.ca.certPem);
  const cli = await startCli(['--port', '0', '--data-dir', path.join(dir.path, 'data'), '--upstream-ca', upstreamCa]);
  let client: http2.ClientHttp2Session | undefined;
  try {
    await page.goto((await cli.line('ui: ')).slice(4));
    await expect(page.getByTestId('proxy-state')).toContainText('running');

    // A client that CONNECTs and speaks HTTP/2 to the intercepting proxy: two streams, one connection.
    const port = (h2.address() as AddressInfo).port;
    const tunnel = await connectThroughProxy(cli.port, new URL(`http://localhost:${port}`));
    const secure = tls.connect({
      socket: tunnel,
      servername: 'localhost',
      ca: await readFile(cli.caPath, 'utf8'),
      ALPNProtocols: ['h2'],
    });
    await once(secure, 'secureConnect');
    client = http2.connect(`https://localhost:${port}`, { createConnection: () => secure });
    const get = (where: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const stream = client!.request({ ':path': where });
        const parts: Buffer[] = [];
        stream.on('data', (part: Buffer) => parts.push(part));
        stream.on('end', () => resolve(Buffer.concat(parts).toString()));
        stream.on('error', reject);
      });
    expect(await get('/first')).toBe('h2 /first');
    expect(await get('/second')).toBe('h2 /second');
    const plain = await upstream((_req, res) => res.end('h1'));
    await readAll(await requestViaProxy(cli.port, `${plain.url}/old`));

    const rows = page.getByTestId('exchange-row');
    const row = (where: string) => rows.filter({ hasText: where });
    await expect(rows).toHaveCount(3);
    await expect(row('/first').locator('.c-protocol')).toHaveText('HTTP/2');
    await expect(row('/second').locator('.c-protocol')).toHaveText('HTTP/2');
    await expect(row('/old').locator('.c-protocol')).toHaveText('HTTP/1.1');

    await page.getByLabel('Filter by protocol').selectOption('HTTP/2');
    await expect(rows).toHaveCount(2);
    await page.getByLabel('Filter by protocol').selectOption('HTTP/1.1');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('/old');
    await page.getByLabel('Filter by protocol').selectOption('all');

    // Both streams name the same connection; the first stream a client opens is 1, the next 3.
    const protocol = page.getByTestId('protocol');
    await row('/first').click();
    await expect(protocol).toHaveText(/^HTTP\/2 · connection \d+ · stream 1$/);
    const connection = /connection (\d+)/.exec((await protocol.textContent()) ?? '')![1];
    await expect(page.getByTestId('headers-view')).toContainText('GET https://localhost');
    await expect(page.getByTestId('headers-view')).toContainText('/first HTTP/2');
    await expect(page.getByTestId('headers-view')).toContainText('HTTP/2 200');
    await row('/second').click();
    await expect(protocol).toHaveText(`HTTP/2 · connection ${connection} · stream 3`);
    await screenshot(page, 'protocols-http2');
    await row('/old').click();
    await expect(protocol).toHaveText(/^HTTP\/1\.1 · connection \d+$/);
    await expect(protocol).not.toHaveText(`HTTP/1.1 · connection ${connection}`);
  } finally {
    client?.destroy();
    await cli.stop();
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => h2.close(() => resolve()));
    await dir.remove();
    await authority.remove();
  }
});
