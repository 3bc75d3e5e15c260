import { describe, expect, it } from 'vitest';
import { fetchViaProxy, rawExchange } from '../helpers/client.js';
import { useRig } from '../helpers/schemes.js';

describe('malformed requests', () => {
  const rig = useRig('http', (req, res) => {
    res.end(`served ${req.method} ${req.url}`);
  });

  const cases: [string, () => string][] = [
    ['garbage bytes', () => '\x00\x01\x02 not http at all \xff\r\n\r\n'],
    [
      'a 1 MiB header line',
      () => `GET ${rig.upstream.url}/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1 << 20)}\r\n\r\n`,
    ],
    [
      'both Content-Length and Transfer-Encoding',
      () =>
        `POST ${rig.upstream.url}/smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /evil HTTP/1.1\r\nHost: x\r\n\r\n`,
    ],
    ['an origin-form request sent to the proxy itself', () => `GET /just-a-path HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a CONNECT without a port', () => `CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n`],
  ];

  it.each(cases)('%s gets a 4xx or a clean close, and the next request is served', async (_name, request) => {
    const answer = await rawExchange(rig.proxy.port, request(), 5000);
    if (answer.length > 0) expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(answer).not.toContain('served');
    const next = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/after`);
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('served GET /after');
  });

  it('reports what was wrong as a client-error event', async () => {
    await rawExchange(rig.proxy.port, `GET ${rig.upstream.url}/ HTTP/1.1\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`);
    const event = await rig.proxy.waitFor((e) => e.type === 'client-error' && e.status === 431);
    expect(event).toMatchObject({ type: 'client-error', code: 'HPE_HEADER_OVERFLOW' });
  });
});
