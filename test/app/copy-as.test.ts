import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptBodyNote, replayHeaders, shellQuote, toCurl, toFetch, type RequestToCopy } from '../../app/copy-as.js';
import type { ExchangeClosedEvent } from '../../app/proxy-events.js';
import { fetchViaProxy } from '../helpers/client.js';
import { connectH2, h2Request, startH2Server, type H2Server } from '../helpers/h2.js';
import { lastOpened, startProxy, type TestProxy } from '../helpers/proxy.js';
import { makeUpstreamAuthority, startServer, type TestServer, type UpstreamAuthority } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp-dir.js';

/** What an upstream received, as the wire had it. */
interface Received {
  readonly method: string;
  readonly path: string;
  readonly httpVersion: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
}

/** Every request each path received, in order: the original first, then each copy run. */
const received = new Map<string, Received[]>();

function record(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const list = received.get(path) ?? [];
    list.push({
      method: req.method ?? '',
      path: url,
      httpVersion: req.httpVersion,
      headers,
      body: Buffer.concat(parts),
    });
    received.set(path, list);
    if (path.startsWith('/gzip')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(gzipSync('decoded answer'));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    }
  });
}

// Headers the tools add by themselves when the original had none; they change nothing for a server.
const CURL_DEFAULTS = ['user-agent', 'accept'];
const FETCH_DEFAULTS = ['user-agent', 'accept', 'accept-language', 'sec-fetch-mode', 'accept-encoding', 'content-type'];
// Framing and the connection: each client frames the same bytes its own way.
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'expect']);

/**
 * Headers to compare, lower-cased: pseudo-headers sorted (their order is the client's choice),
 * cookie crumbs joined, and with `joinRepeats` each repeated name joined with ", " as fetch's
 * Headers does, which means the same to a server (RFC 9110 section 5.3).
 */
function comparable(r: Received, ignorePseudo: boolean, joinRepeats: boolean): [string, string][] {
  const pseudo: [string, string][] = [];
  const out: [string, string][] = [];
  const cookies: string[] = [];
  for (const [name, value] of r.headers) {
    const lower = name.toLowerCase();
    if (FRAMING.has(lower)) continue;
    if (lower.startsWith(':')) {
      // Across versions `:authority` is what HTTP/1.1 calls Host; the others are in the request line.
      if (!ignorePseudo) pseudo.push([lower, value]);
      else if (lower === ':authority') out.unshift(['host', value]);
    } else if (lower === 'cookie') cookies.push(value);
    else {
      const earlier = joinRepeats ? out.find(([n]) => n === lower) : undefined;
      if (earlier) earlier[1] = `${earlier[1]}, ${value}`;
      else out.push([lower, value]);
    }
  }
  if (cookies.length > 0) out.push(['cookie', cookies.join('; ')]);
  return [...pseudo.sort(([a], [b]) => a.localeCompare(b)), ...out];
}

/** The copy reached the upstream as the original did: method, path, version, headers in order, body bytes. */
function expectSameRequest(original: Received, copy: Received, tool: 'curl' | 'fetch', sameVersion = true): void {
  const toolDefaults = tool === 'curl' ? CURL_DEFAULTS : FETCH_DEFAULTS;
  expect(copy.method).toBe(original.method);
  expect(copy.path).toBe(original.path);
  if (sameVersion) expect(copy.httpVersion).toBe(original.httpVersion);
  expect(copy.body.equals(original.body)).toBe(true);
  const had = new Set(original.headers.map(([n]) => n.toLowerCase()));
  const join = tool === 'fetch';
  const fromCopy = comparable(copy, !sameVersion, join).filter(
    ([name]) => had.has(name) || !toolDefaults.includes(name),
  );
  expect(fromCopy).toEqual(comparable(original, !sameVersion, join));
}

