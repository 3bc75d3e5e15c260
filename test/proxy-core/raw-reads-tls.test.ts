import net from 'node:net';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptRawReads, attachRawReader, readsRaw } from '../../proxy-core/forward/raw-reads.js';
import { H1Connections } from '../../proxy-core/forward/h1-connections.js';
import { makeUpstreamAuthority, type UpstreamAuthority } from '../helpers/servers.js';

const BODY = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251));

/** TLS made over a TCP connection already open, as every CONNECT tunnel's upstream is. */
async function tlsOverOpenSocket(port: number, caPem: string): Promise<tls.TLSSocket> {
  const tcp = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
  const secure = tls.connect({ socket: tcp, servername: 'localhost', ca: caPem });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  return secure;
}

describe('raw reads on a TLS socket made over an open connection (Node ignores onread there)', () => {
  let authority: UpstreamAuthority;
  let server: tls.Server;
  let port: number;

  beforeAll(async () => {
    authority = await makeUpstreamAuthority();
    // Writes BODY once the client says anything, so the reader is attached before any plaintext.
    server = tls.createServer(authority.issue('localhost'), (socket) => {
      socket.once('data', () => socket.end(BODY));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await authority?.remove();
  });

  it('delivers every byte into our own record-sized buffers, none through data events', async () => {
    const secure = await tlsOverOpenSocket(port, authority.ca.certPem);
    expect(adoptRawReads(secure)).toBe(true);
    expect(readsRaw(secure)).toBe(true);
    const pieces: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    let viaData = 0;
    secure.on('data', (d: Buffer) => (viaData += d.length));
    attachRawReader(secure, {
      onBytes(piece, buffer) {
        expect(piece.buffer).toBe(buffer.buffer);
        expect(buffer.length).toBe(16 * 1024);
        buffers.add(buffer.buffer);
        pieces.push(Buffer.from(piece));
      },
    });
    const ended = new Promise<void>((resolve) => secure.once('end', resolve));
    secure.write('go');
    await ended;
    expect(viaData).toBe(0);
    expect(Buffer.concat(pieces).equals(BODY)).toBe(true);
    // Read into a few reused buffers, not one new buffer per record.
    expect(buffers.size).toBeLessThanOrEqual(2);
    expect(pieces.length).toBeGreaterThanOrEqual(Math.ceil(BODY.length / (16 * 1024)));
    secure.destroy();
  });

  it('without a reader, bytes still come as data events, whole and in order', async () => {
    const secure = await tlsOverOpenSocket(port, authority.ca.certPem);
    expect(adoptRawReads(secure)).toBe(true);
    const got: Buffer[] = [];
    secure.on('data', (d: Buffer) => got.push(d));
    const ended = new Promise<void>((resolve) => secure.once('end', resolve));
    secure.write('go');
    await ended;
    expect(Buffer.concat(got).equals(BODY)).toBe(true);
    secure.destroy();
  });

  it("an HTTP/1.1 tunnel's own connections read its spare raw, and close with the tunnel", async () => {
    const secure = await tlsOverOpenSocket(port, authority.ca.certPem);
    const tunnel = new PassThrough();
    const connections = H1Connections.forTunnel(tunnel, secure, undefined);
    expect(readsRaw(secure)).toBe(true);
    expect(connections.parkedCount).toBe(1);
    const closed = new Promise((resolve) => secure.once('close', resolve));
    tunnel.emit('close');
    await closed;
    expect(connections.parkedCount).toBe(0);
  });
});
