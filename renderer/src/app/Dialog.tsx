import { useId, type ReactNode } from 'react';

/** A modal over the app: closes on Escape or a click outside; the title names it for screen readers. */
export function Dialog({
  title,
  onClose,
  children,
  wide = false,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Most of the window, for a view rather than a form (a comparison). */
  wide?: boolean;
}) {
  const titleId = useId();
  return (
    <div className="dialog-backdrop" onClick={onClose} onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div
        className={wide ? 'dialog wide' : 'dialog'}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onClick={(e) => e.stopPropagation()}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>
  );
}
