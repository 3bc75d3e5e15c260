import type { ReactNode } from 'react';
import { CopyButton } from '../app/CopyButton.js';

export interface MessageDetailFrameProps {
  /** "Message 12": the section's name for assistive technology. */
  readonly name: string;
  /** What the message is, in words, at the start of the head. */
  readonly summary: ReactNode;
  /** Controls between the summary and the copy button (a view toggle). */
  readonly controls?: ReactNode;
  readonly copyText: string;
  readonly copyTitle: string;
  readonly onClose: () => void;
  readonly testId: string;
  /** A line between the head and the message: what to doubt about how it reads. */
  readonly note?: ReactNode;
  /** The message itself, shown preformatted. */
  readonly children: ReactNode;
}

/**
 * One message in full, below its table so rows keep the one height virtualisation relies on:
 * a head saying what it is, with copy and close buttons, and the message preformatted.
 */
export function MessageDetailFrame(props: MessageDetailFrameProps) {
  const { name, summary, controls, copyText, copyTitle, onClose, testId, note, children } = props;
  return (
    <section className="live-detail" aria-label={name} data-testid={testId}>
      <header className="live-detail-head">
        <span>{summary}</span>
        {controls}
        <CopyButton text={copyText} label="Copy message" title={copyTitle} />
        <button type="button" className="live-close" onClick={onClose} aria-label="Close message">
          ×
        </button>
      </header>
      {note}
      <pre className="live-detail-body">{children}</pre>
    </section>
  );
}
