import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Direction } from '../../app/proxy-events.js';
import { sluiceVersion } from '../version.js';
import type { ExchangeEvents } from './exchange-events.js';
import { writePayload, type BodyPayload, type CapturedBody } from './body-text.js';
import { buildEntry, type CapturedBodies } from './har-entry.js';
import type { HarCreator, HarEntry } from './har-types.js';
import { redactionSet } from './redact.js';

/** Where an export reads from: the host's kept exchanges and their captured bodies. */
export interface HarSource {
  /** One at a time: a long capture is read from the store page by page, never all at once. */
  exchanges(): Iterable<ExchangeEvents> | AsyncIterable<ExchangeEvents>;
  readBody(id: number, direction: Direction): Promise<CapturedBody | undefined>;
}

export interface HarExportOptions {
  /** The exchanges to write (a selection in the UI); all kept exchanges when absent. */
  readonly ids?: ReadonlySet<number> | undefined;
  /**
   * Replace the values of Authorization, Cookie, Set-Cookie (and `redactHeaders`), the user info in
   * URLs and the values of secret-looking query parameters. Off by default.
   */
  readonly redact?: boolean | undefined;
  /** More header names to redact, e.g. `x-api-key`; they turn redaction on. */
  readonly redactHeaders?: readonly string[] | undefined;
  readonly creator?: HarCreator | undefined;
}

export interface HarExportResult {
  readonly entries: number;
  /** Entries for exchanges still open at export, written as far as they had got. */
  readonly incomplete: number;
}

/**
 * Writes a HAR 1.2 document to `out`, one entry at a time: only one exchange's entry (with its
 * bodies) is in memory at once, and a slow destination holds the next entry back (`drain`),
 * so an export of any size costs the memory of its largest entry. One entry per line.
 * Does not end `out`: the caller owns it.
 */
export async function writeHar(
  out: Writable,
  source: HarSource,
  options: HarExportOptions = {},
): Promise<HarExportResult> {
  const extra = options.redactHeaders ?? [];
  const redact = options.redact === true || extra.length > 0 ? redactionSet(extra) : undefined;
  const creator = options.creator ?? { name: 'Sluice', version: sluiceVersion() };
  const comment = redact
    ? `values of these headers redacted: ${[...redact].join(', ')}; ` +
      'also user info in URLs and the values of query parameters named like secrets (token, key, signature, ...)'
    : undefined;
  const head = { version: '1.2', creator, ...(comment ? { comment } : {}) };
  out.on('error', ignoreErrorEvents);
  try {
    // The header object's closing brace is cut off so that `entries` can follow inside `log`.
    await write(out, `{"log":${JSON.stringify(head).slice(0, -1)},"entries":[`);
    let entries = 0;
    let incomplete = 0;
    for await (const exchange of source.exchanges()) {
      const { id } = exchange.opened;
      if (options.ids && !options.ids.has(id)) continue;
      const [request, response] = await Promise.all([source.readBody(id, 'request'), source.readBody(id, 'response')]);
      await write(out, entries === 0 ? '\n' : ',\n');
      const entry = await writeEntry(out, exchange, { request, response }, redact);
      entries++;
      if (entry._incomplete) incomplete++;
    }
    await write(out, '\n]}}\n');
    return { entries, incomplete };
  } finally {
    // A failed stream emits its 'error' a tick later: the listener stays on a stream that failed.
    if (!out.errored) out.off('error', ignoreErrorEvents);
  }
}

/**
 * A body's place in an entry's JSON until the writer streams the body there. Random per process:
 * a query string or an SSE event is the sender's text, and must not be able to spell it.
 */
const NONCE = randomUUID();
const PLACEHOLDER = { request: `<request body ${NONCE}>`, response: `<response body ${NONCE}>` };

/** Writes one entry with its bodies streamed into their places, never as one string. */
async function writeEntry(
  out: Writable,
  exchange: ExchangeEvents,
  bodies: CapturedBodies,
  redact: ReadonlySet<string> | undefined,
): Promise<HarEntry> {
  const payloads: Partial<Record<Direction, BodyPayload>> = {};
  const placeBody = (payload: BodyPayload, direction: Direction): string => {
    payloads[direction] = payload;
    return PLACEHOLDER[direction];
  };
  const entry = buildEntry(exchange, bodies, { redact, placeBody });
  let json = JSON.stringify(entry);
  for (const direction of ['request', 'response'] as const) {
    const payload = payloads[direction];
    if (!payload) continue;
    // The placeholder, as JSON writes it, without its quotes: the body goes between them.
    const marker = JSON.stringify(PLACEHOLDER[direction]).slice(1, -1);
    const at = json.indexOf(marker);
    if (at < 0) throw new Error(`HAR writer: no place for the ${direction} body of exchange ${exchange.opened.id}`);
    await write(out, json.slice(0, at));
    await writePayload(payload, (text) => write(out, text));
    json = json.slice(at + marker.length);
  }
  await write(out, json);
  return entry;
}

async function write(out: Writable, text: string): Promise<void> {
  if (out.errored) throw out.errored;
  if (out.write(text)) return;
  if (out.errored) throw out.errored;
  await once(out, 'drain');
}

/** A stream error becomes the export's rejection (via `errored` or `once`), never an uncaught 'error'. */
function ignoreErrorEvents(): void {}
