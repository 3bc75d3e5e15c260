export interface Row {
  readonly measure: string;
  readonly direct: string;
  readonly viaSluice: string;
  readonly ratio: string;
  readonly target: string;
  /** undefined: informational, no target. */
  readonly ok: boolean | undefined;
}

const HEADER = ['measure', 'direct', 'via Sluice', 'ratio', 'target', 'ok?'];

/** A markdown table with columns padded, so it reads well in a terminal too. */
export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map((row) => [
    row.measure,
    row.direct,
    row.viaSluice,
    row.ratio,
    row.target,
    row.ok === undefined ? '—' : row.ok ? 'yes' : 'NO',
  ]);
  const widths = HEADER.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const line = (values: readonly string[]): string =>
    `| ${values.map((value, column) => value.padEnd(widths[column]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(HEADER), rule, ...cells.map(line)].join('\n');
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function mebibytes(bytes: number): string {
  return fixed(bytes / (1 << 20));
}

export const NONE = '—';
