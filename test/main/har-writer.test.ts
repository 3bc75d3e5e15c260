import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ExchangeEvents } from '../../main/har/exchange-events.js';
import type { CapturedBody } from '../../main/har/body-text.js';
import { buildEntry } from '../../main/har/har-entry.js';
import type { Har } from '../../main/har/har-types.js';
import { writeHar, type HarSource } from '../../main/har/har-writer.js';
import { harErrors, harValidator } from '../helpers/har-schema.js';

const validate = harValidator();

function exchange(id: number, url = 'http://example.test/x'): ExchangeEvents {
  return {
    opened: {
      type: 'exchange-opened',
      id,
      t: 10,
      wallTime: Date.UTC(2026, 0, 1),
      kind: 'http',
      intercepted: false,
      clientAddress: '127.0.0.1',
      request: { method: 'POST', url, httpVersion: '1.1', headers: [['Content-Type', 'text/plain']] },
    },
    responseHead: {
      type: 'response-head',
      id,
      t: 20,
      response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers: [] },
      timings: { dns: -1, connect: -1, ssl: -1 },
      requestSentAt: 15,
    },
    closed: undefined,
    chunks: [],
    backpressure: [],
    sse: [],
    messages: [],
    rpcMessages: [],
    rpcStatus: undefined,
    captureLimits: [],
    rules: [],
  };
}

function source(exchanges: ExchangeEvents[], bodies: Record<string, CapturedBody>): HarSource {
  return { exchanges: () => exchanges, readBody: async (id, direction) => bodies[`${id} ${direction}`] };
}

function collect(): { out: Writable; text: () => string } {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  return { out, text: () => Buffer.concat(parts).toString() };
}

describe('the streaming HAR writer', () => {
  it('streams bodies of any size into the same JSON an entry built in memory gives', async () => {
    // Characters of every width across the 64 kB piece boundaries, JSON specials, and binary.
    const text = Buffer.from(`"quoted"\n\t\\ é € 😀 \u0001 `.repeat(20_000));
    const binary = Buffer.from(Array.from({ length: 200_001 }, (_, i) => (i * 7919) & 0xff));
    const capped = Buffer.concat([Buffer.from('a'.repeat(65_537)), Buffer.from('😀').subarray(0, 2)]);
    const bodies: Record<string, CapturedBody> = {
      '1 request': { raw: text },
      '1 response': { raw: binary },
      '2 response': { raw: capped, limited: 'body-cap' },
    };
    const exchanges = [exchange(1), exchange(2)];
    const { out, text: written } = collect();
    expect(await writeHar(out, source(exchanges, bodies))).toEqual({ entries: 2, incomplete: 2 });
    const har = JSON.parse(written()) as Har;
    expect(validate(har), harErrors(validate)).toBe(true);
    const inMemory = exchanges.map((e) =>
      buildEntry(e, { request: bodies[`${e.opened.id} request`], response: bodies[`${e.opened.id} response`] }),
    );
    expect(har.log.entries).toEqual(JSON.parse(JSON.stringify(inMemory)));
    expect(har.log.entries[0]!.request.postData!.text).toBe(text.toString());
    expect(Buffer.from(har.log.entries[0]!.response.content.text!, 'base64').equals(binary)).toBe(true);
    expect(har.log.entries[1]!.response.content.text).toBe('a'.repeat(65_537));
  });

  it('cannot be fooled by a query string that spells a body placeholder', async () => {
    const sneaky = exchange(1, 'http://example.test/x?q=%3Crequest%20body%3E%00');
    const { out, text } = collect();
    await writeHar(out, source([sneaky], { '1 request': { raw: Buffer.from('body') } }));
    const har = JSON.parse(text()) as Har;
    expect(har.log.entries[0]!.request.postData!.text).toBe('body');
    expect(har.log.entries[0]!.request.queryString).toEqual([{ name: 'q', value: '<request body>\u0000' }]);
  });

  it('writes an empty log as a valid HAR', async () => {
    const { out, text } = collect();
    expect(await writeHar(out, source([], {}))).toEqual({ entries: 0, incomplete: 0 });
    expect(validate(JSON.parse(text())), harErrors(validate)).toBe(true);
  });
});
