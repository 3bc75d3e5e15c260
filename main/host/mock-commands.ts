import type { MocksChangedEvent } from '../../app/contract.js';
import { DEFAULT_MOCK_PLAYBACK, type MockPlayback, type MocksState, type MockSummary } from '../../app/mocks.js';
import { displayId } from '../../app/contract.js';
import { now, type Mock, type SluiceProxy } from '../../proxy-core/index.js';
import type { CapturedBody } from '../har/body-text.js';
import { exchangesIn } from '../har/exchange-events.js';
import type { CaptureArchive } from './capture-archive.js';
import { recordingOf } from './mock-recording.js';
import { CommandError } from './request-checks.js';

export interface MockCommandsDeps {
  readonly archive: Pick<CaptureArchive, 'eventsOf'>;
  readonly proxy: Pick<SluiceProxy, 'setMocks' | 'mockServedCounts'>;
  /** A body as captured (`raw`: as forwarded, still content-encoded). */
  captured(id: number): Promise<CapturedBody | undefined>;
  emit(event: MocksChangedEvent): void;
}

interface Entry {
  readonly mock: Mock;
  readonly exchangeId: number;
  readonly warning: string | undefined;
}

/**
 * The mocks of this run: kept exchanges turned into recordings the proxy plays in the upstream's
 * place. They last until removed or Sluice stops (a recording can be large; the HAR it came from
 * is how one is kept).
 */
export class MockCommands {
  private entries: Entry[] = [];
  private playback: MockPlayback = DEFAULT_MOCK_PLAYBACK;
  private revision = 0;
  private nextId = 1;

  constructor(private readonly deps: MockCommandsDeps) {}

  state(): MocksState {
    const served = this.deps.proxy.mockServedCounts();
    return {
      revision: this.revision,
      playback: this.playback,
      mocks: this.entries.map(({ mock, exchangeId, warning }): MockSummary => {
        const bytes = mock.pieces.reduce((sum, p) => sum + p.bytes.length, 0);
        const last = mock.pieces.at(-1)?.atMs ?? 0;
        return {
          id: mock.id,
          method: mock.method,
          url: mock.url,
          status: mock.status,
          pieces: mock.pieces.length,
          bytes,
          durationMs: Math.round(mock.headAtMs + last),
          source: `exchange ${displayId(exchangeId)}`,
          exchangeId,
          served: served.get(mock.id) ?? 0,
          ...(warning === undefined ? {} : { warning }),
        };
      }),
    };
  }

  /** Adds a mock of each exchange, all or none: the first that cannot be one is said. */
  async add(ids: readonly number[]): Promise<MocksState> {
    const added: Entry[] = [];
    for (const id of ids) {
      const entry = await this.entryOf(id);
      if (typeof entry === 'string') throw new CommandError(entry, 'bad-request');
      added.push(entry);
    }
    return this.keep(added);
  }

  /** Adds a mock of each exchange that can be one (a HAR's entries); says why of each other. */
  async addPlayable(ids: readonly number[]): Promise<{ readonly added: number; readonly skipped: string[] }> {
    const added: Entry[] = [];
    const skipped: string[] = [];
    for (const id of ids) {
      const entry = await this.entryOf(id);
      if (typeof entry === 'string') skipped.push(entry);
      else added.push(entry);
    }
    if (added.length > 0) this.keep(added);
    return { added: added.length, skipped };
  }

  private async entryOf(id: number): Promise<Entry | string> {
    const events = await this.deps.archive.eventsOf(id);
    const [exchange] = events ? [...exchangesIn(events)] : [];
    if (!exchange) return `exchange ${displayId(id)} is not kept any more`;
    const recording = recordingOf(exchange, await this.deps.captured(id));
    if (typeof recording === 'string') return recording;
    return { mock: { ...recording.response, id: this.nextId++ }, exchangeId: id, warning: recording.warning };
  }

  private keep(added: readonly Entry[]): MocksState {
    // A newer recording of the same request replaces the older one, as the proxy would prefer it anyway.
    const replaced = new Set(added.map((e) => `${e.mock.method} ${e.mock.url}`));
    this.entries = [...this.entries.filter((e) => !replaced.has(`${e.mock.method} ${e.mock.url}`)), ...added];
    return this.changed();
  }

  remove(mockIds: readonly number[]): MocksState {
    const gone = new Set(mockIds);
    this.entries = this.entries.filter((e) => !gone.has(e.mock.id));
    return this.changed();
  }

  setPlayback(playback: MockPlayback): MocksState {
    this.playback = playback;
    return this.changed();
  }

  private changed(): MocksState {
    this.deps.proxy.setMocks(
      this.entries.map((e) => e.mock),
      this.playback,
    );
    this.revision++;
    const state = this.state();
    this.deps.emit({ type: 'mocks-changed', t: now(), state });
    return state;
  }
}
