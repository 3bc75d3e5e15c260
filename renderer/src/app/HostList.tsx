import type { ReactNode } from 'react';

export interface HostListProps {
  /** What the host holds is not known yet: `asking` is shown. */
  readonly loading: boolean;
  readonly empty: boolean;
  /** "Asking the host for its mocks…" */
  readonly asking: string;
  /** What an empty list means, in a sentence; its test id is `none`. */
  readonly none: { readonly text: string; readonly testId: string };
  readonly className: string;
  readonly testId: string;
  /** Column heads; a last column of buttons follows, named `actions` for screen readers. */
  readonly columns: readonly string[];
  readonly actions: string;
  /** The rows. */
  readonly children: ReactNode;
}

/**
 * A list the host keeps (mocks, stream rules, schemas), as its dialog shows it: a line while the
 * host is asked, a sentence when there is nothing, else a table whose last column holds buttons.
 */
export function HostList({
  loading,
  empty,
  asking,
  none,
  className,
  testId,
  columns,
  actions,
  children,
}: HostListProps) {
  if (loading) return <p className="muted">{asking}</p>;
  if (empty) return <p data-testid={none.testId}>{none.text}</p>;
  return (
    <table className={className} data-testid={testId}>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column}>{column}</th>
          ))}
          <th>
            <span className="visually-hidden">{actions}</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