/** Runs a program with `script` on its standard input, as pasting does: a long body is too long for argv. */
function run(file: string, args: string[], script: string, env: Record<string, string>): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: { ...process.env, ...env }, timeout: 20_000, maxBuffer: 1 << 24 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${file} failed: ${err.message}\n${stderr}`)) : resolve({ stdout }),
    );
    child.stdin?.end(script);
  });
}

let proxy: TestProxy;
let plain: TestServer;
let secure: H2Server;
let authority: UpstreamAuthority;
let upstreamCaFile: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  authority = await makeUpstreamAuthority();
  const dir = await tempDir('sluice-copy-as-');
  removeDir = dir.remove;
  upstreamCaFile = join(dir.path, 'upstream-ca.pem');
  await writeFile(upstreamCaFile, authority.ca.certPem);
  proxy = await startProxy({ upstreamCaPems: [authority.ca.certPem] });
  plain = await startServer(record);
  // One TLS server for both versions: h2 by ALPN, HTTP/1.1 for clients that offer only that.
  secure = await startH2Server(() => undefined, { authority, allowHTTP1: true });
  secure.server.on('request', record);
});

afterAll(async () => {
  await Promise.all([proxy?.close(), plain?.close(), secure?.close()]);
  await authority?.remove();
  await removeDir?.();
});

/** The request as Sluice captured it, for the path given: head and the body it kept. */
async function captured(path: string): Promise<RequestToCopy> {
  const opened = lastOpened(proxy.events, (e) => new URL(e.request.url).pathname === path);
  if (!opened) throw new Error(`no exchange for ${path}`);
  await proxy.waitFor((e): e is ExchangeClosedEvent => e.type === 'exchange-closed' && e.id === opened.id);
  const range = await proxy.proxy.readBody(opened.id, 'request');
  return { head: opened.request, body: range && range.bytes.length > 0 ? new Uint8Array(range.bytes) : undefined };
}

const runCurl = (command: string): Promise<{ stdout: string }> =>
  run('bash', ['-s'], command, { CURL_CA_BUNDLE: upstreamCaFile });
const runFetch = (code: string): Promise<{ stdout: string }> =>
  run(
    process.execPath,
    ['--input-type=module'],
    `const r = ${code.replace(/;$/, '')};\nprocess.stdout.write(await r.text());`,
    {
      NODE_EXTRA_CA_CERTS: upstreamCaFile,
    },
  );

const utf8AsLatin1 = (s: string): string => Buffer.from(s).toString('latin1');

const TRICKY_TEXT = `{"note": "it's \\"quoted\\" $HOME \`id\` $(echo no) !!",\n\t"emoji": "ü🙂", "back": "\\\\"}`;
const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x27, 0x5c, 0x0a, 0x0d, 0x25, 0x80, 0, 0x7f, 0x41]);
const BIG_TEXT = "line of text with a quote ' and a dollar $x\n".repeat(5000);

interface Case {
  readonly name: string;
  readonly path: string;
  readonly send: () => Promise<unknown>;
  /** Run the fetch copy too (fetch cannot send HTTP/1.0 or choose HTTP/2, and browsers drop some headers). */
  readonly fetch?: boolean;
}

const cases: Case[] = [
  {
    name: 'a POST with a JSON body and headers a shell would eat',
    path: '/text',
    fetch: true,
    send: () =>
      fetchViaProxy(proxy.port, `${plain.url}/text?a=1&b=$x`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Quote': `it's "quoted" $HOME \`id\` \\n`,
          'X-Utf8': utf8AsLatin1('café ü'),
          'X-Latin1': 'caf\u00e9',
          'X-Empty': '',
          Cookie: 'a=1; b=two',
          Authorization: 'Bearer abc.def',
        },
        body: TRICKY_TEXT,
      }),
  },
  {
    name: 'a PUT with a binary body (NUL, 0xff) and no Content-Type',
    path: '/binary',
    fetch: true,
    send: () => fetchViaProxy(proxy.port, `${plain.url}/binary`, { method: 'PUT', body: BINARY }),
  },
  {
    name: 'a body over 64 KiB (on standard input) and over 1 KiB (no Expect added)',
    path: '/big',
    fetch: true,
    send: () =>
      fetchViaProxy(proxy.port, `${plain.url}/big`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: BIG_TEXT,
      }),
  },
  {
    name: 'repeated headers and brackets in the URL',
    path: '/repeat',
    fetch: true,
    send: () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: proxy.port,
          path: `${plain.url}/repeat?q=[1]{2}`,
          // A flat list: the only way to send a name twice as two fields.
          headers: ['Host', `127.0.0.1:${plain.port}`, 'X-Multi', 'one', 'X-Multi', 'two', 'Accept', 'text/plain'],
          agent: false,
        });
        req.on('response', (res) => res.resume().on('end', resolve));
        req.on('error', reject);
        req.end();
      }),
  },
  {
    name: 'a DELETE without a body',
    path: '/delete',
    fetch: true,
    send: () => fetchViaProxy(proxy.port, `${plain.url}/delete`, { method: 'DELETE', headers: { 'X-Why': 'test' } }),
  },
  {
    name: 'a POST with an empty body',
    path: '/empty',
    fetch: true,
    send: () =>
      fetchViaProxy(proxy.port, `${plain.url}/empty`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: '',
      }),
  },
  {
    name: 'a HEAD',
    path: '/head',
    fetch: true,
    send: () => fetchViaProxy(proxy.port, `${plain.url}/head`, { method: 'HEAD' }),
  },
  {
    name: 'HTTPS HTTP/1.1 asking for gzip',
    path: '/gzip',
    fetch: true,
    send: () =>
      fetchViaProxy(proxy.port, `https://localhost:${secure.port}/gzip`, {
        headers: { 'Accept-Encoding': 'gzip' },
        caPem: proxy.caPem,
      }),
  },
  {
    name: 'HTTP/2 over TLS with a body, pseudo-headers and cookie crumbs',
    path: '/h2',
    fetch: true,
    send: async () => {
      const { session, socket } = await connectH2(proxy.port, `localhost:${secure.port}`, { caPem: proxy.caPem });
      try {
        await h2Request(
          session,
          {
            ':method': 'PATCH',
            ':path': '/h2?x=1',
            'content-type': 'application/json',
            'x-custom': 'h2 value',
            cookie: ['a=1', 'b=2'],
          },
          TRICKY_TEXT,
        );
      } finally {
        session.close();
        socket.destroy();
      }
    },
  },
];

