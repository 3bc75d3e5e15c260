import * as grpc from '@grpc/grpc-js';
import {
  deadline,
  makeClient,
  METHODS,
  serverStreamCall,
  setGrpcProxyEnv,
  startGrpcServer,
  type GrpcUpstream,
} from '../test/helpers/grpc.js';
import { expect, gate, screenshot, test } from './fixtures.js';

/** Protobuf by hand: field 1 a string, field 2 (when given) a varint. No schema, no generated code. */
function encode(text: string, number?: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const parts = [Buffer.from([0x0a, bytes.length]), bytes];
  if (number !== undefined) parts.push(Buffer.from([0x10, number]));
  return Buffer.concat(parts);
}

test('a live gRPC server stream: its messages show decoded while the call is open, then the status', async ({
  page,
  sluice,
}) => {
  // The server sends two messages, then holds the call open until the test says go.
  const rest = gate();
  const upstream: GrpcUpstream = await startGrpcServer({
    serverStream: (call) => {
      call.write(encode('first', 1));
      call.write(encode('second', 2));
      void rest.promise.then(() => {
        call.write(encode('third', 3));
        call.end();
      });
    },
  });
  // grpc-js finds Sluice the way users point it there: grpc_proxy. Over h2c, so no CA to trust.
  const restoreEnv = setGrpcProxyEnv(sluice.proxyPort);
  const client = makeClient(upstream.port, grpc.credentials.createInsecure());
  try {
    const call = serverStreamCall(client, METHODS.serverStream, encode('ping'), undefined, deadline(30_000));
    const received: Buffer[] = [];
    call.on('data', (message: Buffer) => received.push(message));
    const ended = new Promise<grpc.StatusObject>((resolve, reject) => {
      call.on('status', resolve);
      call.on('error', reject);
    });

    // The list names the call Service/Method and types it gRPC.
    const row = page.getByTestId('exchange-row').filter({ hasText: 'Echo/ServerStream' });
    await expect(row.locator('.c-type')).toHaveText('grpc');
    await expect(row).toHaveAttribute('data-state', 'streaming');
    await row.click();
    await expect(page.getByTestId('protocol')).toContainText('gRPC over HTTP/2');
    await page.getByRole('tab', { name: /Messages/ }).click();

    // While the call is open: the request and both answers so far, decoded by field number.
    const rows = page.getByTestId('rpc-row');
    await expect(rows).toHaveCount(3);
    await expect(rows.nth(0)).toHaveAttribute('data-direction', 'request');
    await expect(rows.nth(0)).toContainText('{"1":"ping"}');
    await expect(rows.nth(1)).toHaveAttribute('data-direction', 'response');
    await expect(rows.nth(1)).toContainText('{"1":"first","2":1}');
    await expect(rows.nth(2)).toContainText('{"1":"second","2":2}');
    await expect(page.getByTestId('rpc-stats')).toContainText('1 sent');
    await expect(page.getByTestId('rpc-stats')).toContainText('2 received');
    await expect(page.getByTestId('rpc-status')).toContainText('No status yet');
    await expect(page.getByTestId('outcome')).toHaveAttribute('data-outcome', 'streaming');
    expect(received.map((m) => m.toString('hex'))).toEqual([encode('first', 1), encode('second', 2)].map(hex));

    // A click opens the message as JSON keyed by field number, and its bytes on request.
    await rows.nth(1).click();
    const detail = page.getByTestId('rpc-detail');
    await expect(detail).toContainText('keys are field numbers');
    await expect(detail.locator('pre')).toContainText('"1": "first"');
    await expect(detail.locator('pre')).toContainText('"2": 1');
    await screenshot(page, 'grpc-messages');
    await detail.getByRole('button', { name: 'Hex' }).click();
    await expect(detail.locator('pre')).toContainText('0a 05 66 69 72 73 74 10  01');

    // The server finishes: the last message, then the status from the trailers.
    rest.open();
    expect((await ended).code).toBe(grpc.status.OK);
    await expect(rows).toHaveCount(4);
    await expect(rows.nth(3)).toContainText('{"1":"third","2":3}');
    const status = page.getByTestId('rpc-status');
    await expect(status).toHaveAttribute('data-status', 'OK');
    await expect(status).toContainText('OK (0)');
    await expect(status).toContainText('gRPC status from the trailers');
    await expect(status.getByTestId('rpc-trailers')).toContainText('grpc-status');
    await expect(row.locator('.c-status')).toHaveText('OK');
    await expect(page.getByTestId('outcome')).toHaveAttribute('data-outcome', 'completed');
    await screenshot(page, 'grpc-messages-ended');

    // The timeline counts the messages over the response's chunks.
    await page.getByRole('tab', { name: 'Timeline' }).click();
    const response = page.locator('[data-testid="chunk-timeline"][data-direction="response"]');
    await expect(response.getByTestId('timeline-summary')).toHaveAttribute('data-messages', '3');
    await screenshot(page, 'grpc-timeline');
  } finally {
    rest.open();
    client.close();
    restoreEnv();
    await upstream.close();
  }
});

function hex(buffer: Buffer): string {
  return buffer.toString('hex');
}
