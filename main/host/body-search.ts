import type { BodySearchReply } from '../../app/contract.js';
import type { Direction } from '../../app/proxy-events.js';
import type { CapturedBody } from '../har/body-text.js';

export interface BodySearchLimits {
  /**
   * Bytes of each body read and looked through (decoded from the first this many as captured);
   * a match past it is not found.
   */
  readonly maxBytesPerBody: number;
  /** Wall time for one search; past it the reply says how far it got. */
  readonly budgetMs: number;
  /** Exchanges that match before the search stops (the list shows no more at once anyway). */
  readonly maxMatches: number;
}

export const DEFAULT_BODY_SEARCH_LIMITS: BodySearchLimits = {
  maxBytesPerBody: 4 << 20,
  budgetMs: 2_000,
  maxMatches: 10_000,
};

/** Bodies looked through between two turns of the event loop, so a long search never stalls the host. */
const BODIES_PER_TURN = 50;

const DIRECTIONS: readonly Direction[] = ['request', 'response'];

/**
 * The exchanges, newest first, whose request or response body holds `text` (case-insensitively,
 * as UTF-8 text with any Content-Encoding undone). Bounded: each body up to `maxBytesPerBody`,
 * the whole search up to `budgetMs` and `maxMatches`; the reply says whether it looked at all.
 */
export async function searchBodies(
  text: string,
  newestFirst: Iterable<number>,
  /** The first `maxBytes` of a body as captured, decoded where it can be. */
  read: (id: number, direction: Direction, maxBytes: number) => Promise<CapturedBody | undefined>,
  limits: BodySearchLimits = DEFAULT_BODY_SEARCH_LIMITS,
): Promise<BodySearchReply> {
  const needle = text.trim().toLowerCase();
  const deadline = performance.now() + limits.budgetMs;
  const ids: number[] = [];
  let searched = 0;
  let cut = false;
  if (needle === '') return { ids, searched, complete: true };
  for (const id of newestFirst) {
    if (performance.now() > deadline || ids.length >= limits.maxMatches) {
      cut = true;
      break;
    }
    for (const direction of DIRECTIONS) {
      const body = await read(id, direction, limits.maxBytesPerBody);
      if (body && holds(body, needle, limits.maxBytesPerBody)) {
        ids.push(id);
        break;
      }
    }
    if (++searched % BODIES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return { ids, searched, complete: !cut };
}

function holds(body: CapturedBody, needle: string, maxBytes: number): boolean {
  const bytes = body.decoded ?? body.raw;
  if (bytes.length === 0) return false;
  return bytes.subarray(0, maxBytes).toString('utf8').toLowerCase().includes(needle);
}