describe('Copy as cURL and fetch send the captured request again', () => {
  for (const c of cases) {
    it(`curl: ${c.name}`, async () => {
      received.delete(c.path);
      await c.send();
      const request = await captured(c.path);
      const command = toCurl(request);
      const { stdout } = await runCurl(command);
      const [original, copy] = received.get(c.path) ?? [];
      expect(copy, command).toBeDefined();
      expectSameRequest(original!, copy!, 'curl');
      if (c.path === '/gzip') expect(stdout).toBe('decoded answer');
      if (c.path === '/head') expect(stdout).toContain('200');

      if (!c.fetch) return;
      const code = toFetch(request);
      await runFetch(code);
      const fromFetch = received.get(c.path)![2];
      expect(fromFetch, code).toBeDefined();
      // fetch in Node speaks HTTP/1.1 only; the rest must match.
      expectSameRequest(original!, fromFetch!, 'fetch', request.head.httpVersion !== '2');
    });
  }

  it('the curl copy of an HTTP/2 request asks for HTTP/2, and of an HTTPS HTTP/1.1 one for HTTP/1.1', async () => {
    expect(received.get('/h2')?.[1]?.httpVersion).toBe('2.0');
    expect(received.get('/gzip')?.[1]?.httpVersion).toBe('1.1');
  });

  it('a body Sluice did not keep is said at the top, and the command still runs', async () => {
    received.delete('/text');
    await cases[0]!.send();
    const request = await captured('/text');
    const note = keptBodyNote(request.body!.length, null);
    const command = toCurl({ head: request.head, bodyNote: note });
    expect(command.split('\n')[0]).toBe(`# ${note}`);
    await runCurl(command);
    expect(received.get('/text')?.[1]?.body.length).toBe(0);
    expect(received.get('/text')?.[1]?.method).toBe('POST');
    expect(toFetch({ head: request.head, bodyNote: note }).split('\n')[0]).toBe(`// ${note}`);
  });
});

describe('the pieces', () => {
  it('drops hop-by-hop fields, fields the Connection header names, framing and pseudo-headers', () => {
    const headers = replayHeaders({
      method: 'GET',
      url: 'https://example.com/a',
      httpVersion: '2',
      headers: [
        [':method', 'GET'],
        [':authority', 'example.com'],
        [':scheme', 'https'],
        [':path', '/a'],
        ['Connection', 'close, X-Hop'],
        ['X-Hop', '1'],
        ['Proxy-Authorization', 'Basic eA=='],
        ['TE', 'trailers'],
        ['Content-Length', '3'],
        ['Host', 'example.com'],
        ['X-Keep', 'yes'],
      ],
    });
    expect(headers).toEqual([['X-Keep', 'yes']]);
  });

  it('keeps a Host that differs from the URL', () => {
    const head = {
      method: 'GET',
      url: 'http://127.0.0.1:8080/',
      httpVersion: '1.1',
      headers: [['Host', 'api.test']] as const,
    };
    expect(replayHeaders({ ...head, headers: [['Host', 'api.test']] })).toEqual([['Host', 'api.test']]);
    expect(replayHeaders({ ...head, headers: [['Host', '127.0.0.1:8080']] })).toEqual([]);
  });

  it('quotes for the shell: single quotes, and $"..." only for control characters', () => {
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(shellQuote('a\nb\\')).toBe(`$'a\\nb\\\\'`);
  });

  it('adds --compressed only when the request asked for an encoding', () => {
    const head = { method: 'GET', url: 'http://h/', httpVersion: '1.1', headers: [] };
    expect(toCurl({ head })).not.toContain('--compressed');
    expect(toCurl({ head: { ...head, headers: [['Accept-Encoding', 'br']] } })).toContain('--compressed');
  });

  it('says why a body is missing or partial', () => {
    expect(keptBodyNote(0, null)).toBeUndefined();
    expect(keptBodyNote(10, null)).toMatch(/kept no copy/);
    expect(keptBodyNote(10, { captured: 4, limited: 'body-cap' })).toMatch(/only the first 4 of .* 10/);
    expect(keptBodyNote(10, { captured: 10 }, { cap: 5 })).toMatch(/more than a copy carries/);
    expect(keptBodyNote(10, { captured: 10 })).toBeUndefined();
  });
});
