import type { KeyboardEvent, ReactNode } from 'react';
import { isFiltering, NO_QUERY, type RowQuery } from './row-filter.js';
import './table-filter.css';

export interface TableFilterProps {
  readonly query: RowQuery;
  readonly onQuery: (query: RowQuery) => void;
  /** The text input's accessible name, e.g. "Filter events". */
  readonly label: string;
  readonly placeholder: string;
  /** The table's own choices (a select of directions or names) after the text input. */
  readonly children?: ReactNode;
}

/**
 * The filter above a live table: a text input and the table's choices. It comes before the grid,
 * so Tab reaches it first. Escape clears the text, and a second Escape the choices too.
 */
export function TableFilter({ query, onQuery, label, placeholder, children }: TableFilterProps) {
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Escape' || !isFiltering(query)) return;
    onQuery(query.text === '' ? NO_QUERY : { ...query, text: '' });
    // This Escape was spent on the filter: nothing around it should act on it too.
    event.preventDefault();
    event.stopPropagation();
  };
  return (
    <div className="live-filter" role="search">
      <input
        type="search"
        className="live-filter-text"
        aria-label={label}
        placeholder={placeholder}
        value={query.text}
        spellCheck={false}
        onChange={(event) => onQuery({ ...query, text: event.target.value })}
        onKeyDown={onKeyDown}
      />
      {children}
    </div>
  );
}
