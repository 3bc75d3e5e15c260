import dns, { type LookupAddress } from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostLookups, type Lookup } from '../../proxy-core/forward/host-lookups.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startServer, type TestServer } from '../helpers/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The real resolver, counting what it is asked. */
function countingResolver(): { resolve: Lookup; asked: string[] } {
  const asked: string[] = [];
  const resolve: Lookup = (hostname, options, callback) => {
    asked.push(hostname);
    (dns.lookup as unknown as Lookup)(hostname, options, callback);
  };
  return { resolve, asked };
}

function lookUp(
  lookups: HostLookups,
  hostname: string,
  options: dns.LookupOptions = {},
): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[] }> {
  return new Promise((resolve) => lookups.lookup(hostname, options, (err, address) => resolve({ err, address })));
}

describe('upstream host lookups', () => {
  it('a burst of lookups of one host asks the resolver once, and each gets the answer', async () => {
    const { resolve, asked } = countingResolver();
    const lookups = new HostLookups(resolve);
    const answers = await Promise.all(Array.from({ length: 50 }, () => lookUp(lookups, 'localhost', { all: true })));
    expect(asked).toEqual(['localhost']);
    for (const { err, address } of answers) {
      expect(err).toBeNull();
      expect(address).toContainEqual({ address: '127.0.0.1', family: 4 });
    }
    // Each caller has a list of its own: net may reorder what it is given.
    expect(answers[0]!.address).not.toBe(answers[1]!.address);
  });

  it('keeps an answer for its time, then asks again', async () => {
    const { resolve, asked } = countingResolver();
    const lookups = new HostLookups(resolve, 100);
    await lookUp(lookups, 'localhost');
    expect((await lookUp(lookups, 'localhost')).address).toBe('127.0.0.1');
    expect(asked).toHaveLength(1);
    await sleep(150);
    expect((await lookUp(lookups, 'localhost')).address).toBe('127.0.0.1');
    expect(asked).toHaveLength(2);
  });

  it('does not keep a failure', async () => {
    let calls = 0;
    const failing: Lookup = (hostname, _options, callback) => {
      calls += 1;
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      setImmediate(() => callback(err, ''));
    };
    const lookups = new HostLookups(failing);
    const [first, second] = await Promise.all([lookUp(lookups, 'gone.test'), lookUp(lookups, 'gone.test')]);
    expect(first.err?.code).toBe('ENOTFOUND');
    expect(second.err?.code).toBe('ENOTFOUND');
    expect(calls).toBe(1);
    expect((await lookUp(lookups, 'gone.test')).err?.code).toBe('ENOTFOUND');
    expect(calls).toBe(2);
  });

  it('asks again for a host a connection could not reach', async () => {
    const { resolve, asked } = countingResolver();
    const lookups = new HostLookups(resolve);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await lookUp(lookups, 'localhost', { all: true });
    expect(asked).toHaveLength(1);
    const socket = net.connect({ host: 'localhost', port, lookup: lookups.lookup });
    lookups.forgetIfUnreached(socket, 'localhost');
    const code = await new Promise<string | undefined>((r) =>
      socket.once('error', (err: NodeJS.ErrnoException) => r(err.code)),
    );
    expect(code).toBe('ECONNREFUSED');
    const connectAsked = asked.length;
    await lookUp(lookups, 'localhost', { all: true });
    expect(asked).toHaveLength(connectAsked + 1);
    await lookUp(lookups, 'localhost', { all: true });
    expect(asked).toHaveLength(connectAsked + 1);
  });
});

describe('upstream host lookups through the proxy', () => {
  let upstream: TestServer;
  let proxy: TestProxy;
  const asked: string[] = [];
  const realLookup = dns.lookup;

  beforeAll(async () => {
    // Counted from the proxy's start: its lookups go through `dns.lookup` as it was then.
    (dns as { lookup: unknown }).lookup = (hostname: string, ...rest: unknown[]) => {
      asked.push(hostname);
      return (realLookup as (...args: unknown[]) => void)(hostname, ...rest);
    };
    upstream = await startServer((req, res) => res.end(`hello ${req.url}`));
    proxy = await startProxy();
  });
  afterAll(async () => {
    (dns as { lookup: unknown }).lookup = realLookup;
    await proxy?.close();
    await upstream?.close();
  });

  it('twenty connections opened at once to one host share one lookup', async () => {
    const get = (i: number): Promise<string> =>
      new Promise((resolve, reject) => {
        // agent: false, so each request is a connection of its own, and so upstream too.
        const req = http.get(
          { host: '127.0.0.1', port: proxy.port, path: `http://localhost:${upstream.port}/${i}`, agent: false },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
      });
    const bodies = await Promise.all(Array.from({ length: 20 }, (_, i) => get(i)));
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `hello /${i}`));
    expect(asked.filter((host) => host === 'localhost')).toHaveLength(1);
  });
});
