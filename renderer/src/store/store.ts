import { create, type StoreApi, type UseBoundStore } from 'zustand';
import type {
  EventBatch,
  HostEvent,
  ProxyStatus,
  RulesState,
  SchemaList,
  SystemProxyStatus,
} from '../../../app/contract.js';
import type { ConnectionState } from '../../../app/transport/connection.js';
import type { MocksState } from '../../../app/mocks.js';
import type { ExchangeView } from '../model/exchange.js';
import { applyEvent, applyOwnEvent, emptyTraffic, replaceExchange, type Traffic } from './apply-event.js';
import { EventQueue } from './event-queue.js';
import { NO_FILTER, type ExchangeFilter } from './filter.js';
import { noteHostTime } from './host-clock.js';
import { nextSchemas, type HeldSchemas } from './held-schemas.js';

export type DetailTab = 'headers' | 'body' | 'conversation' | 'events' | 'messages' | 'timeline';
export type Dialog = 'har-export' | 'ca-help' | 'schemas' | 'rules' | 'mocks';

export interface SluiceState {
  /** Mutated in place by `applyEvents`; `tick` and the revisions say when. */
  readonly traffic: Traffic;
  /** Bumped once per applied slice of events. */
  tick: number;
  listRevision: number;
  connection: ConnectionState;
  connectionDetail: string | undefined;
  /** Counted up each time the connection opens, so an answer from an earlier one can be told apart. */
  connectionSerial: number;
  /**
   * The host's protobuf schemas (`schemas.get`), asked for on each connect and each
   * `schemas-changed`; undefined until the host answers. `loadSchemas` loads them for decoding.
   */
  schemas: HeldSchemas | undefined;
  selectedId: number | undefined;
  filter: ExchangeFilter;
  detailTab: DetailTab;
  /** The dialog open over the app, opened from the toolbar or the desktop app's menu. */
  dialog: Dialog | undefined;
  /** The exchange chosen as run A of a comparison, while the user picks run B. */
  compareBase: number | undefined;
  /** Two exchanges compared side by side, A then B, while the comparison is open. */
  comparing: { readonly a: number; readonly b: number } | undefined;
  /** Batches received, applied a frame's worth at a time. */
  readonly pending: EventQueue;
}

export interface SluiceActions {
  receive(batch: EventBatch): void;
  /**
   * Makes a held exchange whole from its events (`exchange.events`): applied a frame's worth at a
   * time into a copy, which then takes the exchange's place. An exchange gone meanwhile stays gone.
   */
  restore(id: number, events: readonly HostEvent[]): void;
  select(id: number | undefined): void;
  setFilter(patch: Partial<ExchangeFilter>): void;
  setDetailTab(tab: DetailTab): void;
  setConnection(state: ConnectionState, detail?: string): void;
  setStatus(status: ProxyStatus): void;
  setSystemProxy(status: SystemProxyStatus): void;
  setRules(state: RulesState): void;
  setMocks(state: MocksState): void;
  /** A schema list from the host, asked over connection `connection` (the current one by default). */
  receiveSchemas(list: SchemaList, connection?: number): void;
  openDialog(dialog: Dialog | undefined): void;
  setCompareBase(id: number | undefined): void;
  /** Opens the comparison of A and B (the base is let go), or closes it. */
  compare(pair: { readonly a: number; readonly b: number } | undefined): void;
}

/** Events applied per animation frame at most: a flood costs the page a steady slice of each frame. */
const EVENTS_PER_FRAME = 4000;
/**
 * Past this many events waiting, the page is behind (a new tab replaying a long capture, or a
 * flood it cannot draw at its rate): it applies slices until BACKLOG_FRAME_MS have gone per frame.
 * Each frame also renders what changed, so fewer, larger slices catch up sooner: the list and
 * its filters are drawn once per frame, not once per 4,000 events.
 */
