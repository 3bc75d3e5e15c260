import { useCallback, useState } from 'react';
import { keptBodyNote, toCurl, toFetch, type RequestToCopy } from '../../../app/copy-as.js';
import { headerValue } from '../../../app/proxy-events.js';
import type { HostClient } from '../transport/host-client.js';
import type { ExchangeView } from '../model/exchange.js';
import { bytesFromBase64 } from '../base64.js';
import { CopyButton } from './CopyButton.js';
import { useHost } from './host-context.js';

/** The most request body a copied command carries: past it the clipboard and a shell both struggle. */
const COPY_BODY_CAP = 8 * 1024 * 1024;

/**
 * The request with the body the host kept, read whole and as forwarded (still content-encoded,
 * since the copy sends the same bytes with the same Content-Encoding). A body not kept, cut by a
 * capture limit, too big or still arriving comes with a note the copy leads with.
 */
export async function requestToCopy(host: HostClient, x: ExchangeView): Promise<RequestToCopy> {
  const head = x.opened.request;
  const forwarded = x.requestBody.bytes;
  // Not ended and no response head yet: a client with a body to send may still be sending it.
  const declared =
    Number(headerValue(head.headers, 'content-length') ?? 0) > 0 ||
    headerValue(head.headers, 'transfer-encoding') !== undefined;
  const stillSending = x.closed === undefined && x.response === undefined && (forwarded > 0 || declared);
  if (forwarded === 0 && !stillSending) return { head };
  const range = await host.call('body.read', { id: x.id, direction: 'request', end: COPY_BODY_CAP });
  const kept = range ? { captured: range.captured, limited: range.limited } : null;
  const bodyNote = keptBodyNote(forwarded, kept, { stillSending, cap: COPY_BODY_CAP });
  if (!range || range.captured > COPY_BODY_CAP) return { head, bodyNote };
  return { head, body: bytesFromBase64(range.base64), bodyNote };
}

/** "Copy as cURL" and "Copy as fetch" for an HTTP exchange: commands that send its request again. */
export function CopyRequestMenu({ x }: { x: ExchangeView }) {
  const host = useHost();
  // What the last copy left out of the body, said here too: the note in the copy is easy to miss.
  const [copied, setCopied] = useState<{ id: number; note: string | undefined }>();
  const copyAs = useCallback(
    (format: (request: RequestToCopy) => string) => async () => {
      const request = await requestToCopy(host, x);
      setCopied({ id: x.id, note: request.bodyNote });
      return format(request);
    },
    [host, x],
  );
  if (x.opened.kind !== 'http') return null;
  const note = copied?.id === x.id ? copied.note : undefined;
  return (
    <div className="copy-request" role="group" aria-label="Copy the request">
      <CopyButton text={copyAs(toCurl)} title="A curl command for bash or zsh that sends this request again">
        Copy as cURL
      </CopyButton>
      <CopyButton
        text={copyAs(toFetch)}
        title="A fetch() call for a browser console or Node that sends this request again"
      >
        Copy as fetch
      </CopyButton>
      {note && (
        <span className="copy-note" data-testid="copy-body-note">
          {note}
        </span>
      )}
    </div>
  );
}
