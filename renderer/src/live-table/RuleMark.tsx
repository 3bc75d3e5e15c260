/** ✎ on a row a stream rule put in or changed; `mark` says which rule did what (`ruleMarksOf`). */
export function RuleMark({ mark }: { mark: string | undefined }) {
  if (mark === undefined) return null;
  return (
    <span className="rule-mark" title={mark} aria-label={mark}>
      ✎
    </span>
  );
}
