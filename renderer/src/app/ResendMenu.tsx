import { useEffect, useState } from 'react';
import { displayId } from '../../../app/contract.js';
import { errorMessage } from '../../../app/error-message.js';
import { requestHeadText } from '../../../app/request-edit.js';
import { bytesFromBase64 } from '../base64.js';
import type { ExchangeView } from '../model/exchange.js';
import { useSluice } from '../store/store.js';
import { decodeUtf8 } from './body-format.js';
import { Dialog } from './Dialog.js';
import { useHost } from './host-context.js';
import './resend.css';

/**
 * "Send again" and "Edit and send…": the request goes to its upstream once more, through the
 * proxy, and the new exchange (linked to this one) is selected as it opens.
 */
export function ResendMenu({ x }: { x: ExchangeView }) {
  const host = useHost();
  const select = useSluice((s) => s.select);
  const [editing, setEditing] = useState(false);
  const [failure, setFailure] = useState<{ id: number; message: string }>();
  if (x.opened.kind !== 'http') return null;
  const send = async (edits: { head?: string; body?: string } = {}): Promise<boolean> => {
    try {
      const { id } = await host.call('exchange.resend', { id: x.id, ...edits });
      setFailure(undefined);
      select(id);
      return true;
    } catch (err) {
      setFailure({ id: x.id, message: errorMessage(err) });
      return false;
    }
  };
  const shown = failure?.id === x.id ? failure.message : undefined;
  return (
    <div className="resend" role="group" aria-label="Send again">
      <button
        type="button"
        data-testid="resend"
        title="Send this request to its upstream again, as captured; the answer is a new exchange"
        onClick={() => void send()}
      >
        Send again
      </button>
      <button type="button" data-testid="resend-edit" onClick={() => setEditing(true)}>
        Edit and send…
      </button>
      {shown !== undefined && !editing && (
        <span className="mock-warning" role="alert" data-testid="resend-error">
          {shown}
        </span>
      )}
      {editing && <ResendEditor x={x} onSend={send} error={shown} onClose={() => setEditing(false)} />}
    </div>
  );
}

/** The request head and body as text to change before sending; a body that is not text goes as it was. */
function ResendEditor({
  x,
  onSend,
  error,
  onClose,
}: {
  x: ExchangeView;
  onSend: (edits: { head?: string; body?: string }) => Promise<boolean>;
  /** Why the last send failed, said where the user is editing. */
  error: string | undefined;
  onClose: () => void;
}) {
  const host = useHost();
  const [head, setHead] = useState(() => requestHeadText(x.opened.request));
  const [body, setBody] = useState<{ text: string | undefined; edited: boolean } | undefined>(
    x.requestBody.bytes === 0 ? { text: '', edited: false } : undefined,
  );
  useEffect(() => {
    if (x.requestBody.bytes === 0) return;
    let gone = false;
    host.call('body.read', { id: x.id, direction: 'request' }).then(
      (range) => {
        if (gone) return;
        const text = range && !range.limited ? decodeUtf8(bytesFromBase64(range.base64)) : undefined;
        setBody({ text, edited: false });
      },
      () => !gone && setBody({ text: undefined, edited: false }),
    );
    return () => {
      gone = true;
    };
  }, [host, x.id, x.requestBody.bytes]);
  const submit = async (): Promise<void> => {
    const edits = { head, ...(body?.edited && body.text !== undefined ? { body: body.text } : {}) };
    if (await onSend(edits)) onClose();
  };
  return (
    <Dialog title={`Edit and send exchange ${displayId(x.id)} again`} onClose={onClose}>
      <p className="muted">
        Method, path and query, and fields may change; where the request goes may not. The answer is recorded as a new
        exchange, linked to this one.
      </p>
      <label className="resend-field">
        Request
        <textarea
          data-testid="resend-head"
          spellCheck={false}
          value={head}
          onChange={(e) => setHead(e.target.value)}
          rows={Math.min(16, head.split('\n').length + 1)}
        />
      </label>
      <label className="resend-field">
        Body
        {body === undefined ? (
          <span className="muted"> reading…</span>
        ) : body.text === undefined ? (
          <span className="muted"> not text (or not kept whole): it goes as it was kept</span>
        ) : (
          <textarea
            data-testid="resend-body"
            spellCheck={false}
            value={body.text}
            onChange={(e) => setBody({ text: e.target.value, edited: true })}
            rows={6}
          />
        )}
      </label>
      {error !== undefined && (
        <p className="banner error" role="alert" data-testid="resend-error">
          {error}
        </p>
      )}
      <p>
        <button type="button" data-testid="resend-send" onClick={() => void submit()}>
          Send
        </button>{' '}
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </p>
    </Dialog>
  );
}
