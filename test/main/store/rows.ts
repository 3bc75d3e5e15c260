import type { ExchangeRow } from '../../../main/store/store-rows.js';

/** A finished exchange as the host would put it; `overrides` replaces any field. */
export function exchangeRow(id: number, overrides: Partial<ExchangeRow> = {}): ExchangeRow {
  return {
    id,
    eventsJson: JSON.stringify([
      { type: 'exchange-opened', id, t: id },
      { type: 'exchange-closed', id, t: id + 1 },
    ]),
    requestHeaders: [
      ['Host', 'example.test'],
      ['Accept', '*/*'],
    ],
    responseHeaders: [['Content-Type', 'text/event-stream']],
    messagesNotKept: 0,
    openedAt: 1_700_000_000_000 + id,
    method: 'GET',
    url: `https://example.test/items/${id}`,
    status: 200,
    bodies: {},
    ...overrides,
  };
}

/** Bytes that differ at every offset of a part, so a misplaced range shows. */
export function patternBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (i * 7 + (i >>> 8)) & 0xff;
  return bytes;
}
