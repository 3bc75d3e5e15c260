import { displayId } from '../../../app/contract.js';
import type { ExchangeView } from '../model/exchange.js';
import { useSluice } from '../store/store.js';

/**
 * Comparing two runs: this exchange is chosen as A, then another one selected is compared with it
 * (B). While A is chosen every exchange's details offer "Compare with A".
 */
export function CompareButton({ x }: { x: ExchangeView }) {
  const base = useSluice((s) => s.compareBase);
  const setBase = useSluice((s) => s.setCompareBase);
  const compare = useSluice((s) => s.compare);
  if (x.opened.kind === 'tunnel') return null;
  if (base === x.id) {
    return (
      <span className="compare-pick muted" role="status" data-testid="compare-chosen">
        Chosen as A: select the exchange to compare it with{' '}
        <button type="button" onClick={() => setBase(undefined)}>
          Cancel
        </button>
      </span>
    );
  }
  if (base !== undefined) {
    return (
      <button
        type="button"
        data-testid="compare-with"
        title="Both runs on one time axis, their events aligned, and what differs named"
        onClick={() => compare({ a: base, b: x.id })}
      >
        Compare with #{displayId(base)}
      </button>
    );
  }
  return (
    <button
      type="button"
      data-testid="compare-choose"
      title="Choose this exchange as run A, then select another (say, the same request made again) to compare"
      onClick={() => setBase(x.id)}
    >
      Compare with…
    </button>
  );
}
