import { useEffect, useRef, useState } from 'react';
import type { BodyRange } from '../../../app/contract.js';
import type { Direction } from '../../../app/proxy-events.js';
import type { ExchangeView } from '../model/exchange.js';
import { useHost } from './host-context.js';
import { bytesFromBase64 } from '../base64.js';
import { errorMessage } from '../../../app/error-message.js';

/** How much of a body the detail pane fetches and shows; the rest stays in the host. */
export const BODY_SHOW_LIMIT = 2 * 1024 * 1024;
/** A growing body is re-read at most this often. */
const REFRESH_MS = 300;

export interface LoadedBody {
  readonly bytes: Uint8Array;
  readonly range: BodyRange;
}

export interface BodyState {
  readonly body: LoadedBody | undefined;
  /** No capture exists (capture was paused, or the exchange was cleared). */
  readonly missing: boolean;
  readonly error: string | undefined;
}

/**
 * The captured body of one direction, decoded (gzip, br, deflate) when it is encoded, re-read
 * while it grows. Reads are throttled so a fast stream costs a few reads a second.
 */
export function useBody(x: ExchangeView, direction: Direction, enabled = true): BodyState {
  const host = useHost();
  const [state, setState] = useState<BodyState>({ body: undefined, missing: false, error: undefined });
  const body = direction === 'request' ? x.requestBody : x.responseBody;
  const size = body.bytes;
  const closed = x.closed !== undefined;
  const lastRead = useRef({ id: -1, direction, size: -1, closed: false, at: 0 });

  useEffect(() => {
    if (!enabled) return;
    const previous = lastRead.current;
    const same = previous.id === x.id && previous.direction === direction;
    if (!same) setState({ body: undefined, missing: false, error: undefined });
    if (same && previous.size === size && previous.closed === closed) return;
    const wait = same ? Math.max(0, previous.at + REFRESH_MS - performance.now()) : 0;
    let cancelled = false;
    const timer = setTimeout(() => {
      lastRead.current = { id: x.id, direction, size, closed, at: performance.now() };
      host.call('body.read', { id: x.id, direction, decoded: true, end: BODY_SHOW_LIMIT }).then(
        (range) => {
          if (cancelled) return;
          setState(
            range
              ? { body: { bytes: bytesFromBase64(range.base64), range }, missing: false, error: undefined }
              : { body: undefined, missing: true, error: undefined },
          );
        },
        (err: unknown) => {
          if (!cancelled) setState((s) => ({ ...s, error: errorMessage(err) }));
        },
      );
    }, wait);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [host, x.id, direction, size, closed, enabled]);

  return state;
}
