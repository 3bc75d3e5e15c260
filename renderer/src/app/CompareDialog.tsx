import { displayId } from '../../../app/contract.js';
import { CompareView } from '../compare/CompareView.js';
import type { ExchangeView } from '../model/exchange.js';
import { useExchange, useSluice } from '../store/store.js';
import { Dialog } from './Dialog.js';
import { useHeldDetails } from './use-held-details.js';

/** Two runs side by side (see CompareView), A then B, with a swap; made whole first when the replay sent them short. */
export function CompareDialog({ a, b }: { a: number; b: number }) {
  const compare = useSluice((s) => s.compare);
  const runA = useExchange(a);
  const runB = useExchange(b);
  const close = (): void => compare(undefined);
  return (
    <Dialog title={`Compare #${displayId(a)} with #${displayId(b)}`} onClose={close} wide>
      {runA && runB ? (
        <Whole a={runA} b={runB} />
      ) : (
        <p className="muted">
          Exchange {displayId(runA ? b : a)} is no longer kept: there is nothing to compare it with.
        </p>
      )}
      <p className="compare-dialog-actions">
        <button type="button" onClick={() => compare({ a: b, b: a })}>
          Swap A and B
        </button>{' '}
        <button type="button" onClick={close}>
          Close
        </button>
      </p>
    </Dialog>
  );
}

function Whole({ a, b }: { a: ExchangeView; b: ExchangeView }) {
  const failedA = useHeldDetails(a);
  const failedB = useHeldDetails(b);
  const failed = failedA ?? failedB;
  if (a.held !== undefined || b.held !== undefined) {
    return (
      <p className="muted">{failed ? `The events could not be read: ${failed}.` : 'Reading both runs’ events…'}</p>
    );
  }
  return (
    <div className="compare-dialog-body">
      <CompareView a={a} b={b} />
    </div>
  );
}
