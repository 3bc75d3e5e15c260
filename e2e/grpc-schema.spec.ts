import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setGrpcProxyEnv } from '../test/helpers/grpc.js';
import { expect, screenshot, test } from './fixtures.js';

/**
 * gRPC messages named by a schema (issue 13): a grpc-js call on the fixture's Forecasts service
 * through the real CLI (grpc_proxy, h2c), first shown by field number; then the schema from
 * .proto files chosen in the page, or from the server's reflection, and the same messages show
 * with field and enum names.
 */

const FIXTURES = fileURLToPath(new URL('../test/fixtures/proto/', import.meta.url));
const FORECAST_PROTO = path.join(FIXTURES, 'sluice/demo/v1/forecast.proto');
const UNITS_PROTO = path.join(FIXTURES, 'sluice/units/v1/units.proto');
const SERVICE = 'sluice.demo.v1.Forecasts';

const definition = protoLoader.loadSync(FORECAST_PROTO, { includeDirs: [FIXTURES] });
const Forecasts = (grpc.loadPackageDefinition(definition) as unknown as ForecastsPackage).sluice.demo.v1.Forecasts;

interface ForecastsPackage {
  sluice: { demo: { v1: { Forecasts: grpc.ServiceClientConstructor } } };
}

interface ForecastsClient extends grpc.Client {
  GetForecast(
    request: unknown,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, value?: unknown) => void,
  ): void;
}

/** What GetForecast answers, as proto-loader takes it: enums by name, well-known types as messages. */
const FORECAST = {
  city: 'Lyon',
  unit: 'CELSIUS',
  readings: [{ at: { seconds: 1767225600, nanos: 0 }, temperature: 3.5, condition: 'RAIN' }],
  rainfallMm: { mon: 4 },
  issuedAt: { seconds: 1767225600, nanos: 0 },
  humidity: { value: 81 },
};

interface Forecasts {
  readonly port: number;
  close(): void;
}

/** The Forecasts service on grpc-js at 127.0.0.1:0 (h2c), with server reflection when asked. */
async function startForecasts(reflection: boolean): Promise<Forecasts> {
  const server = new grpc.Server();
  server.addService(Forecasts.service, {
    GetForecast: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, FORECAST),
    WatchForecasts: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  if (reflection) new ReflectionService(definition).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, close: () => server.forceShutdown() };
}