const BACKLOG_EVENTS = 40_000;
const BACKLOG_FRAME_MS = 24;
/**
 * A frame that applied this many events is catching up: a new tab replaying a long capture (the
 * host sends it far faster than a page draws), or a flood of new exchanges. Drawing the list and
 * laying it out costs 20 to 60 ms however few of its rows changed, so while catching up the list
 * is drawn at most every LIST_CATCH_UP_MS (the first rows at once); everything else, the open
 * exchange's detail included, still changes every frame. Live traffic at a person's pace never
 * comes near it.
 */
const CATCH_UP_EVENTS = 1500;
const LIST_CATCH_UP_MS = 250;

export type SluiceStore = UseBoundStore<StoreApi<SluiceState & SluiceActions>>;

export interface StoreOptions {
  /** A clock in ms, for a test to say how long applying took. */
  readonly now?: () => number;
}

/** A store with nothing in it; the page has one (`useSluice`), a test makes its own. */
export function createSluiceStore(options: StoreOptions = {}): SluiceStore {
  const clock = options.now ?? (() => performance.now());
  return create<SluiceState & SluiceActions>()((set, get) => {
    let frame: number | undefined;
    /** When the list was last drawn, and when a frame last caught up (see CATCH_UP_EVENTS). */
    let listDrawnAt = -Infinity;
    let busyAt = -Infinity;
    let listTimer: ReturnType<typeof setTimeout> | undefined;
    /** Held exchanges being made whole, oldest request first. */
    let restoring: { readonly id: number; readonly events: readonly HostEvent[]; at: number; scratch: Traffic }[] = [];

    const applyPending = (): void => {
      frame = undefined;
      const state = get();
      const apply = (event: HostEvent): void => applyEvent(state.traffic, event);
      const waiting = state.pending.size;
      const behind = waiting > BACKLOG_EVENTS;
      const started = behind ? clock() : 0;
      let last = state.pending.drain(EVENTS_PER_FRAME, apply);
      while (behind && state.pending.size > 0 && clock() - started < BACKLOG_FRAME_MS) {
        last = state.pending.drain(EVENTS_PER_FRAME, apply) ?? last;
      }
      if (last) noteHostTime(last.type === 'chunk' ? last.flushedAt : last.t);
      const { traffic } = state;
      // What this frame has left, but never so little that a replay's backlog stalls a restore.
      const restored = restoreSlice(
        traffic,
        Math.max(EVENTS_PER_FRAME / 4, EVENTS_PER_FRAME - (waiting - state.pending.size)),
      );
      const drawList = traffic.listRevision !== state.listRevision && listMayBeDrawn(waiting - state.pending.size);
      const selectedGone = state.selectedId !== undefined && !traffic.exchanges.has(state.selectedId);
      set({
        tick: state.tick + 1,
        ...(drawList || restored ? { listRevision: traffic.listRevision } : {}),
        ...(selectedGone ? { selectedId: undefined } : {}),
      });
      if (state.pending.size > 0 || restoring.length > 0) schedule();
    };

    /**
     * Applies up to `budget` events of the held exchanges being made whole; an exchange whose
     * events are all in takes its place. Returns whether one did.
     */
    const restoreSlice = (traffic: Traffic, budget: number): boolean => {
      let left = budget;
      let replaced = false;
      while (restoring.length > 0 && left > 0) {
        const job = restoring[0]!;
        const end = Math.min(job.events.length, job.at + left);
        for (let i = job.at; i < end; i++) applyOwnEvent(job.scratch, job.id, job.events[i]!);
        left -= end - job.at;
        job.at = end;
        if (job.at < job.events.length) break;
        restoring.shift();
        const whole = job.scratch.exchanges.get(job.id);
        if (whole && replaceExchange(traffic, whole)) replaced = true;
      }
      return replaced;
    };

    /**
     * Whether the list may be drawn in a frame that applied `applied` events and changed it: at
     * once, unless a frame in the last LIST_CATCH_UP_MS was catching up and the list was drawn less
     * than that ago. A list held back is drawn in the first frame after that time is up.
     */
    const listMayBeDrawn = (applied: number): boolean => {
      const at = clock();
      if (applied >= CATCH_UP_EVENTS) busyAt = at;
      const wait = Math.min(LIST_CATCH_UP_MS - (at - busyAt), LIST_CATCH_UP_MS - (at - listDrawnAt));
      if (wait <= 0) {
        listDrawnAt = at;
        return true;
      }
      listTimer ??= setTimeout(() => {
        listTimer = undefined;
        schedule();
      }, wait);
      return false;
    };

    const schedule = (): void => {
      frame ??= requestAnimationFrame(applyPending);
    };

    return {
      traffic: emptyTraffic(),
      tick: 0,
      listRevision: 0,
      connection: 'connecting',
      connectionDetail: undefined,
      connectionSerial: 0,
      schemas: undefined,
      selectedId: undefined,
      filter: NO_FILTER,
      detailTab: 'headers',
      dialog: undefined,
      compareBase: undefined,
      comparing: undefined,
      pending: new EventQueue(),

      receive(batch) {
        const state = get();
        if (batch.seq === 0) {
          // A new feed replays the host's log from the start: forget what the last feed told us.
          // Notices go too, since the replay has the host's own: a kept one would show twice when
          // the host says it again at a new time (a restarted host, a window's "newest N" notice).
          // The statuses stay until the page asks for them again, and imports are never replayed.
          const traffic = state.traffic;
          const fresh = emptyTraffic();
          traffic.exchanges.clear();
          Object.assign(traffic, {
            ...fresh,
            exchanges: traffic.exchanges,
            status: traffic.status,
            systemProxy: traffic.systemProxy,
            rules: traffic.rules,
            mocks: traffic.mocks,
            imports: traffic.imports,
          });
          traffic.listRevision = state.listRevision + 1;
          state.pending.clear();
          listDrawnAt = -Infinity;
          busyAt = -Infinity;
          restoring = [];
        }
        state.pending.push(batch.events);
        schedule();
      },
      restore(id, events) {
        if (restoring.some((job) => job.id === id)) return;
        restoring.push({ id, events, at: 0, scratch: emptyTraffic() });
        schedule();
      },
      select(id) {
        set({ selectedId: id });
      },
      setFilter(patch) {
        set({ filter: { ...get().filter, ...patch } });
      },
      setDetailTab(tab) {
        set({ detailTab: tab });
      },
      setConnection(connection, detail) {
        const serial = get().connectionSerial + (connection === 'open' ? 1 : 0);
        set({ connection, connectionDetail: detail, connectionSerial: serial });
      },
      openDialog(dialog) {
        set({ dialog });
      },
      setCompareBase(compareBase) {
        set({ compareBase });
      },
      compare(comparing) {
        set(comparing ? { comparing, compareBase: undefined } : { comparing });
      },
      setStatus(status) {
        get().traffic.status = status;
        set({ tick: get().tick + 1 });
      },
      setSystemProxy(status) {
        get().traffic.systemProxy = status;
        set({ tick: get().tick + 1 });
      },
      setRules(state) {
        const traffic = get().traffic;
        if ((traffic.rules?.revision ?? -1) > state.revision) return;
        traffic.rules = state;
        set({ tick: get().tick + 1 });
      },
      setMocks(state) {
        const traffic = get().traffic;
        if ((traffic.mocks?.revision ?? -1) > state.revision) return;
        traffic.mocks = state;
        set({ tick: get().tick + 1 });
      },
      receiveSchemas(list, connection = get().connectionSerial) {
        const current = get().schemas;
        const next = nextSchemas(current, list, connection);
        if (next !== current) set({ schemas: next });
      },
    };
  });
}

export const useSluice = createSluiceStore();

/** The exchange, re-rendering whenever it changes. */
export function useExchange(id: number | undefined): ExchangeView | undefined {
  useSluice((s) => (id === undefined ? -1 : (s.traffic.exchanges.get(id)?.revision ?? -2)));
  return id === undefined ? undefined : useSluice.getState().traffic.exchanges.get(id);
}
