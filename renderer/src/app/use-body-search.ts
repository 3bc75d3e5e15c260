import { useEffect, useState } from 'react';
import type { BodySearchReply } from '../../../app/contract.js';
import { useSluice } from '../store/store.js';
import { useHost } from './host-context.js';
import { errorMessage } from '../../../app/error-message.js';

/** Typing pauses this long before the host is asked: one search per word, not per key. */
const DEBOUNCE_MS = 300;
/**
 * While the search is on, new traffic is searched again at most this often, and never more than
 * a fifth of the time: a search of a long capture may take the host up to its budget.
 */
const REFRESH_MS = 2_000;

export type BodySearchState =
  | { readonly state: 'idle' }
  | { readonly state: 'searching' }
  | { readonly state: 'done'; readonly reply: BodySearchReply }
  | { readonly state: 'failed'; readonly message: string };

/**
 * Asks the host which bodies hold the filter's text whenever the text changes (and, while on, as
 * new exchanges arrive), and puts the answer into the filter; says how the search went.
 */
export function useBodySearch(): BodySearchState {
  const host = useHost();
  const text = useSluice((s) => s.filter.text.trim());
  const inBodies = useSluice((s) => s.filter.inBodies);
  const setFilter = useSluice((s) => s.setFilter);
  // Traffic that arrives while the search is on is searched too, at most every REFRESH_MS.
  const epoch = useSluice((s) => s.listRevision);
  const [result, setResult] = useState<BodySearchState>({ state: 'idle' });
  const [refreshAt, setRefreshAt] = useState(0);

  useEffect(() => {
    if (!inBodies || text === '') {
      // Runs on every new exchange while off: only a change may touch the filter, or each arrival
      // would recompute the list twice.
      setResult((r) => (r.state === 'idle' ? r : { state: 'idle' }));
      if (useSluice.getState().filter.bodyMatches !== undefined) setFilter({ bodyMatches: undefined });
      return;
    }
    let current = true;
    const wait = Math.max(DEBOUNCE_MS, refreshAt - Date.now());
    const timer = setTimeout(() => {
      setResult((r) => (r.state === 'done' ? r : { state: 'searching' }));
      const startedAt = Date.now();
      host.call('bodies.search', { text }).then(
        (reply) => {
          if (!current) return;
          const took = Date.now() - startedAt;
          setRefreshAt(Date.now() + Math.max(REFRESH_MS, 4 * took));
          setResult({ state: 'done', reply });
          setFilter({ bodyMatches: new Set(reply.ids) });
        },
        (err: unknown) => {
          if (current) setResult({ state: 'failed', message: errorMessage(err) });
        },
      );
    }, wait);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // refreshAt is read, not watched: it only spaces out searches that traffic sets off.
  }, [host, text, inBodies, epoch, setFilter]);

  return result;
}

/** "3 bodies match (1,200 searched)", or why the answer may be partial. */
export function bodySearchText(search: BodySearchState): string | undefined {
  switch (search.state) {
    case 'idle':
      return undefined;
    case 'searching':
      return 'searching bodies…';
    case 'failed':
      return `body search failed: ${search.message}`;
    case 'done': {
      const { ids, searched, complete } = search.reply;
      const matches = `${ids.length} ${ids.length === 1 ? 'body matches' : 'bodies match'}`;
      return complete ? `${matches} (${searched} searched)` : `${matches} (stopped after ${searched}; refine the text)`;
    }
  }
}
