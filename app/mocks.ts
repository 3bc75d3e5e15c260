/**
 * Mocks: recorded responses Sluice serves in the upstream's place, at their recorded pace. The one
 * definition of what the host, the CLI (`--mock`, `--mock-speed`, `--mock-jitter`) and the UI say
 * about them, and the pure rules of their playback. The core plays them (proxy-core/mock/).
 */

/** How recorded responses are played: at what speed, with how much randomness in their timing. */
export interface MockPlayback {
  /** 1 as recorded, 2 twice as fast, 0.5 half as fast; 0 as fast as possible (no waits at all). */
  readonly speed: number;
  /** Each wait (the head's, each gap) is moved by up to this many ms either way, at random. */
  readonly jitterMs: number;
}

export const DEFAULT_MOCK_PLAYBACK: MockPlayback = { speed: 1, jitterMs: 0 };

/** The speeds the UI offers; the CLI takes any positive factor. */
export const MOCK_SPEEDS: readonly number[] = [0.5, 1, 2, 0];

/** `x2`, `2`, `0.5`, `fast`: a speed factor as a person writes it; undefined when it is none. */
export function parseMockSpeed(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'fast' || trimmed === 'max') return 0;
  const factor = Number(trimmed.replace(/^x/, ''));
  return Number.isFinite(factor) && factor > 0 && factor <= 1000 ? factor : undefined;
}

/** A speed as the UI shows it: `x0.5`, `x1`, `as fast as possible`. */
export function mockSpeedLabel(speed: number): string {
  return speed === 0 ? 'as fast as possible' : `x${speed}`;
}

/** What a mock answers, shown to people: the request it answers and the response it plays. */
export interface MockSummary {
  readonly id: number;
  readonly method: string;
  /** The URL it answers: the same method and URL (the query too, when one with it is recorded). */
  readonly url: string;
  readonly status: number;
  /** Pieces the body is played in: the recorded chunks, or events a HAR gave without a body. */
  readonly pieces: number;
  readonly bytes: number;
  /** From the request to the last piece, as recorded (before speed and jitter). */
  readonly durationMs: number;
  /** What it was made of: `exchange 12`, `i3` (an imported entry). */
  readonly source: string;
  /** The exchange it was made of. */
  readonly exchangeId: number;
  /** Requests it has answered since it was added. */
  readonly served: number;
  /** Anything the recording lacked that the user should know (a body cut at the capture's cap). */
  readonly warning?: string;
}

/** The mocks in effect and how they play; a `mocks-changed` event carries it. */
export interface MocksState {
  readonly revision: number;
  readonly mocks: readonly MockSummary[];
  readonly playback: MockPlayback;
}

/**
 * When each part of a recorded response goes, in ms from the moment the request has been read:
 * the head, then each piece. Waits are divided by the speed; jitter moves each wait by a random
 * amount in [-jitterMs, +jitterMs], never before the part ahead of it (the order is the
 * recording's). `random` returns [0, 1), as Math.random does.
 */
export function playbackTimes(
  headAtMs: number,
  piecesAtMs: readonly number[],
  playback: MockPlayback,
  random: () => number = Math.random,
): { head: number; pieces: number[] } {
  if (playback.speed <= 0) return { head: 0, pieces: piecesAtMs.map(() => 0) };
  const jitter = (): number => (playback.jitterMs > 0 ? (random() * 2 - 1) * playback.jitterMs : 0);
  const head = Math.max(0, headAtMs / playback.speed + jitter());
  const pieces: number[] = [];
  let previous = head;
  let recordedPrevious = 0;
  for (const at of piecesAtMs) {
    // Gap by gap, so jitter on one wait does not carry into every later one.
    const gap = Math.max(0, at - recordedPrevious) / playback.speed;
    recordedPrevious = Math.max(recordedPrevious, at);
    previous = Math.max(previous, previous + gap + jitter());
    pieces.push(previous);
  }
  return { head, pieces };
}

/**
 * The key a request is matched by: its method and URL, normalised as a browser would (default
 * ports and case of scheme and host), without a fragment. `withQuery` false drops the query too,
 * for the second try: a recording answers the same path when no recorded query matches.
 */
export function mockKey(method: string, url: string, withQuery = true): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const path = withQuery ? `${parsed.pathname}${parsed.search}` : parsed.pathname;
  return `${method.toUpperCase()} ${parsed.protocol}//${parsed.host}${path}`;
}
