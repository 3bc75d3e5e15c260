/**
 * The floor Node allows: a proxy that does what Sluice must (parse an absolute-form HTTP/1.1
 * request, or answer CONNECT and terminate TLS, then connect and encrypt upstream; for a client
 * that chose h2, relay each stream on an HTTP/2 session upstream, with Sluice's flow-control
 * settings) and nothing else: bodies are piped, nothing is recorded, parsed or timed. Its CPU
 * per GiB, measured in the same run, says how much of Sluice's is the platform's. Usage:
 * minimal-relay.js KEY CERT CA [parse-tls], where KEY/CERT are the upstream's own (the client
 * trusts their CA) and CA verifies the upstream. Inside TLS, HTTP/1.1 is piped as bytes (the floor
 * for bulk bodies) unless `parse-tls` is given: then each request is parsed and sent on over a
 * kept-alive upstream connection, as for plain HTTP, which is what an intercepting proxy must do
 * per request (the floor for the request rate and for many SSE streams). Prints `relay: PORT`; exits when stdin closes.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { exitWithParent } from './exit-with-parent.js';
import { errorMessage } from '../app/error-message.js';
import { H2_MAX_SESSION_MEMORY_MB, H2_SETTINGS, widenConnectionWindow } from '../proxy-core/index.js';

// Kept alive, as any proxy's upstream connections are: the request-rate floor would otherwise be
// a TCP handshake per request.
const upstreamAgent = new http.Agent({ keepAlive: true });

function relayRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/');
  const upstream = http.request({
    host: url.hostname,
    port: url.port,
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers: req.headers,
    agent: upstreamAgent,
  });
  pipeExchange(req, res, upstream);
}

/** The request's body goes to `upstream`, and its response, head and body, back to `res`. */
function pipeExchange(req: http.IncomingMessage, res: http.ServerResponse, upstream: http.ClientRequest): void {
  upstream.on('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    // Node holds a head until the body's first write; an event stream's client needs it at once
    // (the streams rows connect every stream before the first event), and Sluice sends it so.
    if (upRes.headers['content-type']?.startsWith('text/event-stream')) res.flushHeaders();
    upRes.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

/** Parses each request inside an intercepted tunnel and sends it on over a kept-alive TLS connection. */
function tlsRequestRelay(ca: Buffer): http.Server {
  const agent = new https.Agent({ keepAlive: true, ca });
  return http.createServer((req, res) => {
    const { hostname, port } = new URL(`https://${req.headers.host ?? ''}`);
    const upstream = https.request({
      host: '127.0.0.1',
      port: Number(port || 443),
      servername: hostname,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    });
    pipeExchange(req, res, upstream);
  });
}

function relayTunnel(
  context: tls.SecureContext,
  ca: Buffer,
  parsed: http.Server | undefined,
  req: http.IncomingMessage,
  socket: Duplex,
): void {
  const [host = '', port = '443'] = (req.url ?? '').split(':');
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  const client = new tls.TLSSocket(socket as Socket, {
    isServer: true,
    secureContext: context,
    ALPNProtocols: ['h2', 'http/1.1'],
  });
  client.on('error', () => client.destroy());
  client.once('secure', () => {
    if (client.alpnProtocol === 'h2') {
      relayH2(client, host, Number(port), ca);
      return;
    }
    if (parsed) {
      parsed.emit('connection', client);
      return;
    }
    const upstream = tls.connect({ host: '127.0.0.1', port: Number(port), servername: host, ca });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

/** Each stream the client opens goes on one upstream session, heads as they came, bodies piped. */
function relayH2(client: tls.TLSSocket, host: string, port: number, ca: Buffer): void {
  // A TLSSocket made by hand keeps this set, and an HTTP/2 session would wait for 'secureConnect'.
  (client as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
  const options = { settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY_MB };
  const upstream = http2.connect(`https://${host}:${port}`, {
    ...options,
    createConnection: () => tls.connect({ host: '127.0.0.1', port, servername: host, ca, ALPNProtocols: ['h2'] }),
  });
  const session = http2.performServerHandshake(client, options);
  widenConnectionWindow(upstream);
  widenConnectionWindow(session);
  const closeBoth = (): void => {
    session.destroy();
    upstream.destroy();
  };
  upstream.on('error', closeBoth);
  upstream.on('close', closeBoth);
  session.on('error', closeBoth);
  session.on('close', closeBoth);
  session.on('stream', (stream, headers) => {
    const out = upstream.request(headers);
    out.on('response', (head) => {
      stream.respond(head);
      out.pipe(stream);
    });
    out.on('error', () => stream.destroy());
    stream.on('error', () => out.destroy());
    stream.pipe(out);
  });
}

async function main(): Promise<void> {
  const [keyPath, certPath, caPath, mode] = process.argv.slice(2);
  if (!keyPath || !certPath || !caPath || (mode !== undefined && mode !== 'parse-tls')) {
    throw new Error('usage: minimal-relay.js KEY CERT CA [parse-tls]');
  }
  const context = tls.createSecureContext({ key: readFileSync(keyPath), cert: readFileSync(certPath) });
  const ca = readFileSync(caPath);
  const server = http.createServer(relayRequest);
  const parsed = mode === 'parse-tls' ? tlsRequestRelay(ca) : undefined;
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => relayTunnel(context, ca, parsed, req, socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`relay: ${(server.address() as AddressInfo).port}\n`);
  exitWithParent();
}

main().catch((err: unknown) => {
  process.stderr.write(`minimal-relay: ${errorMessage(err)}\n`);
  process.exit(1);
});
