import { useState } from 'react';
import type { RulesState } from '../../../app/contract.js';
import type { StreamRule } from '../../../app/stream-rules.js';
import { errorMessage } from '../../../app/error-message.js';
import { plural } from '../sse/sse-format.js';
import { useSluice } from '../store/store.js';
import { Dialog } from './Dialog.js';
import { HostList } from './HostList.js';
import { useHostRefresh } from './use-host-refresh.js';
import { useHost } from './host-context.js';
import { describeAction, describeMatch } from './rule-summary.js';
import './rules.css';

/** How often the open dialog asks how many exchanges each rule matched. */
const MATCH_REFRESH_MS = 1_000;

const NEW_RULE: StreamRule = {
  name: 'new rule',
  enabled: true,
  match: { contentType: 'text/event-stream*' },
  actions: [{ type: 'latency', ms: 200 }],
};

/**
 * The stream rules: each with its switch, what it matches and does, and how many exchanges it
 * matched (one that matched nothing says so); order and removal at a click, and the whole list
 * as JSON to add or edit rules, checked by the host, which names the field at fault.
 */
export function RulesDialog({ onClose }: { onClose: () => void }) {
  const host = useHost();
  useSluice((s) => s.tick);
  const state = useSluice((s) => s.traffic.rules);
  const setRules = useSluice((s) => s.setRules);
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  useHostRefresh('rules.get', setRules, MATCH_REFRESH_MS);

  const save = async (rules: unknown): Promise<boolean> => {
    try {
      const next: RulesState = await host.call('rules.set', { rules });
      setRules(next);
      setError(undefined);
      return true;
    } catch (err) {
      setError(errorMessage(err));
      return false;
    }
  };
  const rules = state?.rules ?? [];
  const matched = state?.matched ?? [];
  const change = (next: StreamRule[]): void => void save(next);
  const edit = (extra: StreamRule[] = []): void => {
    setError(undefined);
    setDraft(JSON.stringify({ rules: [...rules, ...extra] }, null, 2));
  };
  const saveDraft = async (): Promise<void> => {
    let document: unknown;
    try {
      document = JSON.parse(draft ?? '');
    } catch (err) {
      setError(`not JSON: ${errorMessage(err)}`);
      return;
    }
    const list =
      typeof document === 'object' && document !== null ? (document as { rules?: unknown }).rules : undefined;
    if (await save(list)) setDraft(undefined);
  };

  return (
    <Dialog title="Stream rules" onClose={onClose}>
      <p className="muted">
        Rules slow, stall, cut, reset or answer matching streams on purpose, event by event, without buffering them;
        every exchange a rule touches says which rule did what. On the command line: <code>sluice --rules FILE</code>{' '}
        (see docs/stream-rules.md).
      </p>
      {state?.file !== undefined && (
        <p className="banner" data-testid="rules-file">
          These rules come from <code>{state.file}</code> for this run. Saving here keeps the list in the settings
          instead.
        </p>
      )}
      {error !== undefined && (
        <p className="banner error" role="alert" data-testid="rules-error">
          {error}
        </p>
      )}
      {draft !== undefined ? (
        <div className="rules-editor">
          <textarea
            aria-label="Rules as JSON"
            data-testid="rules-json"
            spellCheck={false}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <p>
            <button type="button" onClick={() => void saveDraft()}>
              Save rules
            </button>{' '}
            <button type="button" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
          </p>
        </div>
      ) : (
        <>
          <HostList
            loading={!state}
            empty={rules.length === 0}
            asking="Asking the host for its rules…"
            none={{ text: 'No rules: every stream passes as it comes.', testId: 'rules-none' }}
            className="rules-table"
            testId="rules-table"
            columns={['On', 'Rule', 'Matched']}
            actions="Order and removal"
          >
            {rules.map((rule, i) => (
              <tr key={rule.name} data-testid="rule-row" className={rule.enabled ? '' : 'off'}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${rule.name} on`}
                    checked={rule.enabled}
                    onChange={() => change(rules.map((r, j) => (j === i ? { ...r, enabled: !r.enabled } : r)))}
                  />
                </td>
                <td>
                  <strong>{rule.name}</strong>
                  <div className="muted">
                    {describeMatch(rule.match)}: {rule.actions.map(describeAction).join(', ')}
                  </div>
                </td>
                <td data-testid="rule-matched">
                  {!rule.enabled
                    ? 'off'
                    : (matched[i] ?? 0) === 0
                      ? 'nothing yet'
                      : plural(matched[i] ?? 0, 'exchange')}
                </td>
                <td className="rules-actions">
                  <button
                    type="button"
                    aria-label={`Move ${rule.name} up`}
                    disabled={i === 0}
                    onClick={() => change(swap(rules, i, i - 1))}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    aria-label={`Move ${rule.name} down`}
                    disabled={i === rules.length - 1}
                    onClick={() => change(swap(rules, i, i + 1))}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    aria-label={`Remove ${rule.name}`}
                    onClick={() => change(rules.filter((_, j) => j !== i))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </HostList>
          <p>
            <button type="button" onClick={() => edit([{ ...NEW_RULE, name: freeName(rules) }])} disabled={!state}>
              Add a rule…
            </button>{' '}
            <button type="button" onClick={() => edit()} disabled={!state}>
              Edit as JSON…
            </button>{' '}
            <button type="button" onClick={onClose}>
              Close
            </button>
          </p>
        </>
      )}
    </Dialog>
  );
}

function swap<T>(list: readonly T[], a: number, b: number): T[] {
  const next = [...list];
  [next[a], next[b]] = [next[b]!, next[a]!];
  return next;
}

/** "new rule", or "new rule 2", ... when taken: names are unique. */
function freeName(rules: readonly StreamRule[]): string {
  const taken = new Set(rules.map((r) => r.name));
  if (!taken.has(NEW_RULE.name)) return NEW_RULE.name;
  for (let n = 2; ; n++) if (!taken.has(`${NEW_RULE.name} ${n}`)) return `${NEW_RULE.name} ${n}`;
}
