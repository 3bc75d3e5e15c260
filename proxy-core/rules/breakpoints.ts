import type { BreakpointDecision } from './shaped-source.js';

/**
 * The breakpoints holding streams now, by number: an exchange opens one when a rule stops its
 * stream, the user's decision (`resolve`) lets it go on, and an exchange that ends first has its
 * own resolved as `gone`, so nothing waits on a stream that is no more.
 */
export class Breakpoints {
  private last = 0;
  private readonly held = new Map<number, { exchangeId: number; decide: (decision: BreakpointDecision) => void }>();

  open(exchangeId: number, decide: (decision: BreakpointDecision) => void): number {
    const breakpoint = ++this.last;
    this.held.set(breakpoint, { exchangeId, decide });
    return breakpoint;
  }

  /** False when no stream is held there (already resolved, or its exchange ended). */
  resolve(breakpoint: number, decision: BreakpointDecision): boolean {
    const entry = this.held.get(breakpoint);
    if (!entry) return false;
    this.held.delete(breakpoint);
    entry.decide(decision);
    return true;
  }

  /** The exchange ended: whatever it had held is gone. */
  endExchange(exchangeId: number): void {
    for (const [breakpoint, entry] of this.held) {
      if (entry.exchangeId === exchangeId) this.resolve(breakpoint, { outcome: 'gone' });
    }
  }

  /** Every held stream is let go: `gone` (the proxy is closing), or `released-all` (they go on). */
  releaseAll(outcome: 'gone' | 'released-all'): void {
    for (const breakpoint of [...this.held.keys()]) this.resolve(breakpoint, { outcome });
  }
}
