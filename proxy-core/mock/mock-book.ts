import type { RawHeaders } from '../../app/proxy-events.js';
import { DEFAULT_MOCK_PLAYBACK, mockKey, playbackTimes, type MockPlayback } from '../../app/mocks.js';
import { bracketHost } from '../forward/connect-target.js';

/** A response as it was recorded, to be played again in the upstream's place. */
export interface RecordedResponse {
  /** The request it answers: method and absolute URL. */
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  /** As recorded, in order; no pseudo-fields. The body's framing is the forwarding side's to choose. */
  readonly headers: RawHeaders;
  readonly trailers: RawHeaders;
  /** From the request having been sent to the response head. */
  readonly headAtMs: number;
  /** The body as it was read, piece by piece, each with its time from the head. */
  readonly pieces: readonly RecordedPiece[];
  /** The protocol it was recorded in: an intercepted connection with no upstream is offered this. */
  readonly protocol: 'http/1.1' | 'h2';
  /**
   * A WebSocket (`ws:`/`wss:` URL, a `101` head): the pieces are the server's frames, and
   * `closesItself` says the recording ends with the server's close (else the client closes).
   */
  readonly websocket?: { readonly closesItself: boolean };
}

export interface RecordedPiece {
  readonly atMs: number;
  readonly bytes: Buffer;
}

export interface Mock extends RecordedResponse {
  readonly id: number;
}

/** What a mock plays this time: its head's wait, then each piece at its time (ms from the head). */
export interface MockSchedule {
  readonly headMs: number;
  readonly pieces: readonly Buffer[];
  readonly times: readonly number[];
}

/**
 * The mocks in effect, found by their request: the same method and URL, else (when no recording
 * has that query) the same method and path. The newest added wins a tie. Counts what each served.
 */
export class MockBook {
  private byKey = new Map<string, Mock>();
  private byPath = new Map<string, Mock>();
  private origins = new Map<string, 'http/1.1' | 'h2'>();
  private counts = new Map<number, number>();
  private current: MockPlayback = DEFAULT_MOCK_PLAYBACK;

  set(mocks: readonly Mock[], playback: MockPlayback): void {
    this.byKey = new Map();
    this.byPath = new Map();
    this.origins = new Map();
    this.current = playback;
    const kept = new Map<number, number>();
    for (const mock of mocks) {
      const key = mockKey(mock.method, mock.url);
      const path = mockKey(mock.method, mock.url, false);
      if (key === undefined || path === undefined) continue;
      this.byKey.set(key, mock);
      this.byPath.set(path, mock);
      const origin = originOf(mock.url);
      // HTTP/2 wins: a client that offers it and gets it can still be answered every recording.
      if (origin && this.origins.get(origin) !== 'h2') this.origins.set(origin, mock.protocol);
      kept.set(mock.id, this.counts.get(mock.id) ?? 0);
    }
    this.counts = kept;
  }

  get playback(): MockPlayback {
    return this.current;
  }

  /**
   * One playing of `mock` as the playback now says (jitter drawn afresh): how long its head waits,
   * and its pieces with their times from the head.
   */
  schedule(mock: Mock): MockSchedule {
    const times = playbackTimes(
      mock.headAtMs,
      mock.pieces.map((piece) => piece.atMs),
      this.current,
    );
    return {
      headMs: times.head,
      pieces: mock.pieces.map((piece) => piece.bytes),
      times: times.pieces.map((t) => t - times.head),
    };
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The mock that would answer this request; undefined when none does. */
  find(method: string, url: string): Mock | undefined {
    if (this.byKey.size === 0) return undefined;
    const key = mockKey(method, url);
    return (key === undefined ? undefined : this.byKey.get(key)) ?? this.byPath.get(mockKey(method, url, false) ?? '');
  }

  /** The mock that answers this request, counted as served; undefined when none does. */
  take(method: string, url: string): Mock | undefined {
    const mock = this.find(method, url);
    if (mock) this.counts.set(mock.id, (this.counts.get(mock.id) ?? 0) + 1);
    return mock;
  }

  /**
   * The protocol recorded for an origin (`https://host:port`) that has mocks: its tunnel is then
   * answered without an upstream, in that protocol when the client offers it.
   */
  protocolFor(scheme: 'http' | 'https', host: string, port: number): 'http/1.1' | 'h2' | undefined {
    if (this.origins.size === 0) return undefined;
    return this.origins.get(originOf(`${scheme}://${bracketHost(host)}:${port}/`) ?? '');
  }

  /** Requests each mock answered since it was added. */
  servedCounts(): ReadonlyMap<number, number> {
    return this.counts;
  }
}

/** The origin a CONNECT reaches: a WebSocket's `wss://` is the tunnel of `https://`. */
function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'ws:') parsed.protocol = 'http:';
    else if (parsed.protocol === 'wss:') parsed.protocol = 'https:';
    return parsed.origin;
  } catch {
    return undefined;
  }
}
