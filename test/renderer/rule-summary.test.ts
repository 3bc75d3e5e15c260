import { describe, expect, it } from 'vitest';
import type { RuleAppliedEvent } from '../../app/proxy-events.js';
import { describeAction, ruleLines, ruleMarksOf } from '../../renderer/src/app/rule-summary.js';

const applied = (
  rule: string,
  action: RuleAppliedEvent['action'],
  detail: string,
  heldMs?: number,
): RuleAppliedEvent => ({
  type: 'rule-applied',
  id: 1,
  t: 0,
  rule,
  action,
  direction: 'response',
  detail,
  ...(heldMs === undefined ? {} : { heldMs }),
});

describe('what rules did, in words', () => {
  it('adds up delays per rule and keeps what else each said, in the order rules acted', () => {
    const lines = ruleLines([
      applied('slow', 'match', 'matched'),
      applied('cut', 'match', 'matched'),
      applied('slow', 'delay-head', 'held the response head for 300 ms', 300),
      applied('slow', 'latency', 'held event 1 for 200 ms', 200),
      applied('slow', 'latency', 'held event 2 for 200 ms', 200),
      applied('cut', 'end', 'ended the stream after 5 events'),
    ]);
    expect(lines).toEqual([
      { rule: 'slow', text: 'held the head 300 ms; delayed 2 times, 400 ms in all' },
      { rule: 'cut', text: 'ended the stream after 5 events' },
    ]);
  });

  it('counts content edits past the first rather than listing each', () => {
    const events = [1, 2, 3].map((n) => applied('edit', 'rewrite', `rewrote event ${n}`));
    expect(ruleLines([...events, applied('edit', 'drop', 'dropped event 4')])).toEqual([
      { rule: 'edit', text: 'rewrote 3 events; dropped event 4' },
    ]);
  });

  it('says a rule that only matched did nothing yet, and counts what the store did not keep', () => {
    expect(ruleLines([applied('idle', 'match', 'matched')], 3)).toEqual([
      { rule: 'idle', text: 'matched (and 3 more actions)' },
    ]);
    expect(ruleLines([])).toEqual([]);
  });

  it('marks the events a rule put in or changed, by their place in what the client got', () => {
    const marks = ruleMarksOf([
      applied('done', 'match', 'matched'),
      { ...applied('done', 'inject', 'put in after event 2'), event: 3 },
      { ...applied('fix', 'rewrite', 'rewrote event 4'), event: 5 },
      { ...applied('dup', 'duplicate', 'sent event 4 again'), event: 5 },
      applied('gone', 'drop', 'dropped event 1'),
    ]);
    expect([...marks]).toEqual([
      [2, 'put in by rule done'],
      [4, 'rewritten by rule fix; sent again by rule dup'],
    ]);
  });

  it('says which side an action works on, and what a request breakpoint holds', () => {
    expect(describeAction({ type: 'drop', event: 2, direction: 'request' })).toBe(
      'drop event 2 of what the client sends',
    );
    expect(describeAction({ type: 'drop', event: 2 })).toBe('drop event 2');
    expect(describeAction({ type: 'breakpoint', direction: 'request' })).toBe(
      'hold the request before it goes upstream',
    );
    expect(describeAction({ type: 'breakpoint', where: 'x', direction: 'request' })).toBe(
      'stop before events with "x" of what the client sends',
    );
  });

  it('marks each direction’s messages apart: a rule on what the client sent marks a sent one', () => {
    const events = [
      { ...applied('out', 'rewrite', 'rewrote event 2'), direction: 'request' as const, event: 2 },
      { ...applied('in', 'inject', 'put in after event 1'), event: 2 },
    ];
    expect([...ruleMarksOf(events, 'request')]).toEqual([[1, 'rewritten by rule out']]);
    expect([...ruleMarksOf(events, 'response')]).toEqual([[1, 'put in by rule in']]);
  });
});