/** One GetForecast through Sluice (grpc_proxy), as a grpc-js user makes it. */
async function getForecast(proxyPort: number, serverPort: number): Promise<unknown> {
  const restoreEnv = setGrpcProxyEnv(proxyPort);
  const client = new Forecasts(`localhost:${serverPort}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as ForecastsClient;
  try {
    return await new Promise((resolve, reject) =>
      client.GetForecast(
        { city: 'Lyon', unit: 'CELSIUS', days: 3 },
        { deadline: Date.now() + 10_000 },
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
  } finally {
    client.close();
    restoreEnv();
  }
}

test('.proto files chosen in the page name the fields of a captured call, enums and timestamps included', async ({
  page,
  sluice,
}) => {
  const server = await startForecasts(false);
  try {
    expect(await getForecast(sluice.proxyPort, server.port)).toMatchObject({ city: 'Lyon' });
    const row = page.getByTestId('exchange-row').filter({ hasText: 'Forecasts/GetForecast' });
    await expect(row.locator('.c-status')).toHaveText('OK');
    await row.click();
    await page.getByRole('tab', { name: /Messages/ }).click();

    // No schema yet: field numbers, and the two ways to get one.
    const rows = page.getByTestId('rpc-row');
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toContainText('{"1":"Lyon","2":1,"3":3}');
    const line = page.getByTestId('rpc-schema');
    await expect(line).toHaveAttribute('data-known', 'false');
    await expect(line).toContainText(`No schema for ${SERVICE}: messages show by field number.`);
    await expect(line.getByRole('button', { name: 'Ask the server (reflection)' })).toBeVisible();

    // Both files chosen together, as a user picks them: forecast.proto imports units.proto by path.
    await expect(line.getByRole('button', { name: 'Add schema files…' })).toBeVisible();
    await line.getByTestId('schema-files-input').setInputFiles([FORECAST_PROTO, UNITS_PROTO]);

    await expect(line).toHaveAttribute('data-known', 'true');
    await expect(line.getByTestId('rpc-schema-method')).toHaveText(`${SERVICE}.GetForecast`);
    await expect(line).toContainText('request sluice.demo.v1.ForecastRequest');
    await expect(line).toContainText('response sluice.demo.v1.Forecast');
    await expect(line).toContainText('from forecast.proto, units.proto');
    await expect(rows.nth(0)).toContainText('{"city":"Lyon","unit":"CELSIUS","days":3}');
    await expect(rows.nth(0)).toContainText('ForecastRequest');
    await expect(rows.nth(1)).toContainText('"city":"Lyon"');
    await expect(rows.nth(1)).toContainText('"condition":"RAIN"');
    await expect(page.getByRole('button', { name: 'Schemas (1)…' })).toBeVisible();

    // The response in full: named, its enums by name, its timestamps and wrappers readable.
    await rows.nth(1).click();
    const detail = page.getByTestId('rpc-detail');
    await expect(detail).toContainText('protobuf, sluice.demo.v1.Forecast');
    const body = detail.locator('pre');
    await expect(body).toContainText('"city": "Lyon"');
    await expect(body).toContainText('"unit": "CELSIUS"');
    await expect(body).toContainText('"issuedAt": "2026-01-01T00:00:00Z"');
    await expect(body).toContainText('"humidity": 81');
    await expect(body).toContainText('"rainfallMm": {');
    await screenshot(page, 'grpc-schema');

    // The dialog lists the source; removing it brings the field numbers back.
    await page.getByRole('button', { name: 'Schemas (1)…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Protobuf schemas' });
    const source = dialog.getByTestId('schema-source');
    await expect(source).toHaveCount(1);
    await expect(source).toContainText('.proto files');
    await expect(source).toContainText('forecast.proto, units.proto');
    await expect(source).toContainText(SERVICE);
    await screenshot(page, 'grpc-schema-dialog');
    await source.getByRole('button', { name: 'Remove forecast.proto, units.proto' }).click();
    await expect(dialog.getByTestId('schemas-none')).toBeVisible();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(line).toHaveAttribute('data-known', 'false');
    await expect(rows.nth(0)).toContainText('{"1":"Lyon","2":1,"3":3}');

    // A file that is not a schema is refused, plainly, in the dialog.
    await page.getByRole('button', { name: 'Schemas…' }).click();
    await dialog.getByTestId('schema-files-input').setInputFiles({
      name: 'notes.desc',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('hello'),
    });
    await expect(dialog.getByTestId('schema-error')).toContainText('These files were not added');
    await expect(dialog.getByTestId('schema-error')).toContainText('notes.desc');

    // A descriptor set as protoc writes it does the same as the .proto files.
    await dialog.getByTestId('schema-files-input').setInputFiles(path.join(FIXTURES, 'forecast.desc'));
    await expect(dialog.getByTestId('schema-added')).toHaveText(`Added forecast.desc: ${SERVICE}.`);
    await expect(dialog.getByTestId('schema-source')).toContainText('descriptor set');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(rows.nth(0)).toContainText('{"city":"Lyon","unit":"CELSIUS","days":3}');
  } finally {
    server.close();
  }
});

test("the server's reflection, asked from the call, names its fields; a server without it says so", async ({
  page,
  sluice,
}) => {
  const plain = await startForecasts(false);
  const reflecting = await startForecasts(true);
  try {
    await getForecast(sluice.proxyPort, plain.port);
    await getForecast(sluice.proxyPort, reflecting.port);
    const calls = page.getByTestId('exchange-row').filter({ hasText: 'Forecasts/GetForecast' });
    await expect(calls).toHaveCount(2);
    const line = page.getByTestId('rpc-schema');
    const ask = line.getByRole('button', { name: 'Ask the server (reflection)' });

    // The server without reflection: the error, plainly.
    await calls.filter({ hasText: `localhost:${plain.port}` }).click();
    await page.getByRole('tab', { name: /Messages/ }).click();
    await ask.click();
    await expect(line.getByTestId('schema-error')).toContainText('The server did not give its schema');
    await expect(line.getByTestId('schema-error')).toContainText('does not offer server reflection');
    await expect(line).toHaveAttribute('data-known', 'false');
    await screenshot(page, 'grpc-schema-missing');

    // The one with it: asked, then the messages by name.
    await calls.filter({ hasText: `localhost:${reflecting.port}` }).click();
    await page.getByRole('tab', { name: /Messages/ }).click();
    await ask.click();
    await expect(line).toHaveAttribute('data-known', 'true');
    await expect(line).toContainText(`from localhost:${reflecting.port} (reflection v1)`);
    const rows = page.getByTestId('rpc-row');
    await expect(rows.nth(0)).toContainText('{"city":"Lyon","unit":"CELSIUS","days":3}');
    await expect(rows.nth(1)).toContainText('"readings":[{"at":"2026-01-01T00:00:00Z","temperature":3.5');
    await screenshot(page, 'grpc-schema-reflection');

    // The schema is the service's, wherever the call went: the first call reads by name too.
    await calls.filter({ hasText: `localhost:${plain.port}` }).click();
    await expect(rows.nth(1)).toContainText('"condition":"RAIN"');
  } finally {
    plain.close();
    reflecting.close();
  }
});
