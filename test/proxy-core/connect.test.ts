import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectThroughProxy, fetchViaProxy } from '../helpers/client.js';
import { lastOpened, startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Answers HTTP, and echoes WebSocket-style upgraded bytes back with a prefix. */
function echoHandler(server: http.Server): void {
  server.on('upgrade', (req, socket, head) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Echo: 1\r\n\r\n');
    if (head.length > 0) socket.write(Buffer.concat([Buffer.from('echo:'), head]));
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
}

function readUntil(socket: net.Socket | tls.TLSSocket, text: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}", got "${got}"`)), ms);
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (got.includes(text)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
  });
}

describe('CONNECT', () => {
  let authority: UpstreamAuthority;
  let httpUpstream: TestServer;
  let httpsUpstream: TestServer;
  let echo: net.Server;
  let proxy: TestProxy;
  const bodies: string[] = [];

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    const handler: http.RequestListener = (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.end(`got ${req.method} ${req.url} ${body.length}`);
      });
    };
    httpUpstream = await startServer(handler);
    httpsUpstream = await startServer(handler, { authority });
    echoHandler(httpUpstream.server);
    echoHandler(httpsUpstream.server);
    echo = net.createServer((s) => s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('raw:'), d]))));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  });
  afterAll(async () => {
    await proxy.close();
    await httpUpstream.close();
    await httpsUpstream.close();
    echo.close();
    await authority.remove();
  });

  it('parses plain HTTP sent inside a tunnel, with a body arriving in pieces', async () => {
    const socket = await connectThroughProxy(proxy.port, new URL(httpUpstream.url));
    socket.write(`POST /inside HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nhello`);
    await sleep(50);
    socket.write('world');
    const answer = await readUntil(socket, 'got POST /inside 10');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    socket.destroy();
  });

  it('tunnels anything that is neither TLS nor HTTP untouched, and records its bytes', async () => {
    const port = (echo.address() as net.AddressInfo).port;
    const socket = await connectThroughProxy(proxy.port, new URL(`http://127.0.0.1:${port}`));
    socket.write('\x01\x02binary protocol');
    expect(await readUntil(socket, 'binary protocol')).toBe('raw:\x01\x02binary protocol');
    socket.end();
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed' && e.requestBytes === 17);
    expect(closed).toMatchObject({ responseBytes: 21 });
  });

  it('presents a certificate for the name the client asked for, signed by the Sluice CA', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const url = new URL(`https://${host}:${httpsUpstream.port}/`);
      const socket = (await connectThroughProxy(proxy.port, url, proxy.caPem)) as tls.TLSSocket;
      const cert = new X509Certificate(socket.getPeerX509Certificate()!.raw);
      expect(cert.checkIssued(new X509Certificate(proxy.caPem))).toBe(true);
      expect(cert.subjectAltName).toContain(host === 'localhost' ? 'DNS:localhost' : 'IP Address:127.0.0.1');
      socket.destroy();
    }
  });

  it('passes TLS for pass-through hosts through raw: the client sees the upstream certificate', async () => {
    const passing = await startProxy({ passThroughHosts: ['localhost'] });
    const raw = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: passing.port,
        method: 'CONNECT',
        path: `localhost:${httpsUpstream.port}`,
      });
      req.on('connect', (_res, socket) => resolve(socket));
      req.on('error', reject);
      req.end();
    });
    const secure = tls.connect({ socket: raw, servername: 'localhost', ca: authority.ca.certPem });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    onTestFinished(() => passing.close());
    const issuer = new X509Certificate(secure.getPeerX509Certificate()!.raw);
    expect(issuer.checkIssued(new X509Certificate(authority.ca.certPem))).toBe(true);
    secure.destroy();
  });

  it('refuses an upstream whose certificate it cannot verify, saying why', async () => {
    const strict = await startProxy();
    try {
      const res = await fetchViaProxy(strict.port, `${httpsUpstream.url}/untrusted`, { caPem: strict.caPem });
      expect(res.status).toBe(502);
      const closed = await strict.waitFor((e) => e.type === 'exchange-closed');
      expect(closed).toMatchObject({ outcome: 'proxy-error' });
      expect(closed.type === 'exchange-closed' && closed.detail).toMatch(/certificate/i);
    } finally {
      await strict.close();
    }
  });

  it.each(['http', 'https'] as const)('passes a WebSocket upgrade over %s through untouched', async (scheme) => {
    const upstream = scheme === 'http' ? httpUpstream : httpsUpstream;
    const socket =
      scheme === 'https'
        ? await connectThroughProxy(proxy.port, new URL(upstream.url), proxy.caPem)
        : net.connect(proxy.port, '127.0.0.1');
    const target = scheme === 'https' ? '/ws' : `${upstream.url}/ws`;
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await readUntil(socket, '\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toContain('X-Echo: 1');
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    // The echo server's prefix, then the frame byte for byte (latin1: one character per byte), and nothing else.
    expect(await readUntil(socket, 'hi')).toBe('echo:\x81\x02hi');
    const opened = lastOpened(proxy.events, (e) => e.kind === 'websocket');
    socket.destroy();
    const closed = await proxy.waitFor((e) => e.type === 'exchange-closed' && e.id === opened?.id);
    expect(closed).toMatchObject({ outcome: 'client-closed', requestBytes: 4 });
  });
});
