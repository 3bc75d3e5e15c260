import { useEffect, useRef, useState } from 'react';
import { headerValue } from '../../../app/proxy-events.js';
import type { ExchangeView } from '../model/exchange.js';
import { EventStreamSplitter } from '../sse/aws-event-stream.js';
import { feedBodyBytes, NdjsonSplitter, type BodyRowSplitter, type StreamEventRow } from '../sse/stream-events.js';
import { useHost } from './host-context.js';
import { bytesFromBase64 } from '../base64.js';

/** The bodies whose events are cut from the body's bytes here (SSE events come from the core). */
export type BodyEventKind = 'ndjson' | 'eventstream';

/** A growing body is re-read at most this often. */
const REFRESH_MS = 250;

interface Feed {
  readonly id: number;
  readonly splitter: BodyRowSplitter;
  readonly rows: StreamEventRow[];
  /** Body bytes (decoded ones, for an encoded body) already fed to the splitter. */
  fed: number;
  ended: boolean;
  busy: boolean;
}

/**
 * The events of a response whose events are in its bytes (NDJSON lines, AWS event-stream
 * messages) as rows for the events view, read from the host as the body grows and fed forward
 * only (each byte is split once). For an uncompressed body each row knows the chunks it arrived
 * in; a compressed body's rows are stamped with the newest chunk.
 */
export function useBodyEventRows(
  x: ExchangeView,
  kind: BodyEventKind | undefined,
): readonly StreamEventRow[] | undefined {
  const enabled = kind !== undefined;
  const host = useHost();
  const feed = useRef<Feed | undefined>(undefined);
  const [, setVersion] = useState(0);
  // Bumped after a read that may have left bytes behind (more arrived meanwhile, or the end).
  const [pass, setPass] = useState(0);
  const encoded = headerValue(x.response?.response.headers, 'content-encoding') !== undefined;
  const size = x.responseBody.bytes;
  const closed = x.closed !== undefined;

  if (enabled && feed.current?.id !== x.id) {
    const splitter = kind === 'eventstream' ? new EventStreamSplitter() : new NdjsonSplitter();
    feed.current = { id: x.id, splitter, rows: [], fed: 0, ended: false, busy: false };
  }

  useEffect(() => {
    const current = feed.current;
    if (!enabled || !current || current.busy || current.ended) return;
    const timer = setTimeout(() => {
      current.busy = true;
      host
        .call('body.read', { id: x.id, direction: 'response', start: current.fed, decoded: encoded })
        .then((range) => {
          if (!range || feed.current !== current) return;
          const bytes = bytesFromBase64(range.base64);
          const { chunks } = x.responseBody;
          const last = chunks[chunks.length - 1];
          const rows = encoded
            ? last
              ? current.splitter.pushBytes(bytes, last.readAt, last.index)
              : []
            : feedBodyBytes(current.splitter, bytes, current.fed, chunks);
          current.fed += bytes.length;
          const complete = closed && current.fed >= (range.decoded?.decodedSize ?? range.captured);
          if (complete || range.limited) {
            rows.push(...current.splitter.end());
            current.ended = true;
          }
          current.rows.push(...rows);
          if (rows.length > 0 || current.ended) setVersion((v) => v + 1);
        })
        .catch(() => undefined)
        .finally(() => {
          current.busy = false;
          if (feed.current === current && !current.ended) setPass((n) => n + 1);
        });
    }, REFRESH_MS);
    return () => clearTimeout(timer);
  }, [host, enabled, x.id, x.responseBody, encoded, size, closed, pass]);

  return enabled ? feed.current?.rows : undefined;
}
