/**
 * The bulk upstream for the benchmark, run as its own process so generating a gigabyte does not
 * compete with the client or the proxy for one event loop. Usage: upstream-server.js KEY CERT.
 * Serves /filler (body-source.ts), POST /echo and POST /sink. Prints one JSON line {"http": port, "https":
 * port, "h2": port} once all listen; exits when stdin closes, so it cannot outlive a benchmark
 * that died.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseFillerRequest, sendFiller, sendFillerOnStream, SINK_PATH } from './body-source.js';
import { exitWithParent } from './exit-with-parent.js';
import { errorMessage } from '../app/error-message.js';

const handler: http.RequestListener = (req, res) => {
  if (req.method === 'POST' && req.url === '/echo') {
    echo(req, res);
    return;
  }
  if (req.method === 'POST' && req.url === SINK_PATH) {
    sink(req, res);
    return;
  }
  const filler = parseFillerRequest(req.url ?? '/');
  if (!filler) {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
    return;
  }
  req.socket.setNoDelay(true);
  sendFiller(res, filler.bytes, filler.framing);
};

/** POST /echo: answers with the request's own body, for the request-rate rows' small exchanges. */
function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
  });
}

/** POST /sink: reads an upload to its end and answers with its size, for the upload rows. */
function sink(req: http.IncomingMessage, res: http.ServerResponse): void {
  let bytes = 0;
  req.socket.setNoDelay(true);
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.once('end', () => {
    const body = String(bytes);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  });
}

/**
 * The HTTP/2 upstream also answers HTTP/1.1 (allowHTTP1), so a proxy that speaks HTTP/2 to its
 * client but HTTP/1.1 upstream still gets a body. Both arrive as 'request'; for HTTP/2 the body
 * goes on the stream itself, as an HTTP/2-native server would send it, not through the compat
 * response.
 */
const h2Handler = (
  req: http2.Http2ServerRequest | http.IncomingMessage,
  res: http2.Http2ServerResponse | http.ServerResponse,
): void => {
  if (!(res instanceof http2.Http2ServerResponse)) {
    handler(req as http.IncomingMessage, res);
    return;
  }
  const filler = parseFillerRequest(req.url ?? '/');
  if (!filler) {
    res.stream.respond({ ':status': 404, 'content-length': 0 }, { endStream: true });
    return;
  }
  sendFillerOnStream(res.stream, filler.bytes, filler.framing);
};

function listen(server: http.Server | http2.Http2SecureServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const [keyPath, certPath] = process.argv.slice(2);
  if (!keyPath || !certPath) throw new Error('usage: upstream-server.js KEY CERT');
  const plain = http.createServer(handler);
  const secure = https.createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, handler);
  const h2 = http2.createSecureServer(
    { key: readFileSync(keyPath), cert: readFileSync(certPath), allowHTTP1: true },
    h2Handler,
  );
  const ports = { http: await listen(plain), https: await listen(secure), h2: await listen(h2) };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  exitWithParent();
}

main().catch((err: unknown) => {
  process.stderr.write(`upstream-server: ${errorMessage(err)}\n`);
  process.exit(1);
});
