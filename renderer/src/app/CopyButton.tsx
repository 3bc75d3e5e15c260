import { useEffect, useRef, useState, type ReactNode } from 'react';
import { copyText } from './clipboard.js';
import './copy.css';
import { errorMessage } from '../../../app/error-message.js';

type Result = { ok: true } | { ok: false; message: string };

export interface CopyButtonProps {
  /** What to copy; a function is called on click, so costly text (a whole body) is built only when wanted. */
  readonly text: string | (() => string | Promise<string>);
  /** The button's words; "Copy" when not given. */
  readonly children?: ReactNode;
  /** Names the button for assistive technology when its words alone would not (a row's "Copy"). */
  readonly label?: string;
  readonly title?: string;
  readonly className?: string;
  readonly disabled?: boolean;
  /** Called once the text is on the clipboard, e.g. to close a menu. */
  readonly onCopied?: () => void;
}

/** A button that copies text and says so beside itself for a moment: "Copied", or why it could not. */
export function CopyButton({ text, children, label, title, className, disabled, onCopied }: CopyButtonProps) {
  const [result, setResult] = useState<Result | undefined>();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async (): Promise<void> => {
    clearTimeout(timer.current);
    try {
      await copyText(typeof text === 'string' ? text : await text());
      setResult({ ok: true });
      onCopied?.();
    } catch (err) {
      setResult({ ok: false, message: errorMessage(err) });
    }
    timer.current = setTimeout(() => setResult(undefined), 1500);
  };

  return (
    <span className="copy-button">
      <button
        type="button"
        className={className}
        aria-label={label}
        title={title}
        disabled={disabled}
        onClick={() => void copy()}
      >
        {children ?? 'Copy'}
      </button>
      <span className={result?.ok === false ? 'copy-result failed' : 'copy-result'} role="status">
        {result ? (result.ok ? 'Copied' : `Could not copy: ${result.message}`) : ''}
      </span>
    </span>
  );
}
