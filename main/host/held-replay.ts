import type { HostEvent } from '../../app/contract.js';
import type { ExchangeHeldEvent } from '../../app/host-events.js';
import { chunkFollows, mergeChunks, type ChunkEvent, type Direction } from '../../app/proxy-events.js';

/** Events only the detail pane shows: a window's replay leaves them out of a stored exchange. */
const DETAIL_ONLY: ReadonlySet<HostEvent['type']> = new Set<HostEvent['type']>([
  'sse-event',
  'sse-retry',
  'websocket-message',
  'rpc-message',
  'backpressure-paused',
  'backpressure-resumed',
]);

/**
 * Whether only the detail pane shows `event`. What a rule did (one event per delayed event, say)
 * is detail too, but that a rule matched stays: the list marks the exchange by it.
 */
function detailOnly(event: HostEvent): boolean {
  return DETAIL_ONLY.has(event.type) || (event.type === 'rule-applied' && event.action !== 'match');
}

/**
 * A stored exchange's events as a window's replay sends them (see `ExchangeHeldEvent`): heads,
 * ending, status, limits and the rules that matched as they were; of each body the first chunk, the chunks after it up to
 * the last merged into one, and the last; an `exchange-held` after the opening saying what was
 * left out. The events themselves when nothing would be.
 */
export function heldForReplay(events: readonly HostEvent[]): readonly HostEvent[] {
  const lastChunkAt: Record<Direction, number> = { request: -1, response: -1 };
  const chunks: Record<Direction, number> = { request: 0, response: 0 };
  let details = 0;
  events.forEach((event, index) => {
    if (event.type === 'chunk') {
      lastChunkAt[event.direction] = index;
      chunks[event.direction]++;
    } else if (detailOnly(event)) details++;
  });
  if (details === 0 && chunks.request <= 3 && chunks.response <= 3) return events;

  const out: HostEvent[] = [];
  const firstSent: Record<Direction, boolean> = { request: false, response: false };
  const middle: Record<Direction, ChunkEvent | undefined> = { request: undefined, response: undefined };
  const rpcMessages = { request: 0, response: 0 };
  let held = 0;
  let heldAt = -1;
  events.forEach((event, index) => {
    if (event.type === 'chunk') {
      const direction = event.direction;
      const run = middle[direction];
      if (!firstSent[direction]) {
        firstSent[direction] = true;
        out.push(event);
      } else if (index === lastChunkAt[direction]) {
        if (run) out.push(run);
        out.push(event);
      } else if (run === undefined) {
        middle[direction] = event;
      } else if (chunkFollows(run, event)) {
        middle[direction] = mergeChunks(run, event);
        held++;
      } else {
        // Not contiguous (never so in a stored body, but ranges must stay exact): keep the run so far.
        out.push(run);
        middle[direction] = event;
      }
      return;
    }
    if (event.type === 'rpc-message' && event.kind === 'message') rpcMessages[event.direction]++;
    if (detailOnly(event)) {
      held++;
      return;
    }
    out.push(event);
    if (event.type === 'exchange-opened') heldAt = out.length;
  });
  const opened = events[0];
  if (heldAt < 0 || opened?.type !== 'exchange-opened') return events;
  const heldEvent: ExchangeHeldEvent = { type: 'exchange-held', t: opened.t, id: opened.id, held, rpcMessages };
  out.splice(heldAt, 0, heldEvent);
  return out;
}
